"""Parameterised, read-only lookups for the application's own fixed queries (value linking, example
values for the prompt). They never carry model-written SQL, so they skip the guard, but they use the
same read-only path: a `mode=ro` SQLite connection with `query_only`, or the role's PostgreSQL login in
a READ ONLY transaction with a statement timeout.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

from db.engines import dialect_of, parse_url, sqlite_path
from sql_tools.executors import DatabaseError, DatabaseUnavailable, reader_dsn

Fetch = Callable[[str, dict], list[tuple]]


def make_fetch(settings, role: str) -> Fetch:
    """A `fetch(sql, params)` over the passenger database for `role`; `:name` placeholders."""
    url = parse_url(settings.database_url)
    timeout_ms = settings.statement_timeout_ms
    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists():
            raise DatabaseUnavailable(f"the database file {path} does not exist (run `abordo seed`)",
                                message_es=f"no existe el archivo de base de datos {path} (ejecuta `abordo seed`)")
        local = threading.local()

        def fetch_sqlite(sql: str, params: dict) -> list[tuple]:
            conn = getattr(local, "conn", None)
            if conn is None:
                try:
                    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=True)
                    conn.execute("PRAGMA query_only = 1")
                except sqlite3.Error:
                    raise DatabaseUnavailable(f"cannot open the database file {path}",
                                              message_es=f"no se puede abrir el archivo de base de datos {path}"
                                              ) from None
                local.conn = conn
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error:
                raise DatabaseError("a lookup query failed", message_es="falló una consulta de búsqueda") from None

        return fetch_sqlite

    import psycopg2

    dsn = reader_dsn(settings.database_url, role, settings.reader_url)
    lock = threading.Lock()
    state: dict = {}

    def fetch_pg(sql: str, params: dict) -> list[tuple]:
        # psycopg2 uses %(name)s placeholders; the callers write :name (SQLAlchemy style).
        import re

        pg_sql = re.sub(r"(?<!:):([A-Za-z_]\w*)", r"%(\1)s", sql.replace("%", "%%"))
        with lock:
            conn = state.get("conn")
            if conn is None or conn.closed:
                try:
                    conn = state["conn"] = psycopg2.connect(dsn, connect_timeout=5)
                except psycopg2.OperationalError:
                    raise DatabaseUnavailable("cannot connect to the passenger database",
                                        message_es="no se pudo conectar a la base de datos de pasajeros") from None
                conn.set_session(readonly=True, autocommit=False)
            try:
                with conn.cursor() as cur:
                    cur.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
                    cur.execute(pg_sql, params)
                    rows = cur.fetchall()
                conn.rollback()
                return [tuple(r) for r in rows]
            except psycopg2.Error:
                conn.rollback()
                raise DatabaseError("a lookup query failed", message_es="falló una consulta de búsqueda") from None

    return fetch_pg
