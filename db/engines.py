"""Engines from URLs, with the checks that turn a bad URL or a dead server into one clear line."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from db.errors import ConfigError, DatabaseUnreachable, UnsupportedDatabase

SUPPORTED = ("sqlite", "postgresql")


def parse_url(url: str) -> URL:
    """Parse and validate a database URL; only SQLite and PostgreSQL (psycopg2) are supported."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(f"not a database URL: {url!r} (expected sqlite:///PATH or postgresql://USER@HOST/DB)") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql" and "+" not in parsed.drivername:
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; abordo ships and tests psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if backend not in SUPPORTED:
        raise UnsupportedDatabase(f"unsupported database {backend!r} in {url!r}: use sqlite:///PATH or postgresql://...")
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg2":
        raise UnsupportedDatabase(f"unsupported PostgreSQL driver {parsed.get_driver_name()!r}: use postgresql:// (psycopg2)")
    if backend == "sqlite" and not parsed.database:
        raise ConfigError("an in-memory SQLite database cannot be shared: give a file path, sqlite:///PATH")
    return parsed


def dialect_of(url: str | URL) -> str:
    """'sqlite' or 'postgres' (the sqlglot dialect name)."""
    backend = (parse_url(url) if isinstance(url, str) else url).get_backend_name()
    return "postgres" if backend == "postgresql" else "sqlite"


def sqlite_path(url: str | URL) -> Path:
    parsed = parse_url(url) if isinstance(url, str) else url
    return Path(parsed.database)


def make_engine(url: str, *, create_parent: bool = False, **kwargs) -> Engine:
    """An engine for a validated URL. Does not connect; see `check_reachable`."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if create_parent:
            path.parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 5)
        kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **kwargs)


def check_reachable(engine: Engine) -> None:
    """Connect once, so an unreachable server fails here with a message naming it."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnreachable(f"cannot connect to {where}: {reason}") from None


def is_empty(engine: Engine) -> bool:
    """True when none of the schema's tables exist or all of them are empty."""
    from db.schema import TABLE_ORDER

    inspector = sa.inspect(engine)
    present = set(inspector.get_table_names())
    with engine.connect() as conn:
        for name in TABLE_ORDER:
            if name in present and conn.execute(sa.text(f'SELECT 1 FROM "{name}" LIMIT 1')).first():
                return False
    return True


def require_database(url: str | URL) -> None:
    """Fail early and clearly when an SQLite file does not exist, instead of letting SQLite create an
    empty one that would then answer every question with 'no such table'."""
    if dialect_of(url) == "sqlite" and not sqlite_path(url).exists():
        raise DatabaseUnreachable(f"no database at {sqlite_path(url)}: run `abordo seed` first")
