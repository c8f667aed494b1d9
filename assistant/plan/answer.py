"""The views path of one question: the model writes SQL over ONE of the catalog's semantic views, it is
read into a plan and expanded into base-table SQL, which goes through the SQL path's rewrite passes
and then the same guard, masking and audit as any query.

The passes run on the expanded query because it is ordinary SQL over the tables: a small model over
one view still drops the GROUP BY that "por moneda" asks for, or shows a column its WHERE fixes, and
the passes that restore what the words ask for do not care which path wrote the query (measured in
session 15, same machine, views then tables: dev 38 -> 42/60, staff 30 -> 33/56). The plan stays the
model's query over the view; `plan["rewrites"]` names the passes that changed what ran, and the
restatement and labels describe what ran.

One repair turn after an error (an unknown view column gets the chosen view's columns). When the
reply is not a query over the views, or the repair fails too, the caller answers on the tables path:
the views cannot express everything (a comparison across grains), and the two paths are right on
different questions (issue 25's probe: 39 both, 12 only the views, 15 only the tables).
"""
from __future__ import annotations

import time

from langchain_core.messages import AIMessage, HumanMessage

from assistant import prompts
from assistant.checks import REPAIRABLE, ignored_dates, ignored_values, repeats_itself
from assistant.plan.compile import compile_sql, parse
from assistant.plan.errors import PlanError, UnknownViewColumn
from assistant.plan.plan import read_plan
from assistant.plan.prompt import TABLE_COLUMN, in_view_terms, repair_message
from assistant.prompts import REFUSE_MARK
from assistant.question.asked import read_asked
from assistant.question.refusals import Refusal
from assistant.rewrite import JoinUnclear
from sql_tools.errors import SqlToolError


def answer_over_views(assistant, ans, question: str, memory, stage, hints: list) -> bool:
    """Answer `ans` on the views path; True when it is answered (or refused), False to fall back to
    the tables path, with `ans` cleared of this path's query and error (its calls and tokens stay:
    they were spent)."""
    views = assistant.catalog.views
    lines = [in_view_terms(h, assistant.view_names) for h in ans.hints]
    user_msg = prompts.question_message(question, hints=lines,
                                        context=memory.context_lines() if memory else [])
    system = assistant.view_prompt
    stage("generate")
    t = time.perf_counter()
    reply, sql = assistant._write_sql(ans, [HumanMessage(user_msg)], system=system)
    ans.timings["generate"] += time.perf_counter() - t
    for attempt in (1, 2):
        ans.sql_generated = sql
        if sql.strip().upper().startswith(REFUSE_MARK):
            assistant._refuse(ans, Refusal("model"))
            ans.path = "views"
            return True
        error, repair_columns = _try(assistant, ans, sql, question, stage, hints, views, first=attempt == 1)
        if error is None:
            return True
        if error is not _NOT_OVER_VIEWS and error.code not in REPAIRABLE:
            assistant._fail(ans, error)       # final (the database is down, a limit reached): no other path helps
            ans.path = "views"
            return True
        if error is _NOT_OVER_VIEWS or attempt == 2:
            break
        stage("generate")
        t = time.perf_counter()
        repair = repair_message(error.message, repair_columns)
        reply, sql = assistant._write_sql(ans, [HumanMessage(user_msg), AIMessage(reply), HumanMessage(repair)],
                                          system=system)
        ans.timings["generate"] += time.perf_counter() - t
    ans.error, ans.sql, ans.plan, ans.trace = None, "", None, ()
    return False


_NOT_OVER_VIEWS = SqlToolError("the query reads none of the views", code="not_over_views")


