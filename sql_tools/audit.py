"""Append-only audit log of every guarded query, refusal and error, in abordo's own store (settings.app_url).

Why: clear personal data for supervisors is acceptable only because every read is recorded, and the
bulk-extraction limit per hour needs to know who saw which passengers. The log lives in the writable
app store (SQLite file by default; PostgreSQL when several UI processes share one log) and is NEVER
written through the read-only passenger connection. There is no update or delete API, and triggers make
the database itself refuse UPDATE/DELETE on the audit tables. A failed write raises `AuditError` and the
caller must then return nothing (no unaudited reads).
"""
from __future__ import annotations

import contextvars
import datetime as _dt
import json
import sqlite3
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa

from db.appstore import add_missing_columns, error_name, store_engine, utcnow
from sql_tools.errors import SqlToolError

VERDICTS = ("accepted", "rejected", "error", "refused")

metadata = sa.MetaData()
audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime, nullable=False, index=True),          # UTC, naive
    sa.Column("user_name", sa.Text, nullable=False, index=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("question", sa.Text),
    sa.Column("sql_in", sa.Text),
    sa.Column("sql_out", sa.Text),
    sa.Column("verdict", sa.Text, nullable=False),
    sa.Column("code", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("row_count", sa.Integer),
    sa.Column("passenger_ids", sa.Text),                               # JSON list
    sa.Column("elapsed_ms", sa.Float),
    sa.Column("model", sa.Text),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    # What the query computed, in the asker's words (assistant.restate): what the user was shown as
    # the meaning of the answer, kept beside the SQL that produced it.
    sa.Column("restatement", sa.Text),
    # The names of the rewrites that turned the model's SQL into sql_in, in order (comma-separated):
    # why the query that ran is not the one the model wrote.
    sa.Column("trace", sa.Text),
)
# Columns added after the first release: an older store gets them on open (ALTER TABLE ADD COLUMN is
# not an UPDATE or DELETE, so the append-only triggers allow it, and no record changes).
_ADDED_COLUMNS = {"restatement": "TEXT", "trace": "TEXT"}
# One row per (record, passenger): indexed 'who saw X' and per-hour counts without JSON scans.
audit_subjects = sa.Table(
    "audit_subjects", metadata,
    sa.Column("audit_id", sa.Integer, sa.ForeignKey("audit_log.id"), nullable=False),
    sa.Column("passenger_id", sa.Text, nullable=False, index=True),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("ts", sa.DateTime, nullable=False),
    sa.Index("ix_audit_subjects_user_ts", "user_name", "ts"),
)

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    for t in ("audit_log", "audit_subjects") for op in ("UPDATE", "DELETE")
]
_PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION abordo_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
] + [
    f"CREATE OR REPLACE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION abordo_audit_append_only()"
    for t in ("audit_log", "audit_subjects")
]


class AuditError(SqlToolError):
    code = "audit_failed"

    def __init__(self, detail: str = ""):
        super().__init__("the audit log could not be written, so no result is shown"
                         + (f" ({detail})" if detail else ""),
                         message_es="no se pudo escribir el registro de auditoría, así que no se muestra "
                                    "ningún resultado")


@dataclass
class AuditRecord:
    user: str
    role: str
    verdict: str
    question: str | None = None
    sql_in: str | None = None
    sql_out: str | None = None
    code: str | None = None
    reason: str | None = None
    row_count: int | None = None
    passenger_ids: list[str] = field(default_factory=list)
    elapsed_ms: float | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    restatement: str | None = None
    trace: str | None = None
    ts: _dt.datetime | None = None
    id: int | None = None

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["ts"] = self.ts.isoformat() + "Z" if self.ts else None
        return d


def storable(text) -> str | None:
    """`text` as any store can keep it, so a record is never lost to its contents: an unpaired UTF-16
    surrogate (which no UTF-8 store accepts) becomes its escape `\\ud800`, and NUL (which PostgreSQL's
    text refuses) becomes `\\x00`. Everything else is kept as typed."""
    if text is None:
        return None
    text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00") if "\x00" in text else text


# How many records the current context has written: the HTTP layer counts per request, so a request
# whose work wrote none gets one of its own (api.gate). A list, so threads that copy the context share it.
_TALLY: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("abordo_audit_tally", default=None)


def start_tally() -> list[int]:
    """Count, from now on in this context (and the threads that copy it), the records written."""
    tally = [0]
    _TALLY.set(tally)
    return tally


def _setup(engine: sa.Engine) -> None:
    """After create_all: the columns an older store lacks, and the triggers that make the log append-only."""
    add_missing_columns(engine, "audit_log", _ADDED_COLUMNS)
    with engine.begin() as conn:
        for stmt in (_PG_TRIGGERS if engine.dialect.name == "postgresql" else _SQLITE_TRIGGERS):
            conn.exec_driver_sql(stmt)


