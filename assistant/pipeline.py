"""One question, end to end: refuse or link → generate SQL (one call) → guard and run through
`sql_tools` (a deterministic join repair from the schema's foreign keys, then one repair call at
most) → answer from the masked rows.

An explicit sequence of steps, not a free-running agent loop: a small local model is reliable when
asked for one thing at a time, and each step has a bounded cost (at most two SQL-writing calls and
one summary call per question).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Collection

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from assistant import prompts
from assistant.answer import Answer, extract_sql  # noqa: F401  (re-exported: callers import them from here)
from assistant.cards import card_request, template_sql
from assistant.checks import (
    REPAIRABLE,
    aggregated_identifiers,
    collapse_repetition,
    ignored_dates,
    repeats_itself,
)
from assistant.explain import Restatement, Words, column_labels, restate
from assistant.explain import sentences as answers
from assistant.joinfix import fix_joins
from assistant.llm.calls import call_model
from assistant.lookups import answer_card, tell_namesakes
from assistant.memory import Memory
from assistant.plan.answer import answer_edit, answer_over_views
from assistant.prompts import REFUSE_MARK
from assistant.question.asked import Asked, read_asked
from assistant.question.lang import detect_language
from assistant.question.link import airport_cities, airport_columns, link
from assistant.question.refusals import Refusal, classify, empty_question_text
from assistant.rewrite import Context as RewriteContext
from assistant.rewrite import JoinUnclear, rewrite
from assistant.rewrite import parse as parse_sql
from assistant.schema_facts import SchemaFacts
from assistant.verified import answer_verified
from db.catalog import Catalog, load_catalog
from db.engines import dialect_of
from db.settings import Settings
from sql_tools.errors import SqlToolError
from sql_tools.service import log_refusal, log_rejection, run_guarded

SQL_STOP = ["\n\n", "\nQ:", "```\n", "<|im_end|>"]


class Assistant:
    """Answers questions for one role and user. Build one per process (the model loads once)."""

    def __init__(self, settings: Settings, *, chat_model=None, chat_factory: Callable[[], object] | None = None,
                 catalog: Catalog | None = None, role: str | None = None, user: str = "cli", fetch=None):
        """`chat_model`, or `chat_factory()` the first time a question needs the model (default: the
        configured model): a record look-up never loads a model, so cards work without one.

        `user` and `settings.today` are defaults: `ask` and `look_up` take the asker and the day per
        question, so one Assistant per role serves every user and every date (the API keeps one per role)."""
        from sql_tools.lookup import make_fetch

        self.settings = settings
        self.catalog = catalog or load_catalog(settings.catalog_path or None)
        self.role = role or settings.role
        self.catalog.role(self.role)       # unknown role: fail now, clearly
        self._default_user = user
        self.dialect = dialect_of(settings.database_url)
        self.fetch = fetch or make_fetch(settings, self.role)
        self.schema = SchemaFacts(self.catalog, settings.database_url, self.fetch)
        self._chat = chat_model
        self._chat_factory = chat_factory
        self._chat_lock = threading.Lock()
        self._system: str | None = None
        self._ready: set[str] = set()        # the static prefixes this Assistant has put in the model
        self._prefix_lock = threading.Lock()
        # per asking thread: its `cancelled`, what look_up linked, and who asks on which day
        self._thread = threading.local()

    @property
    def chat(self):
        """The chat model, loaded on first use (raises ModelNotFound when none is configured)."""
        if self._chat is None:
            with self._chat_lock:
                if self._chat is None:
                    if self._chat_factory is not None:
                        self._chat = self._chat_factory()
                    else:
                        from assistant.llm import make_chat_model

                        self._chat = make_chat_model(self.settings)
        return self._chat

    @property
    def model_name(self) -> str:
        """The model's label; before the model is loaded, the configured one's (a card names it
        without loading it)."""
        if self._chat is None:
            s = self.settings
            return (s.openai_model or "openai-compatible") if s.openai_base_url else str(s.model)
        return getattr(self._chat, "model_name", None) or type(self._chat).__name__

    @property
    def user(self) -> str:
        """Who asks the question being answered in this thread (audit records name them)."""
        return getattr(self._thread, "user", None) or self._default_user

    @property
    def today(self):
        """The day 'today' means for the question being answered in this thread."""
        return getattr(self._thread, "today", None) or self.settings.today

    @contextlib.contextmanager
    def _asked_by(self, user: str | None, today):
        """The asker and the day of one question, for as long as this thread answers it."""
        before = (getattr(self._thread, "user", None), getattr(self._thread, "today", None))
        self._thread.user, self._thread.today = user, today
        try:
            yield
        finally:
            self._thread.user, self._thread.today = before

    # --- the static prefix ---------------------------------------------------------------------

    @property
    def taught(self) -> bool:
        """True when the model carries an adapter trained on this database (`abordo train`): it gets the
        one-line prompt it was trained with instead of the schema prefix."""
        return bool(getattr(self.chat, "prompt_style", ""))

    @property
    def system_prompt(self) -> str:
        if self._system is None:
            self._system = (prompts.taught_prefix(self.catalog, self.dialect) if self.taught
                            else prompts.static_prefix(self.catalog, self.dialect, self._schema_text()))
        return self._system

    def _schema_text(self) -> str:
        f = self.schema
        return prompts.compact_schema(self.catalog, f.types, f.foreign_keys, f.stored_values, f.primary_keys)

    @property
    def views_first(self) -> bool:
        """The views path answers first: `query_path = views`, or `auto` over views someone reviewed
        (drafted ones lost 6 of 258 Spider questions to the tables path; the demo's won 4-6 of 158),
        with a catalog that has views and an untaught model (an adapter learned the tables)."""
        path = self.settings.query_path
        wanted = path == "views" or (path == "auto" and not self.catalog.views_drafted)
        return wanted and bool(self.catalog.views) and not self.taught

    @functools.cached_property
    def view_prompt(self) -> str:
        """The views path's static prefix: the catalog's semantic views instead of its tables."""
        from assistant.plan.prompt import view_prefix, view_schema

        return view_prefix(self.catalog, self.dialect,
                           view_schema(self.catalog, self.schema.stored_values))

    @functools.cached_property
    def view_names(self) -> dict:
        from assistant.plan.prompt import view_names

        return view_names(self.catalog)

    @functools.cached_property
    def rewrite_facts(self) -> RewriteContext:
        """What the rewrite rules know of this database, read once: the dialect, the schema's facts and
        the read-only fetch. Each question adds what its words ask for (`Asked`)."""
        f = self.schema
        return RewriteContext(
            dialect=self.dialect, graph=f.join_graph, grouping_words=f.grouping_words, table_names=f.table_names,
            name_columns=f.name_columns, row_keys=f.row_keys, entity_keys=f.entity_keys, text_columns=f.text_columns,
            stored_values=f.stored_values, timestamp_columns=f.timestamp_columns, fetch=self.fetch)

    def rewritten(self, sql: str, asked: Asked, tree=None, skip: Collection[str] = ()) -> tuple[str, tuple[str, ...]]:
        """The model's SQL through the rewrite `RULES` over one parse (`tree`, when the caller has it):
        the SQL for the guard, which is the model's own text when no rule changed it, and the trace of
        the rules that did. `skip` leaves some out (`benchmarks/rewrites.py` measures what each one
        still changes). Raises `JoinUnclear`."""
        tree = tree if tree is not None else parse_sql(sql, self.dialect)
        if tree is None:
            return sql, ()
        out, trace = rewrite(tree, dataclasses.replace(self.rewrite_facts, asked=asked), skip=skip)
        return (out.sql(dialect=self.dialect) if trace else sql), trace

    @functools.cached_property
    def example_bank(self):
        """The verified pairs worked examples come from (`examples` > 0), for this dialect; else None."""
        if self.settings.examples <= 0:
            return None
        from assistant.examples import example_bank

        return example_bank(self.settings.example_pairs, self.dialect)

    @functools.cached_property
    def words(self) -> Words:
        """The catalog's words for restatements and column labels, with the airports' cities."""
        try:
            cities = airport_cities(self.catalog, self.fetch)
        except SqlToolError:
            cities = {}
        return Words(self.catalog, self.schema.join_graph, cities, airport_columns(self.catalog), self.schema.row_keys)

    def restate(self, guard_result, lang: str) -> Restatement:
        """What the checked query computes, in `lang` (the LIMIT the guard added is not the asker's)."""
        injected = guard_result.limit + 1 if guard_result.limit == self.catalog.role(guard_result.role).max_rows else None
        return restate(guard_result.sql_out, guard_result.dialect, self.words, lang, injected_limit=injected,
                       hidden=guard_result.subject_key_index)

    def prefix_messages(self) -> list:
        """The messages every question's prompt starts with (what `warm` evaluates and saves): the
        tables' prefix; with the views path first, the views' (`prefixes` has both)."""
        return self.prefixes()[0]

    def prefixes(self) -> list[list]:
        """Each static prefix a question may start with, the first path's first."""
        tables = [SystemMessage(self.system_prompt)]
        return [[SystemMessage(self.view_prompt)], tables] if self.views_first else [tables]

    def warm(self) -> dict:
        """Have the static prefix(es) in the model's cache before the first question: restored from
        the disk (`assistant.llm.prefix_cache`) when this machine has evaluated it before, else
        evaluated and saved. Returns what happened to the first (`prefix_state`, timings; the others
        under `more`); {} when the model keeps no state (an endpoint keeps its own)."""
        warm = getattr(self.chat, "warm", None)
        prefixes = self.prefixes()
        with self._prefix_lock:
            results = [warm(messages) for messages in prefixes] if warm else []
            self._ready.update(messages[0].content for messages in prefixes)
        done = dict(results[0]) if results else {}
        if len(results) > 1:
            done["more"] = results[1:]
        return done

    def _ensure_prefix(self, system: str) -> None:
        """Before this Assistant's first model call that starts with the static prefix `system`: that
        prefix restored from disk (or read and saved), so a new process pays a fraction of a second
        for it, not a minute. Only the prefix the call needs: a one-shot question the views answer
        never restores the tables' (88 MiB, 0.1-0.4 s); a fallback restores it when it comes."""
        if system in self._ready:
            return
        with self._prefix_lock:
            if system not in self._ready:
                warm = getattr(self.chat, "warm", None)
                if warm:
                    warm([SystemMessage(system)])
                self._ready.add(system)

    def _preload_model(self) -> None:
        """A model call is coming: an in-process model not loaded yet starts loading in the background,
        while this thread builds the prompt prefix and reads its saved state (`LlamaCppChat.preload`)."""
        preload = getattr(self.chat, "preload", None)
        if preload is not None:
            preload()

    def unsaved_prefixes(self) -> int:
        """How many of the static prefixes a question may start with have no usable saved state on this
        machine (0 too when the model keeps none on disk)."""
        return sum(self.saved_prefix(messages) == {} for messages in self.prefixes())

    def saved_prefix(self, messages: list | None = None) -> dict | None:
        """The header of the saved state of `messages` (default: the first prefix a question reads):
        {} when there is none yet or it is unusable; None when the model keeps no state on disk."""
        key_of = getattr(self.chat, "prefix_key", None)
        if key_of is None or not getattr(self.chat, "persist_prefix", False):
            return None
        from assistant.llm import prefix_cache

        key = key_of(messages or self.prefix_messages())
        path = prefix_cache.path_for(key)
        try:
            return prefix_cache.read_header(path, key) | {"path": str(path), "bytes": path.stat().st_size}
        except (OSError, prefix_cache.UnusableState):
            return {}

    # --- one question --------------------------------------------------------------------------

    def ask(self, question: str, *, memory: Memory | None = None,
            on_stage: Callable[[str], None] | None = None,
            on_token: Callable[[str], None] | None = None,
            cancelled: Callable[[], bool] | None = None,
            user: str | None = None, today=None) -> Answer:
        """Answer one question asked by `user` (default: the Assistant's) with `today` (default: the
        settings'). `cancelled()` turning true (the asker went away) stops the model between two
        streamed tokens and raises Cancelled: a model server then frees the slot."""
        self._thread.check = cancelled
        try:
            with self._asked_by(user, today):
                return self._ask(question, memory=memory, on_stage=on_stage, on_token=on_token)
        finally:
            self._thread.check = None

    def _ask(self, question: str, *, memory: Memory | None, on_stage, on_token) -> Answer:
        started = time.perf_counter()
        stage = on_stage or (lambda _name: None)
        question = (question or "").strip()
        ans = Answer(question=question, lang=detect_language(question) if question else "es",
                     model=self.model_name)
        try:
            if not question:
                ans.error = "empty_question"
                ans.text = empty_question_text(ans.lang, self.catalog)
                return ans
            refusal = classify(question, self.catalog)
            if refusal:
                return self._refuse(ans, refusal)
            stage("link")
            t = time.perf_counter()
            looked_up = getattr(self._thread, "linked", None)    # `look_up` tried cards and verified questions
            looked_up = looked_up is not None and looked_up[0] == question
            linked = self._link(question)
            ans.timings["link"] = time.perf_counter() - t
            ans.lang = linked.lang
            ans.hints = linked.prompt_lines()
            dates = [h for h in linked.hints if h.kind in ("date", "date_range")]
            from assistant.question.refusals import lookup_refusal

            refusal = lookup_refusal(linked.denied, self.catalog, self.role)
            if refusal:               # a person looked up by what this role may not filter on
                return self._refuse(ans, refusal)
            card = card_request(question, linked.hints, catalog=self.catalog, role=self.role)
            if card is not None:
                answer_card(self, ans, card, question, memory, stage)
                return ans
            sql = template_sql(question, linked.hints, self.catalog)
            if not looked_up and answer_verified(self, ans, question, linked.hints, stage):
                pass                  # a question the team verified, asked again with other values
            elif sql and self._execute(ans, sql, question, stage) is None:
                ans.fast_path = True
            else:
                self._preload_model()
                if not (self.views_first and answer_over_views(self, ans, question, memory, stage, linked.hints)):
                    ans.path = "tables"
                    self._generate_and_run(ans, question, memory, stage, dates)
            if ans.error is None and not ans.refused:
                stage("summarise")
                t = time.perf_counter()
                self._answer_text(ans, on_token)
                ans.timings["summarise"] = time.perf_counter() - t
                if memory is not None:
                    memory.add(question, ans.sql_generated or ans.sql, ans.row_count)
            if not ans.refused:
                # Also after a failure: knowing that two people share the name helps to ask again.
                tell_namesakes(self, ans, linked.hints, question)
            return ans
        finally:
            ans.timings["total"] = time.perf_counter() - started

    def edit(self, question: str, plan_sql: str, edit, *, user: str | None = None, today=None) -> Answer:
        """`question`'s answer again with its plan (`Answer.plan["sql"]`, a query over one view)
        changed by `edit` (`assistant.plan.edit.Edit`): no model call; guarded, masked and audited as
        any answer. Raises EditError (an `AssistantError`) for an edit that cannot apply."""
        started = time.perf_counter()
        ans = Answer(question=question, lang=detect_language(question) if question.strip() else "es",
                     model="")
        with self._asked_by(user, today):
            answer_edit(self, ans, plan_sql, edit, lambda _s: None)
            if ans.error is None:
                self._answer_text(ans, None)
        ans.timings["total"] = time.perf_counter() - started
        return ans

    def verify(self, question: str, sql: str, path: str, *, user: str | None = None):
        """Store `question` answered by `sql` (the model's query, over a view or the tables) as verified
        by `user`, so the same question with other values is answered from it (`assistant.verified`).
        Raises VerifiedError (an `AssistantError`) when this role may not verify or the query cannot be reused."""
        from assistant.verified import verify

        return verify(self, question, sql, path, user=user or self.user, role=self.role)

    def look_up(self, question: str, *, memory: Memory | None = None, user: str | None = None,
                today=None) -> Answer | None:
        """The answer when `question` is a record look-up (a card: no model call, no model loaded) or a
        verified question asked again, else None. Lets a caller that queues questions for the model
        answer these without waiting in that queue. `user` and `today` as for `ask`."""
        with self._asked_by(user, today):
            return self._look_up(question, memory=memory)

    def _look_up(self, question: str, *, memory: Memory | None) -> Answer | None:
        question = (question or "").strip()
        if not question or classify(question, self.catalog):
            return None
        started = time.perf_counter()
        linked = link(question, catalog=self.catalog, today=self.today, fetch=self.fetch,
                      values=self.schema.stored_values, role=self.role)
        from assistant.question.refusals import lookup_refusal

        refusal = lookup_refusal(linked.denied, self.catalog, self.role)
        if refusal:                   # refused here, audited, never queued for the model
            ans = Answer(question=question, lang=linked.lang, model=self.model_name)
            self._refuse(ans, refusal)
            ans.timings["total"] = time.perf_counter() - started
            return ans
        card = card_request(question, linked.hints, catalog=self.catalog, role=self.role)
        if card is None:
            ans = Answer(question=question, lang=linked.lang, model=self.model_name, hints=linked.prompt_lines())
            if answer_verified(self, ans, question, linked.hints, lambda _s: None):   # no model: no queue either
                if ans.error is None:
                    self._answer_text(ans, None)
                    if memory is not None:
                        memory.add(question, ans.sql_generated, ans.row_count)
                ans.timings["total"] = time.perf_counter() - started
                return ans
            self._thread.linked = (question, linked)   # the `ask` that follows in this thread reuses it
            return None
        ans = Answer(question=question, lang=linked.lang, model=self.model_name, hints=linked.prompt_lines())
        ans.timings["link"] = time.perf_counter() - started
        answer_card(self, ans, card, question, memory, lambda _s: None)
        ans.timings["total"] = time.perf_counter() - started
        return ans

    def _link(self, question: str):
        """The linker's hints for `question`: those `look_up` just found in this thread, else a new link
        (its name and value look-ups are database queries, not to be run twice per question)."""
        done, self._thread.linked = getattr(self._thread, "linked", None), None
        if done is not None and done[0] == question:
            return done[1]
        return link(question, catalog=self.catalog, today=self.today, fetch=self.fetch,
                    values=self.schema.stored_values, role=self.role)

    def _refuse(self, ans: Answer, refusal: Refusal) -> Answer:
        ans.refused = True
        ans.text = refusal.text(ans.lang, self.catalog)
        log_refusal(ans.question, refusal.reason, settings=self.settings, role=self.role, user=self.user,
                    code=f"refused_{refusal.reason}", llm_info=self._llm_info(ans))
        return ans

    def _llm_info(self, ans: Answer) -> dict:
        return {"model": self.model_name, "prompt_tokens": ans.prompt_tokens,
                "completion_tokens": ans.completion_tokens}

    def _call(self, ans: Answer, turns: str | list[BaseMessage], *, max_tokens: int, stop: list[str] | None = None,
              on_token: Callable[[str], None] | None = None,
              cut_when: Callable[[str], bool] | None = None, system: str | None = None) -> str:
        """One model call with the shared system prefix, then `turns` (one user message, or a
        conversation); usage is added to `ans`.

        With `cut_when`, the reply is streamed and generation stops as soon as `cut_when(text so far)`
        holds; the backend's usage report never arrives then, so the streamed chunks (one per token on
        llama.cpp) count as the completion tokens."""
        turns = [HumanMessage(turns)] if isinstance(turns, str) else turns
        system = system or self.system_prompt
        self._ensure_prefix(system)
        text, used = call_model(self.chat, [SystemMessage(system), *turns], max_tokens=max_tokens,
                                stop=stop, on_token=on_token, cut_when=cut_when,
                                cancelled=getattr(self._thread, "check", None))
        ans.llm_calls += 1
        ans.prompt_tokens += used.prompt
        ans.new_prompt_tokens += used.new_prompt
        ans.completion_tokens += used.completion
        if used.cache_hit is not None:
            ans.cache_hit = used.cache_hit if ans.cache_hit is None else ans.cache_hit and used.cache_hit
        return text

    def _generate_and_run(self, ans: Answer, question: str, memory: Memory | None, stage,
                          dates: list) -> None:
        """Write SQL, run it; one repair call after a rejection, an error, or a mistake `checks` finds
        (a loop, a forgotten date, an averaged identifier)."""
        asked = read_asked(question)        # what the words ask for, read once for every rewrite
        shots = self.example_bank.nearest(question, self.settings.examples) if self.example_bank else []
        user_msg = prompts.question_message(question, hints=ans.hints,
                                            context=memory.context_lines() if memory else [],
                                            examples=[(p.question, p.sql) for p in shots])
        stage("generate")
        t = time.perf_counter()
        reply, sql = self._write_sql(ans, [HumanMessage(user_msg)])
        ans.timings["generate"] += time.perf_counter() - t
        for attempt in (1, 2):
            ans.sql_generated = sql
            if sql.strip().upper().startswith(REFUSE_MARK):
                self._refuse(ans, Refusal("model"))
                return
            forgotten = ignored_dates(sql, dates) if attempt == 1 else []
            if repeats_itself(sql):
                error = self._reject(ans, sql, question, SqlToolError(
                    "the query repeated the same text over and over (write each condition once)",
                    code="repeated_text", message_es="la consulta repite el mismo texto una y otra vez"))
            elif forgotten:
                error = self._reject(ans, sql, question, SqlToolError(
                    "the question asks for " + "; ".join(h.line for h in forgotten)
                    + ", but the query has no filter on that date: add it on the date column of the right table",
                    code="date_ignored"))
            elif averaged := aggregated_identifiers(tree := parse_sql(sql, self.dialect), self.schema.identifier_columns):
                error = self._reject(ans, sql, question, SqlToolError(
                    f"{', '.join(averaged)} identifies a row, so its sum or average means nothing: count rows "
                    "(COUNT) or use a measure column", code="identifier_aggregated",
                    message_es=f"la consulta suma o promedia un identificador ({', '.join(averaged)})"))
            else:
                try:
                    run_sql, ans.trace = self.rewritten(sql, asked, tree)
                except JoinUnclear as exc:
                    error = self._reject(ans, sql, question, SqlToolError(
                        str(exc), code="join_unclear",
                        message_es="la consulta no dice cómo se unen dos de sus tablas"))
                else:
                    error = self._execute(ans, run_sql, question, stage)
            if error is not None and error.code == "unknown_column":
                fixed = fix_joins(run_sql, self.dialect, self.schema.join_graph)
                if fixed:
                    fixed_sql, trace = self.rewritten(fixed, asked)
                    ans.trace = (*ans.trace, "fix_joins", *trace)
                    if self._execute(ans, fixed_sql, question, stage) is None:
                        ans.join_fixed = True
                        return
            if error is None:
                return
            if attempt == 2 or error.code not in REPAIRABLE:
                self._fail(ans, error)
                return
            stage("generate")
            t = time.perf_counter()
            # The repair is the next turn of the same conversation: the model's own reply stays where
            # it was, so llama.cpp still holds it in the KV cache and reads only the error message.
            shown = collapse_repetition(sql) if error.code == "repeated_text" else reply
            repair = prompts.repair_message(error.message, prompts.table_columns(self.catalog, sql))
            reply, sql = self._write_sql(ans, [HumanMessage(user_msg), AIMessage(shown), HumanMessage(repair)])
            ans.timings["generate"] += time.perf_counter() - t

    def _write_sql(self, ans: Answer, turns: list[BaseMessage], system: str | None = None) -> tuple[str, str]:
        """One SQL-writing call, cut short if the model starts repeating itself (`repeats_itself`):
        the reply as written, and the SQL in it. A cut reply still ends in the repeated piece."""
        reply = self._call(ans, turns, max_tokens=256, stop=SQL_STOP, cut_when=repeats_itself, system=system)
        return reply, extract_sql(reply)

    def _reject(self, ans: Answer, sql: str, question: str, error: SqlToolError) -> SqlToolError:
        """A reply rejected before the guard (it loops, or forgets the date asked for) is never run; it
        is audited like any rejected query, and the repair call sees why."""
        log_rejection(question, sql, error.code, error.message, settings=self.settings, role=self.role,
                      user=self.user, llm_info=self._llm_info(ans))
        return error

    def _execute(self, ans: Answer, sql: str, question: str, stage) -> SqlToolError | None:
        stage("execute")
        t = time.perf_counter()
        said: dict[str, Restatement] = {}

        def describe(gr) -> str:
            said["it"] = self.restate(gr, ans.lang)
            return said["it"].text()

        try:
            result = run_guarded(sql, settings=self.settings, catalog=self.catalog, role=self.role,
                                 user=self.user, question=question, llm_info=self._llm_info(ans), describe=describe,
                                 trace=ans.trace)
        except SqlToolError as exc:
            return exc
        finally:
            ans.timings["execute"] += time.perf_counter() - t
        restated = said.get("it") or self.restate(result.guard, ans.lang)
        ans.restatement = restated.text()
        ans.restatement_complete = restated.complete
        names = list(map(str, result.df.columns))
        ans.column_labels = column_labels(restated, names)
        other = "en" if ans.lang == "es" else "es"
        ans.labels_by_lang = {ans.lang: ans.column_labels,
                              other: column_labels(self.restate(result.guard, other), names)}
        ans.additive = restated.additive
        ans.aggregated = restated.aggregated
        ans.sql = result.guard.sql_out
        ans.rows = result.df
        ans.free_text_columns = tuple(c.name for c in result.guard.columns
                                      if c.pii == "free_text" or "free_text" in c.derived_pii)
        ans.row_count = result.row_count
        ans.truncated = result.truncated
        ans.error = None
        return None

    def _fail(self, ans: Answer, error: SqlToolError) -> None:
        ans.error = error.code
        lead = ("No pude responder esa pregunta: " if ans.lang == "es" else "I could not answer that question: ")
        tail = (" Prueba a reformularla con más detalle." if ans.lang == "es"
                else " Try rephrasing it with more detail.")
        ans.text = lead + error.text(ans.lang).rstrip(".") + "." + tail

    def _answer_text(self, ans: Answer, on_token) -> None:
        """The answer sentence. Agents' notes (free text) stay in the table: a note may hold markup or
        words addressed to a model ("ignore previous instructions", an image link), and neither the
        sentence nor a summary retells it."""
        names = [str(c) for c in ans.rows.columns]
        labels = ans.column_labels if len(ans.column_labels) == len(names) else names
        additive = ans.additive if len(ans.additive) == len(names) else (False,) * len(names)
        aggregated = ans.aggregated if len(ans.aggregated) == len(names) else (False,) * len(names)
        rows = list(ans.rows.itertuples(index=False, name=None))
        keep = [i for i, c in enumerate(names) if c not in ans.free_text_columns]
        if not keep:
            ans.text = answers.table_sentence(ans.lang, ans.row_count, ans.truncated, len(rows))
            return
        columns = [names[i] for i in keep]
        labels, additive, aggregated = ([labels[i] for i in keep], [additive[i] for i in keep],
                                        [aggregated[i] for i in keep])
        rows = [tuple(r[i] for i in keep) for r in rows]
        text = answers.deterministic(ans.lang, labels, rows, ans.row_count, ans.truncated)
        if text is not None:
            ans.text = text
            return
        fallback = (answers.key_figures(ans.lang, labels, rows, ans.row_count, ans.truncated, additive, aggregated)
                    or answers.ranking(ans.lang, labels, rows, ans.row_count, ans.truncated)
                    or answers.table_sentence(ans.lang, ans.row_count, ans.truncated, len(rows)))
        if ans.fast_path or self.settings.summaries != "model" or ans.row_count > 30:
            ans.text = fallback
            return
        shown = [r[:8] for r in rows[:20]]
        summary = self._call(ans, prompts.summary_message(ans.question, ans.lang, columns[:8], shown,
                                                          ans.row_count, ans.truncated),
                             max_tokens=80, stop=["\n\n"], on_token=on_token).strip()
        ok = answers.summary_is_supported(summary, rows, ans.question, ans.row_count)
        ans.text = summary if ok else fallback