def _try(assistant, ans, sql: str, question: str, stage, hints, views, *, first: bool):
    """Check, expand and run one reply: (None, ()) when it answered, else (the error, the columns a
    repair turn should see)."""
    if repeats_itself(sql):
        return assistant._reject(ans, sql, question, SqlToolError(
            "the query repeated the same text over and over (write each condition once)",
            code="repeated_text")), ()
    try:
        tree = parse(sql, assistant.dialect)        # once: the plan and the expansion read the same tree
        plan = read_plan(tree, views, assistant.dialect)
    except PlanError:
        return _NOT_OVER_VIEWS, ()
    forgotten = ignored_dates(sql, [h for h in hints if h.kind in ("date", "date_range")]) if first else []
    if forgotten:
        return assistant._reject(ans, sql, question, SqlToolError(
            "the question asks for " + "; ".join(in_view_terms(h.line, assistant.view_names) for h in forgotten)
            + ", but the query has no filter on that date: add it on the view's date column",
            code="date_ignored")), _columns(views, plan.views)
    dropped = ignored_values(sql, hints) if first else []
    if dropped:
        return assistant._reject(ans, sql, question, SqlToolError(
            "the question names " + "; ".join(in_view_terms(h.line, assistant.view_names) for h in dropped)
            + ", but the query does not use it: filter on it, over a view that has that column"
            + _views_with(views, dropped), code="value_ignored")), _columns(views, plan.views)
    try:
        compiled, rewrites = runnable(assistant, tree, read_asked(question))
    except UnknownViewColumn as exc:
        return assistant._reject(ans, sql, question, SqlToolError(str(exc), code="unknown_column")), \
            _columns(views, (exc.view.name,))
    except PlanError as exc:
        return assistant._reject(ans, sql, question, SqlToolError(str(exc), code="parse_error")), \
            _columns(views, plan.views)
    ans.trace = ("views", *rewrites)
    error = assistant._execute(ans, compiled, question, stage)
    if error is not None:
        return error, _columns(views, plan.views)
    ans.path = "views"
    ans.plan = plan.as_dict() | {"rewrites": list(rewrites)}
    _view_labels(ans, views[plan.view])
    return None, ()


def runnable(assistant, tree, asked) -> tuple[str, tuple[str, ...]]:
    """A one-view query's tree expanded into base tables, then through the SQL path's rewrite passes
    (a grouping or count the words in `asked` ask for...): the SQL to run and the passes that changed
    it. Raises PlanError (UnknownViewColumn...) when it does not expand."""
    compiled = compile_sql(tree, assistant.catalog.views, assistant.dialect)
    try:
        return assistant.rewritten(compiled, asked)
    except JoinUnclear:                       # the expansion writes every join condition: never here
        return compiled, ()


def _view_labels(ans, view) -> None:
    """Headers from the view's own columns where the query shows one as it is: 'Ciudad (origen)' and
    'Ciudad (destino)' instead of the restatement's 'Ciudad' and 'Ciudad (2)' for two airports' cities."""
    names = [str(c) for c in ans.rows.columns]
    for lang, labels in ans.labels_by_lang.items():
        if len(labels) != len(names):
            continue
        ans.labels_by_lang[lang] = [
            (view.columns[n].label.get(lang) if n in view.columns and view.columns[n].label else "") or label
            for n, label in zip(names, labels)]
    ans.column_labels = ans.labels_by_lang.get(ans.lang, ans.column_labels)


def _views_with(views, hints) -> str:
    """' (views with those columns: coupons, flights)' for the `table.column`s the hints name."""
    refs = {ref for h in hints for ref in TABLE_COLUMN.findall(h.line)}
    having = [v.name for v in views.values()
              if any((v.table_of(c.source), c.column) in refs for c in v.columns.values() if not c.derived)]
    return f" (views with that column: {', '.join(having)})" if having else ""


def _columns(views, names) -> list[str]:
    """'view(col, col, ...)' for the views a reply named: what a repair turn needs to see."""
    return [f"{n}({', '.join(views[n].columns)})" for n in names if n in views]


def answer_edit(assistant, ans, plan_sql: str, edit, stage) -> None:
    """Answer `ans` with the plan `plan_sql` (a query over one view) changed by `edit`: no model call.

    The edited query is read into its plan, expanded and run through the guard, masking and audit
    like any answer; the audit trace names the edit ('edit: remove_filter 1'). The passes that restore
    what a question's words ask for do not run: the edit is what staff asked for (a grouping they
    removed must stay removed); the passes that read no words (shown grouping columns first, day
    ranges...) do. Raises EditError for an edit that cannot apply; a query the guard refuses ends as
    an answer with its error, as a question's would."""
    from assistant.plan.edit import edited
    from assistant.question.asked import Asked

    views = assistant.catalog.views
    sql, tree, plan = edited(plan_sql, edit, views, assistant.dialect)
    compiled, rewrites = runnable(assistant, tree, Asked())
    ans.sql_generated, ans.path, ans.fast_path = sql, "views", True     # no model call, nor a summary
    ans.trace = ("views", f"edit: {edit.describe()}", *rewrites)
    error = assistant._execute(ans, compiled, ans.question, stage)
    if error is not None:
        assistant._fail(ans, error)
        return
    ans.plan = plan.as_dict() | {"rewrites": list(rewrites), "edit": edit.describe()}
    _view_labels(ans, views[plan.view])
