"""`run_guarded`: the one way the assistant, the UI and the CLI run model-written SQL.

guard (check_sql) -> hardened read-only executor -> strip the hidden subject-key column -> bulk limits
-> masking -> audit -> rows. Every call leaves EXACTLY ONE audit record (accepted, rejected, error or
refused), and it is written BEFORE rows are returned: if the audit write fails, nothing is returned
(AuditError). Masking happens here, so no caller ever holds unmasked rows.
"""
from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sql_tools.audit import AuditRecord, get_audit_log
from sql_tools.errors import SqlToolError
from sql_tools.executors import DEFAULT_MAX_BYTES, get_executor
from sql_tools.limits import check_per_hour, check_per_query, distinct_passengers
from sql_tools.masking import mask_frame


@dataclass
class GuardedResult:
    df: pd.DataFrame                 # masked
    columns: list[str]
    row_count: int
    truncated: bool
    elapsed_ms: float
    bytes: int
    passenger_count: int
    guard: object                    # the GuardResult (sql_out is what ran)
    audit_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def sql(self) -> str:
        return self.guard.sql_out


def _is_distinct(sql: str, dialect: str) -> bool:
    try:
        import sqlglot
        tree = sqlglot.parse_one(sql, read=dialect)
        return bool(tree.args.get("distinct"))
    except Exception:
        return False


def _llm(llm_info: dict | None) -> dict:
    llm_info = llm_info or {}
    return {"model": llm_info.get("model"), "prompt_tokens": llm_info.get("prompt_tokens"),
            "completion_tokens": llm_info.get("completion_tokens")}


def run_guarded(sql: str, *, settings, catalog, role: str, user: str, question: str | None = None,
                llm_info: dict | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                describe: Callable[[object], str | None] | None = None, trace: Sequence[str] = ()) -> GuardedResult:
    """Check, run, limit, mask and audit one model-written SQL string. Raises a SqlToolError subclass.

    `describe(guard_result)` gives the words the user will be shown for what the checked query computes
    (the assistant's restatement); they are audited with it. It is the caller's, so this package keeps
    importing nothing from the assistant."""
    from db.engines import dialect_of
    from sql_tools.guard import GuardRejection, check_sql

    audit = get_audit_log(settings.app_url)   # open first: no store, no query
    started = time.perf_counter()
    base = dict(user=user, role=role, question=question, sql_in=sql, trace=",".join(trace) or None,
                **_llm(llm_info))
    try:
        gr = check_sql(sql, catalog=catalog, dialect=dialect_of(settings.database_url), role=role)
    except GuardRejection as exc:
        audit.append(AuditRecord(verdict="rejected", code=exc.code, reason=exc.message,
                                 elapsed_ms=(time.perf_counter() - started) * 1000, **base))
        raise
    return run_checked(gr, settings=settings, catalog=catalog, user=user, question=question,
                       llm_info=llm_info, max_bytes=max_bytes, _started=started, describe=describe, trace=trace)


def run_checked(gr, *, settings, catalog, user: str, question: str | None = None, llm_info: dict | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES, _started: float | None = None,
                describe: Callable[[object], str | None] | None = None, trace: Sequence[str] = ()) -> GuardedResult:
    """Everything after the guard, for an already-checked GuardResult (tests build these by hand)."""
    audit = get_audit_log(settings.app_url)
    started = _started or time.perf_counter()
    role = gr.role
    policy = catalog.role(role)
    base = dict(user=user, role=role, question=question, sql_in=gr.sql_in, sql_out=gr.sql_out,
                restatement=_described(describe, gr), trace=",".join(trace) or None, **_llm(llm_info))

    def ms() -> float:
        return (time.perf_counter() - started) * 1000

    try:
        executor = get_executor(settings, catalog, role, max_bytes=max_bytes)
        res = executor.execute(gr.sql_out, subject_key_index=gr.subject_key_index,
                               max_rows=min(policy.max_rows, gr.limit or policy.max_rows))
    except SqlToolError as exc:
        audit.append(AuditRecord(verdict="error", code=exc.code, reason=exc.message, elapsed_ms=ms(), **base))
        raise
    except Exception as exc:   # still exactly one record, with no server text
        audit.append(AuditRecord(verdict="error", code="internal_error", reason=type(exc).__name__,
                                 elapsed_ms=ms(), **base))
        raise
    df = res.df
    columns = list(gr.columns or ())
    ids = res.passenger_ids or []
    if gr.subject_key_index is not None and gr.subject_key_index < df.shape[1]:
        if len(columns) == df.shape[1]:
            columns.pop(gr.subject_key_index)
        df = df.iloc[:, [i for i in range(df.shape[1]) if i != gr.subject_key_index]]
        if _is_distinct(gr.sql_out, gr.dialect):
            # The hidden id column made rows unique that the user asked to collapse.
            df = df.drop_duplicates(ignore_index=True)
    try:
        check_per_query(ids, policy)
        since = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None) - _dt.timedelta(hours=1)
        check_per_hour(ids, policy, audit.seen_by_user_since(user, since))
    except SqlToolError as exc:
        if exc.code == "audit_failed":
            raise
        # Refused: the ids are NOT recorded as seen (no rows were shown), only counted in the reason.
        audit.append(AuditRecord(verdict="refused", code=exc.code, reason=exc.message, row_count=0,
                                 elapsed_ms=ms(), **base))
        raise
    masked = mask_frame(df, columns, policy, settings.pseudonym_key)
    audit_id = audit.append(AuditRecord(verdict="accepted", row_count=len(masked),
                                        passenger_ids=sorted(distinct_passengers(ids), key=_id_key),
                                        elapsed_ms=ms(), **base))
    return GuardedResult(df=masked, columns=list(masked.columns), row_count=len(masked), truncated=res.truncated,
                         elapsed_ms=ms(), bytes=res.bytes, passenger_count=len(distinct_passengers(ids)),
                         guard=gr, audit_id=audit_id)


def _described(describe, gr) -> str | None:
    """The caller's words for the checked query; a failure there costs the words, never the query."""
    if describe is None:
        return None
    try:
        return describe(gr)
    except Exception:  # noqa: BLE001
        return None


def _id_key(v: str):
    return (0, int(v), v) if v.isdigit() else (1, 0, v)


def log_refusal(question: str | None, reason: str, *, settings, role: str, user: str, code: str = "refused",
                llm_info: dict | None = None) -> int:
    """Record an assistant refusal that produced no SQL (e.g. 'show me all e-mails')."""
    audit = get_audit_log(settings.app_url)
    return audit.append(AuditRecord(verdict="refused", code=code, reason=reason, user=user, role=role,
                                    question=question, row_count=0, **_llm(llm_info)))


def log_rejection(question: str | None, sql: str, code: str, reason: str, *, settings, role: str, user: str,
                  llm_info: dict | None = None) -> int:
    """Record model output rejected before the guard saw it (a reply that loops, a query that ignores
    the date asked for or averages an identifier), so every question leaves an audit record even when
    nothing was run."""
    audit = get_audit_log(settings.app_url)
    return audit.append(AuditRecord(verdict="rejected", code=code, reason=reason, user=user, role=role,
                                    question=question, sql_in=sql, row_count=0, **_llm(llm_info)))
