"""The views path of one question: the model writes SQL over ONE of the catalog's semantic views, it is
read into a plan and expanded into base-table SQL, which goes through the same guard, masking and audit
as any query.

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
from assistant.question.refusals import Refusal
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
        compiled = compile_sql(tree, views, assistant.dialect)
    except UnknownViewColumn as exc:
        return assistant._reject(ans, sql, question, SqlToolError(str(exc), code="unknown_column")), \
            _columns(views, (exc.view.name,))
    except PlanError as exc:
        return assistant._reject(ans, sql, question, SqlToolError(str(exc), code="parse_error")), \
            _columns(views, plan.views)
    ans.trace = ("views",)
    error = assistant._execute(ans, compiled, question, stage)
    if error is not None:
        return error, _columns(views, plan.views)
    ans.path = "views"
    ans.plan = plan.as_dict()
    _view_labels(ans, views[plan.view])
    return None, ()


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
