"""abordo's own writable store (settings.app_url): one engine per URL for every table kept there.

The audit log (`sql_tools.audit`), staff accounts and tokens (`assistant.users`), feedback
(`assistant.feedback`) and API conversations (`api.conversations`) all live in the same store. Each
module owns its `MetaData` and asks `store_engine` for the engine: the first call for a URL makes it
(creating a SQLite file's folder), the first call for a (URL, MetaData) creates that MetaData's tables
and runs the module's own `setup` (added columns, triggers); every later call returns the same engine
at once. Never used for the passenger database, which abordo only reads.

Why SQLite runs in WAL with synchronous=FULL: the audit log is appended on every query's path (WAL
appends without rewriting a rollback journal; readers are not blocked by a writer), and FULL keeps an
acknowledged record through a crash. The journal mode is a property of the file, so every table of the
store gets it whichever module opens the file first.
"""
from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable

import sqlalchemy as sa

from db.engines import make_engine

_ENGINES: dict[str, sa.Engine] = {}
# (url, id(metadata)) -> the MetaData, whose tables exist and whose setup ran (kept to pin the id).
_READY: dict[tuple[str, int], sa.MetaData] = {}
# One lock per (url, id(metadata)): a slow first open (a store locked by another writer) holds back
# only the callers of that table set, never the modules whose tables are already there.
_KEY_LOCKS: dict[tuple[str, int], threading.Lock] = {}
_LOCK = threading.Lock()   # guards the three dicts and engine creation (no I/O but a mkdir)


def error_name(exc: BaseException) -> str:
    """The name of what failed, for a one-line message: the driver's exception class when SQLAlchemy
    wraps one ('OperationalError', 'IntegrityError'), else the exception's own (never its text, which
    may quote the statement and its values)."""
    return type(getattr(exc, "orig", None) or exc).__name__


def utcnow() -> _dt.datetime:
    """The store's clock: now in UTC without tzinfo, as every table of the store keeps its times."""
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def _new_engine(app_url: str) -> sa.Engine:
    engine = make_engine(app_url, create_parent=True)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _rec):
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=FULL")
    return engine


def store_engine(app_url: str, metadata: sa.MetaData, *, setup: Callable[[sa.Engine], None] | None = None,
                 error: Callable[[str], Exception] | None = None) -> sa.Engine:
    """The engine of the store at `app_url` with `metadata`'s tables created (thread-safe).

    One engine per URL, shared by every MetaData kept there. `metadata.create_all` and then `setup(engine)`
    run once per (URL, MetaData), on the first call; when either fails nothing is marked done and the
    next call tries again. A SQLAlchemy error on the way is raised as `error(error_name(exc))` when
    `error` is given (the caller's own exception type), else as it is. A bad URL raises db's ConfigError.
    """
    key = (app_url, id(metadata))
    engine = _ENGINES.get(app_url)
    if engine is not None and _READY.get(key) is metadata:
        return engine
    try:
        with _LOCK:
            engine = _ENGINES.get(app_url)
            if engine is None:
                engine = _ENGINES[app_url] = _new_engine(app_url)
            key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
        with key_lock:
            if _READY.get(key) is not metadata:
                metadata.create_all(engine)
                if setup is not None:
                    setup(engine)
                _READY[key] = metadata
    except sa.exc.SQLAlchemyError as exc:
        if error is None:
            raise
        raise error(error_name(exc)) from None
    return engine


def add_missing_columns(engine: sa.Engine, table: str, columns: dict[str, str]) -> None:
    """Columns added to `table` after a store was first made (`{name: SQL type}`), added on open to a
    store that lacks them. ALTER TABLE ADD COLUMN changes no row (so an append-only log allows it)."""
    present = {c["name"] for c in sa.inspect(engine).get_columns(table)}
    with engine.begin() as conn:
        for name, typ in columns.items():
            if name not in present:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {typ}")