class AuditLog:
    """The audit store: `append`, `tail`, `who_saw`, `seen_by_user_since`. No update or delete."""

    def __init__(self, app_url: str):
        # The store's one engine (db.appstore: SQLite in WAL, synchronous FULL, so an acknowledged record
        # survives a crash); the audit tables, their added columns and triggers are made on first use.
        self.url = app_url
        self.engine = store_engine(app_url, metadata, setup=_setup,
                                   error=lambda name: AuditError(f"cannot open the audit store: {name}"))

    def append(self, rec: AuditRecord) -> int:
        if rec.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}")
        rec.ts = rec.ts or utcnow()
        ids = [storable(i) for i in rec.passenger_ids]
        user = storable(rec.user)
        try:
            with self.engine.begin() as conn:
                res = conn.execute(audit_log.insert().values(
                    ts=rec.ts, user_name=user, role=storable(rec.role), question=storable(rec.question),
                    sql_in=storable(rec.sql_in), sql_out=storable(rec.sql_out), verdict=rec.verdict,
                    code=storable(rec.code), reason=storable(rec.reason), row_count=rec.row_count,
                    passenger_ids=json.dumps(ids), elapsed_ms=rec.elapsed_ms, model=storable(rec.model),
                    prompt_tokens=rec.prompt_tokens, completion_tokens=rec.completion_tokens,
                    restatement=storable(rec.restatement), trace=storable(rec.trace)))
                rec.id = res.inserted_primary_key[0]
                if ids:
                    conn.execute(audit_subjects.insert(), [
                        {"audit_id": rec.id, "passenger_id": i, "user_name": user, "ts": rec.ts} for i in ids])
        except (sa.exc.SQLAlchemyError, ValueError) as exc:
            raise AuditError(error_name(exc)) from None
        tally = _TALLY.get()
        if tally is not None:
            tally[0] += 1
        return rec.id

    def writable(self, timeout_s: float = 1.0) -> bool:
        """True when a record could be appended now: SQLite's write lock can be taken within
        `timeout_s`, or the PostgreSQL session is not read-only (a replica). Nothing is written."""
        try:
            with self.engine.connect() as conn:
                if self.engine.dialect.name == "sqlite":
                    raw = conn.connection.driver_connection
                    before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
                    raw.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        raw.execute("ROLLBACK")
                    finally:
                        raw.execute(f"PRAGMA busy_timeout = {int(before)}")
                    return True
                conn.exec_driver_sql(f"SET statement_timeout = {int(timeout_s * 1000)}")
                return conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "off"
        except (sa.exc.SQLAlchemyError, sqlite3.Error):
            return False

    def _records(self, where=None, limit: int | None = None) -> list[AuditRecord]:
        q = sa.select(audit_log).order_by(audit_log.c.id.desc())
        if where is not None:
            q = q.where(where)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [AuditRecord(id=r["id"], ts=r["ts"], user=r["user_name"], role=r["role"], question=r["question"],
                            sql_in=r["sql_in"], sql_out=r["sql_out"], verdict=r["verdict"], code=r["code"],
                            reason=r["reason"], row_count=r["row_count"],
                            passenger_ids=json.loads(r["passenger_ids"] or "[]"), elapsed_ms=r["elapsed_ms"],
                            model=r["model"], prompt_tokens=r["prompt_tokens"],
                            completion_tokens=r["completion_tokens"], restatement=r["restatement"],
                            trace=r["trace"]) for r in rows]

    def tail(self, n: int = 20) -> list[AuditRecord]:
        """The last `n` records, oldest first."""
        return list(reversed(self._records(limit=n)))

    def who_saw(self, passenger_id) -> list[AuditRecord]:
        sub = sa.select(audit_subjects.c.audit_id).where(audit_subjects.c.passenger_id == str(passenger_id))
        return list(reversed(self._records(where=audit_log.c.id.in_(sub))))

    def seen_by_user_since(self, user: str, since: _dt.datetime) -> set[str]:
        q = (sa.select(audit_subjects.c.passenger_id).distinct()
             .where(audit_subjects.c.user_name == user, audit_subjects.c.ts >= since))
        try:
            with self.engine.connect() as conn:
                return {r[0] for r in conn.execute(q)}
        except sa.exc.SQLAlchemyError as exc:
            raise AuditError(error_name(exc)) from None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()


_LOGS: dict[str, AuditLog] = {}
_LOCK = threading.Lock()


def get_audit_log(app_url: str) -> AuditLog:
    with _LOCK:
        log = _LOGS.get(app_url)
        if log is None:
            log = _LOGS[app_url] = AuditLog(app_url)
        return log
