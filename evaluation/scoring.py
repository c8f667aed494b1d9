"""Scoring one answer: the SQL that ran, executed again beside the gold SQL, compared, kept as a `Record`.

Everything here measures what users get: every question goes through `Assistant.ask` (the object the
CLI and the UI use), and the SQL that *ran* (`Answer.sql`, as the guard regenerated it) is executed
again beside the gold SQL on a plain read-only connection (`evaluation.readonly_db`) and compared by
the rules of `evaluation.compare`.

The guard appends a hidden subject-key column to some queries and always injects a LIMIT of the role's
``max_rows``. The first is dropped before comparing (exactly as `sql_tools.service` drops it). For the
second, the comparison accepts a capped prediction and the record says ``capped``. Run with a role whose
cap exceeds every gold result (``supervisor``, 1000 rows, the default) to avoid the case altogether.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from evaluation.compare import Comparison, compare_results, has_top_level_distinct, has_top_level_order_by
from evaluation.questions import Question
from evaluation.readonly_db import ReadOnlyDB


@dataclass
class Record:
    id: str
    lang: str
    category: str
    question: str
    gold_sql: str
    system: str = "abordo"
    db_id: str | None = None
    predicted_sql: str = ""
    sql_generated: str = ""
    correct: bool = False
    reason: str = ""
    detail: str = ""
    error: str | None = None
    refused: bool = False
    fast_path: bool = False
    join_fixed: bool = False
    path: str = ""                 # which path wrote the query that ran: 'views' or 'tables' ('' for a card)
    trace: tuple[str, ...] = ()    # the rewrite passes that changed the query that ran ('views' first on that path)
    gold_rows: int = 0
    pred_rows: int = 0
    ordered: bool = False
    capped: bool = False
    latency_s: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0
    new_prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)
    answer: str = ""
    fill: dict[str, str] = field(default_factory=dict)


def _strip_subject_key(cols: list[str], rows: list[tuple], shown_columns: int | None, sql: str):
    """Drop the guard's hidden trailing subject-key column, as sql_tools.service does."""
    if shown_columns is None or not cols or len(cols) != shown_columns + 1:
        return rows
    rows = [r[:-1] for r in rows]
    if has_top_level_distinct(sql):
        seen, out = set(), []
        for r in rows:
            if r not in seen:
                seen.add(r)
                out.append(r)
        rows = out
    return rows


def score(db: ReadOnlyDB, q: Question, predicted_sql: str, *, cap: int | None = None,
          shown_columns: int | None = None) -> Comparison:
    """Run gold and predicted SQL on `db` and compare them."""
    gold_sql = q.gold_sql(db.dialect)
    ordered = has_top_level_order_by(gold_sql)
    try:
        _, gold_rows = db.run(gold_sql)
    except RuntimeError as exc:
        return Comparison(False, "gold_error", str(exc)[:200], ordered=ordered)
    if not predicted_sql.strip():
        return Comparison(False, "no_sql", "", gold_rows=len(gold_rows), ordered=ordered)
    try:
        cols, pred_rows = db.run(predicted_sql)
    except RuntimeError as exc:
        return Comparison(False, "execution_error", str(exc)[:200], gold_rows=len(gold_rows), ordered=ordered)
    pred_rows = _strip_subject_key(cols, pred_rows, shown_columns, predicted_sql)
    if cap is not None and len(pred_rows) > cap:
        # The guard injects LIMIT cap + 1 so the executor can tell a truncated result; users see `cap` rows.
        pred_rows = pred_rows[:cap]
    return compare_results(gold_rows, pred_rows, ordered=ordered, cap=cap)


def evaluate_answer(db: ReadOnlyDB, q: Question, ans, *, cap: int | None) -> Record:
    """Score one `Answer` from `Assistant.ask`."""
    rec = Record(id=q.id, lang=q.lang, category=q.category, question=q.question, gold_sql=q.gold_sql(db.dialect),
                 db_id=q.db_id, predicted_sql=ans.sql or "", sql_generated=ans.sql_generated or "",
                 error=ans.error, refused=ans.refused, fast_path=ans.fast_path,
                 join_fixed=ans.join_fixed, path=getattr(ans, "path", ""), trace=tuple(ans.trace or ()),
                 latency_s=round(ans.timings.get("total", 0.0), 4), llm_calls=ans.llm_calls,
                 prompt_tokens=ans.prompt_tokens, new_prompt_tokens=ans.new_prompt_tokens,
                 completion_tokens=ans.completion_tokens, cache_hit=ans.cache_hit,
                 timings={k: round(v, 4) for k, v in ans.timings.items()}, answer=ans.text or "", fill=dict(q.fill))
    if ans.refused or ans.error or not ans.sql:
        cmp_ = score(db, q, "", cap=cap)
        rec.gold_rows, rec.ordered = cmp_.gold_rows, cmp_.ordered
        rec.reason = "refused" if ans.refused else (ans.error or "no_sql")
        rec.detail = (ans.text or "")[:200]
        if cmp_.reason == "gold_error":
            rec.reason, rec.detail = "gold_error", cmp_.detail
        return rec
    shown = len(ans.rows.columns) or None
    cmp_ = score(db, q, ans.sql, cap=cap, shown_columns=shown)
    rec.correct, rec.reason, rec.detail = cmp_.correct, cmp_.reason, cmp_.detail
    rec.gold_rows, rec.pred_rows, rec.ordered, rec.capped = cmp_.gold_rows, cmp_.pred_rows, cmp_.ordered, cmp_.capped
    return rec
