"""The evaluated database, read-only: the plain connection gold and predicted SQL run on (not the guarded
path the assistant uses)."""
from __future__ import annotations

import contextlib
import sqlite3

from evaluation.errors import EvalError


class ReadOnlyDB:
    """A plain read-only connection to the evaluated database (not the guarded path)."""

    def __init__(self, url: str, timeout_s: float = 30.0):
        from db.engines import dialect_of, parse_url, sqlite_path

        self.url = url
        self.dialect = dialect_of(url)
        self.timeout_s = timeout_s
        if self.dialect == "sqlite":
            path = sqlite_path(url)
            if not path.exists():
                raise EvalError(f"no database at {path}")
            self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self._conn.execute("PRAGMA query_only = 1")
        else:
            import psycopg2

            parsed = parse_url(url)
            dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            try:
                self._conn = psycopg2.connect(dsn, connect_timeout=5)
            except psycopg2.OperationalError as exc:
                raise EvalError(f"cannot connect to {parsed.render_as_string(hide_password=True)}: "
                                f"{str(exc).strip().splitlines()[0]}") from None
            self._conn.set_session(readonly=True, autocommit=False)

    def run(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Columns and rows; raises RuntimeError with a one-line message on any database error."""
        if self.dialect == "sqlite":
            import time

            deadline = time.monotonic() + self.timeout_s
            self._conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10000)
            try:
                cur = self._conn.execute(sql)
                rows = cur.fetchall()
                cols = [d[0] for d in cur.description or ()]
            except (sqlite3.Error, sqlite3.Warning, ValueError) as exc:
                raise RuntimeError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
            finally:
                self._conn.set_progress_handler(None, 0)
            return cols, rows
        import psycopg2

        try:
            with self._conn.cursor() as cur:
                cur.execute(f"SET LOCAL statement_timeout = {int(self.timeout_s * 1000)}")
                cur.execute(sql)
                rows = [tuple(r) for r in cur.fetchall()]
                cols = [d[0] for d in cur.description or ()]
            return cols, rows
        except psycopg2.Error as exc:
            raise RuntimeError(str(exc).strip().splitlines()[0]) from None
        finally:
            self._conn.rollback()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
