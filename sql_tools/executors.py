"""Hardened read-only executors: run ONE already-guarded SELECT and return a capped result.

Why a second line behind the guard: the guard is a parser and parsers have bugs. These executors assume
the SQL may be hostile (the defence-in-depth tests send the red-team corpus here with the guard bypassed)
and rely on engine capabilities instead (security-anchors.md §2.2, §2.3, §5):

SQLite (`SqliteExecutor`): fresh ``file:...?mode=ro`` connection per query, ``PRAGMA query_only = 1``
checked before every query (S3), ``SQLITE_LIMIT_ATTACHED = 0`` (S4), lowered length/depth limits (S6, S9),
an authorizer allowlist (S5: SQLite has no grants), a progress-handler deadline plus an interrupt
watchdog, ``execute`` only -- never ``executescript`` (S1).

PostgreSQL (`PostgresExecutor`): connects as the per-role login made by ``abordo db grant-readonly``;
refuses stacked statements itself (F2, psycopg2 sends them all); each query is ``BEGIN; SET TRANSACTION
READ ONLY; SET LOCAL statement_timeout/idle_in_transaction_session_timeout`` (F4) + one statement through
a server-side cursor (DECLARE only accepts a query) + ``ROLLBACK``; pooled connections are reset with
``DISCARD ALL`` on check-in (F5); a watchdog thread cancels the backend after timeout + margin (F10).

Both fetch at most ``max_rows + 1`` rows and ``max_bytes`` bytes (F8: a whole table packed in one cell).
"""
from __future__ import annotations

import datetime as _dt
import decimal
import functools
import math
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sql_tools.errors import SqlToolError

DEFAULT_MAX_BYTES = 256 * 1024
WATCHDOG_MARGIN_S = 0.5


# --------------------------------------------------------------------------------------------- errors
class ExecutionError(SqlToolError):
    """Base of executor errors. Messages are short and safe: server internals never reach the model."""
    code = "execution_error"


class QueryTimeout(ExecutionError):
    code = "timeout"

    def __init__(self, timeout_ms: int, sql: str = ""):
        super().__init__(f"the query took longer than {timeout_ms} ms and was stopped",
                         message_es=f"la consulta tardó más de {timeout_ms} ms y se detuvo", sql=sql)


class QueryRejected(ExecutionError):
    """The engine-level defences refused the statement (not one SELECT, a forbidden function ...)."""
    code = "rejected_by_executor"


class PermissionDenied(QueryRejected):
    """A table, column or function the role may not use (authorizer or PostgreSQL grants)."""
    code = "permission_denied"

    def __init__(self, sql: str = ""):
        super().__init__("the query uses a table, column or function this role may not read",
                         message_es="la consulta usa una tabla, columna o función que este rol no puede leer",
                         sql=sql)


class ResultTooLarge(QueryRejected):
    code = "result_too_large"

    def __init__(self, max_bytes: int, sql: str = ""):
        super().__init__(f"one result row is larger than the {max_bytes}-byte limit; ask for fewer columns "
                         "or aggregate differently",
                         message_es=f"una fila del resultado supera el límite de {max_bytes} bytes; pide menos "
                                    "columnas o agrega de otra forma", sql=sql)


class DatabaseError(ExecutionError):
    code = "database_error"


class DatabaseUnavailable(DatabaseError):
    """The passenger database cannot be reached or opened at all (a moved file, a server down): the
    question may succeed later, so callers say when to try again instead of blaming the query."""
    code = "database_unreachable"


class ReaderRoleMissing(ExecutionError):
    code = "reader_role_missing"


# --------------------------------------------------------------------------------------------- result
@dataclass
class QueryResult:
    """Rows (a DataFrame, not yet masked) and what the caller needs to know about them."""
    df: pd.DataFrame
    columns: list[str]
    types: list[str]
    row_count: int
    truncated: bool
    elapsed_ms: float
    bytes: int
    passenger_ids: list[str] | None = None
    notes: list[str] = field(default_factory=list)


def _value_bytes(v) -> int:
    if v is None:
        return 1
    if isinstance(v, (str, bytes, bytearray, memoryview)):
        return len(v) + 1
    if isinstance(v, (bool, int, float, decimal.Decimal, _dt.date, _dt.time, _dt.timedelta)):
        return 9
    return len(str(v)) + 1   # json/jsonb (parsed lists and dicts, F8 json_agg), arrays, xml ...


class _Collector:
    """Fetch with a row cap (max_rows + 1 tells 'truncated') and a byte cap (F8)."""

    def __init__(self, max_rows: int, max_bytes: int):
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.rows: list[tuple] = []
        self.bytes = 0
        self.truncated = False

    def feed(self, batch) -> bool:
        """Add rows; False when a cap was hit and fetching must stop."""
        for row in batch:
            size = sum(_value_bytes(v) for v in row)
            if size > self.max_bytes:
                raise ResultTooLarge(self.max_bytes)
            if len(self.rows) >= self.max_rows or self.bytes + size > self.max_bytes:
                self.truncated = True
                return False
            self.rows.append(tuple(row))
            self.bytes += size
        return True


def _types_of(rows: list[tuple], ncols: int) -> list[str]:
    out = []
    for i in range(ncols):
        t = next((type(r[i]).__name__ for r in rows if r[i] is not None), "null")
        out.append(t)
    return out


def _finish(names, rows, col: _Collector, started: float, subject_key_index: int | None) -> QueryResult:
    df = pd.DataFrame.from_records(rows, columns=list(names)) if names else pd.DataFrame()
    ids = None
    if subject_key_index is not None and 0 <= subject_key_index < len(names):
        ids = _split_ids(r[subject_key_index] for r in rows)
    return QueryResult(df=df, columns=list(names), types=_types_of(rows, len(names)), row_count=len(rows),
                       truncated=col.truncated, elapsed_ms=(time.perf_counter() - started) * 1000,
                       bytes=col.bytes, passenger_ids=ids)


def _split_ids(values) -> list[str]:
    """Passenger ids from the subject-key column; GROUP BY queries carry 'id,id,id' strings."""
    seen: dict[str, None] = {}
    for v in values:
        if v is None:
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        for part in str(v).split(","):
            part = part.strip()
            if part:
                seen[part] = None
    return list(seen)


# --------------------------------------------------------------------------------------------- SQLite
def _allowed_sqlite_functions() -> frozenset[str]:
    """Our SQLite engine-name list plus the guard's own list of plain-name SQLite functions (one source
    for names the guard lets through, so the authorizer never refuses what the guard accepted)."""
    names = set(SQLITE_FUNCTIONS)
    try:
        from sql_tools.functions import ANONYMOUS_FUNCS  # the guard's allowlist
        names |= {str(x).lower() for x in ANONYMOUS_FUNCS.get("sqlite", ())}
    except ImportError:
        pass
    return frozenset(names)


def _with_query_names(sql: str) -> frozenset[str]:
    """Names `sql` defines with WITH (`WITH [RECURSIVE] name [(columns)] AS [[NOT] MATERIALIZED] (...)`,
    comma-separated, at any depth), lower-cased, by SQLite tokenisation; empty when it cannot be tokenised
    (then a count(*) over a WITH query is simply denied)."""
    try:
        from sqlglot.dialects.sqlite import SQLite
        from sqlglot.tokens import TokenType
        tokens = SQLite().tokenize(sql)
    except Exception:  # noqa: BLE001 - untokenisable: no WITH names, so no count(*) over one either
        return frozenset()
    n = len(tokens)

    def after_parens(j: int) -> int:
        """tokens[j] is '(': the index after its matching ')'."""
        depth = 0
        while j < n:
            if tokens[j].token_type == TokenType.L_PAREN:
                depth += 1
            elif tokens[j].token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        return n

    names: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok.token_type != TokenType.WITH:
            continue
        j = i + 1
        if j < n and tokens[j].token_type == TokenType.RECURSIVE:
            j += 1
        while j < n:
            name = tokens[j].text
            j += 1
            if j < n and tokens[j].token_type == TokenType.L_PAREN:
                j = after_parens(j)
            if j >= n or tokens[j].token_type != TokenType.ALIAS:
                break
            j += 1
            while j < n and tokens[j].text.upper() in ("NOT", "MATERIALIZED"):
                j += 1
            if j >= n or tokens[j].token_type != TokenType.L_PAREN:
                break
            names.add(name.lower())
            j = after_parens(j)
            if j < n and tokens[j].token_type == TokenType.COMMA:
                j += 1
            else:
                break
    return frozenset(names)


# Scalar and aggregate functions a passenger lookup needs. Not here on purpose: randomblob/zeroblob
# (S6 blob bombs), load_extension (S8), fts3_tokenizer (S7 pointer leak), printf/format ('%.*c' bomb, S6),
# sqlite_* introspection, pragma table-valued functions (S5).
SQLITE_FUNCTIONS: frozenset[str] = frozenset({
    "abs", "avg", "coalesce", "count", "date", "datetime", "group_concat", "ifnull", "iif", "instr",
    "julianday", "length", "like", "glob", "lower", "ltrim", "max", "min", "nullif", "replace", "round",
    "rtrim", "strftime", "substr", "substring", "sum", "time", "total", "trim", "typeof", "unixepoch",
    "upper", "cast", "row_number", "rank", "dense_rank", "lag", "lead", "first_value", "last_value",
    "ntile", "percent_rank", "cume_dist", "string_agg", "char_length", "unicode", "char", "ceil",
    "ceiling", "floor", "sign", "nth_value",
})


class SqliteExecutor:
    """Run one statement on a SQLite file, read-only, with the catalog's exposure as an authorizer."""

    def __init__(self, path: str | Path, *, catalog, role: str, timeout_ms: int = 3000,
                 max_bytes: int = DEFAULT_MAX_BYTES):
        self.path = Path(path)
        self.catalog, self.role = catalog, role
        self.timeout_ms, self.max_bytes = int(timeout_ms), int(max_bytes)
        policy = catalog.role(role)
        self.max_rows = policy.max_rows
        # table -> readable columns (hidden columns are absent -> DENY, like PG column grants)
        self._readable = {t: frozenset(catalog.readable_columns(t, role)) for t in catalog.exposed_tables}
        self._functions = _allowed_sqlite_functions()
        if not self.path.exists():
            raise DatabaseUnavailable(f"the database file {self.path} does not exist",
                                message_es=f"el archivo de base de datos {self.path} no existe")

    # S5: SQLite has no grants; the authorizer is its only table/column permission system.
    def _authorize(self, action, arg1, arg2, dbname, source, *, with_names: frozenset[str] = frozenset()):
        if action == sqlite3.SQLITE_SELECT or action == sqlite3.SQLITE_RECURSIVE:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            cols = self._readable.get(arg1)
            if cols is None and arg2 == "" and dbname is None and (arg1 or "").lower() in with_names:
                # count(*) over a WITH query that SQLite keeps in a temporary table (recursive, compound or
                # window-function WITH) reads that table with no column: allowed for a name the statement
                # defines with WITH and that names no table, view or internal table of the file.
                return sqlite3.SQLITE_OK
            if cols is None or dbname not in (None, "main"):
                return sqlite3.SQLITE_DENY          # sqlite_master, staff_accounts, temp.*, attached
            if arg2 == "" or arg2 in cols:          # "" = rowid/count access with no named column
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY              # a column the role may not read at all ('hide')
        if action == sqlite3.SQLITE_FUNCTION:
            return sqlite3.SQLITE_OK if (arg2 or "").lower() in self._functions else sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_DENY                  # PRAGMA, ATTACH, SAVEPOINT, writes, DDL ...

    def _connect(self) -> sqlite3.Connection:
        uri = f"file:{self.path.resolve().as_posix()}?mode=ro"   # mode=ro: S2/S3 survive query_only=0
        conn = sqlite3.connect(uri, uri=True, timeout=1.0, isolation_level=None, check_same_thread=False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)          # S4: ATTACH would create a file
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1_000_000)     # S6: randomblob/printf bombs fail fast
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000)   # corpus: 108 KB IN-list
        conn.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100)       # S9
        conn.setlimit(sqlite3.SQLITE_LIMIT_COMPOUND_SELECT, 10)
        conn.execute("PRAGMA query_only = 1")
        return conn

    def execute(self, sql: str, *, subject_key_index: int | None = None,
                max_rows: int | None = None) -> QueryResult:
        max_rows = self.max_rows if max_rows is None else max_rows
        started = time.perf_counter()
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"cannot open the database read-only ({exc.__class__.__name__})",
                                message_es="no se pudo abrir la base de datos en modo lectura") from None
        timer = None
        try:
            # S3: a previous statement could have run PRAGMA query_only = 0; re-check before every query.
            if conn.execute("PRAGMA query_only").fetchone()[0] != 1:
                raise QueryRejected("the read-only connection check failed",
                                    message_es="falló la comprobación de conexión de solo lectura")
            stored = {str(r[0]).lower() for r in conn.execute(
                "SELECT name FROM sqlite_master UNION ALL SELECT name FROM sqlite_temp_master")}
            with_names = frozenset(n for n in _with_query_names(sql)
                                   if n not in stored and not n.startswith(("sqlite_", "pragma_")))
            # after our own PRAGMAs and the schema read
            conn.set_authorizer(functools.partial(self._authorize, with_names=with_names))
            deadline = time.monotonic() + self.timeout_ms / 1000
            conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
            # A watchdog too: the progress handler is not consulted inside one function call (S6).
            timer = threading.Timer(self.timeout_ms / 1000 + WATCHDOG_MARGIN_S, conn.interrupt)
            timer.daemon = True
            timer.start()
            col = _Collector(max_rows, self.max_bytes)
            cur = conn.execute(sql)   # S1: execute() runs exactly one statement; never executescript()
            names = [d[0] for d in cur.description] if cur.description else []
            while True:
                batch = cur.fetchmany(256)
                if not batch or not col.feed(batch):
                    break
            return _finish(names, col.rows, col, started, subject_key_index)
        except sqlite3.Error as exc:
            raise self._translate(exc, sql, started) from None
        finally:
            if timer:
                timer.cancel()
            conn.close()

    def _translate(self, exc: sqlite3.Error, sql: str, started: float) -> SqlToolError:
        msg = str(exc).lower()
        if "interrupted" in msg:
            return QueryTimeout(self.timeout_ms, sql)
        if "not authorized" in msg or "prohibited" in msg or "access to" in msg:
            return PermissionDenied(sql)
        if "one statement at a time" in msg:
            return QueryRejected("only one SQL statement may run at a time",
                                 message_es="solo se puede ejecutar una sentencia SQL a la vez", sql=sql)
        if "readonly" in msg or "read-only" in msg or "too many attached" in msg:
            return QueryRejected("the database is read-only here", message_es="la base de datos es de solo "
                                 "lectura aquí", sql=sql)
        if "too big" in msg or "too large" in msg or "too many" in msg or "stack overflow" in msg \
                or "too long" in msg or "depth" in msg:
            return QueryRejected("the query or one of its values is too large",
                                 message_es="la consulta o uno de sus valores es demasiado grande", sql=sql)
        if isinstance(exc, sqlite3.OperationalError) and ("syntax" in msg or "no such" in msg):
            return DatabaseError("the database could not run this query (syntax or unknown name)",
                                 message_es="la base de datos no pudo ejecutar la consulta (sintaxis o nombre "
                                            "desconocido)", sql=sql)
        return DatabaseError("the database could not run this query",
                             message_es="la base de datos no pudo ejecutar la consulta", sql=sql)

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------- PostgreSQL
def _top_level_statement_count(sql: str) -> int | None:
    """Statements in `sql` by PostgreSQL tokenisation (dollar quotes, E'' strings, comments); None = untokenisable.

    F2: psycopg2 sends the whole string as one simple query, so stacked statements run. The guard refuses
    them; this is the executor's own check, independent of the guard's parser.
    """
    try:
        from sqlglot.tokens import TokenType
        from sqlglot.dialects.postgres import Postgres
        tokens = Postgres().tokenize(sql)
    except Exception:
        return None
    count, pending = 0, False
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            if pending:
                count += 1
            pending = False
        else:
            pending = True
    return count + (1 if pending else 0)


class _Pool:
    """A tiny thread-safe pool that resets every connection on check-in (F5)."""

    def __init__(self, dsn: str, size: int = 4):
        self.dsn, self.size = dsn, size
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._lock = threading.Lock()
        self._open = 0

    def get(self):
        import psycopg2
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            self._open += 1
        try:
            conn = psycopg2.connect(self.dsn, connect_timeout=5, application_name="abordo-guarded")
        except Exception:
            with self._lock:
                self._open -= 1
            raise
        conn.autocommit = False
        return conn

    def put(self, conn, *, broken: bool = False) -> None:
        """Roll back and DISCARD ALL: whatever a statement changed in the session does not survive (F5)."""
        if not broken and not conn.closed:
            try:
                conn.rollback()
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("DISCARD ALL")   # resets SET, prepared statements, cursors WITH HOLD, temp
                conn.autocommit = False
                if self._idle.qsize() < self.size:
                    self._idle.put(conn)
                    return
            except Exception:
                pass
        try:
            conn.close()
        finally:
            with self._lock:
                self._open -= 1

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break


def reader_dsn(database_url: str, role: str, reader_url: str = "") -> str:
    """The DSN the executor uses: reader_url, else database_url with the user set to abordo_<role>."""
    import sqlalchemy as sa
    from db.roles import role_login

    url = sa.engine.make_url(reader_url or database_url)
    if not reader_url:
        url = url.set(username=role_login(role), password=None)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresExecutor:
    """Run one statement on PostgreSQL as the role's read-only login."""

    IDLE_IN_TX_MS = 5000

    def __init__(self, database_url: str, *, catalog, role: str, reader_url: str = "",
                 timeout_ms: int = 3000, max_bytes: int = DEFAULT_MAX_BYTES, pool_size: int = 4):
        self.catalog, self.role = catalog, role
        self.timeout_ms, self.max_bytes = int(timeout_ms), int(max_bytes)
        self.max_rows = catalog.role(role).max_rows
        self.dsn = reader_dsn(database_url, role, reader_url)
        self.pool = _Pool(self.dsn, pool_size)
        self._admin_hint = database_url

    def _connect(self):
        import psycopg2
        try:
            return self.pool.get()
        except psycopg2.OperationalError as exc:
            text = str(exc)
            if "does not exist" in text and "role" in text:
                raise ReaderRoleMissing(
                    f"the read-only login for role {self.role} does not exist: run "
                    f"`abordo db grant-readonly --db <owner URL>` first",
                    message_es=f"no existe el usuario de solo lectura del rol {self.role}: ejecuta "
                               f"`abordo db grant-readonly --db <URL del propietario>` primero") from None
            raise DatabaseUnavailable("cannot connect to the passenger database",
                                message_es="no se pudo conectar a la base de datos de pasajeros") from None

    def execute(self, sql: str, *, subject_key_index: int | None = None,
                max_rows: int | None = None) -> QueryResult:
        import psycopg2

        max_rows = self.max_rows if max_rows is None else max_rows
        n = _top_level_statement_count(sql)
        if n != 1:   # F2/F3/F5: stacked statements would run through psycopg2's simple query protocol
            raise QueryRejected("exactly one SQL statement may run", sql=sql,
                                message_es="solo se puede ejecutar exactamente una sentencia SQL")
        started = time.perf_counter()
        conn = self._connect()
        broken = False
        timer = threading.Timer(self.timeout_ms / 1000 + WATCHDOG_MARGIN_S, conn.cancel)  # F10
        timer.daemon = True
        try:
            with conn.cursor() as cur:
                cur.execute("SET TRANSACTION READ ONLY")   # psycopg2 has just sent BEGIN
                # F4: role defaults can be lowered by a session; SET LOCAL re-applies them for this tx only.
                cur.execute(f"SET LOCAL statement_timeout = {self.timeout_ms}")
                cur.execute(f"SET LOCAL idle_in_transaction_session_timeout = {self.IDLE_IN_TX_MS}")
            timer.start()
            col = _Collector(max_rows, self.max_bytes)
            # Server-side cursor: DECLARE accepts only a query, and rows come in batches so the row and
            # byte caps stop the transfer early.
            with conn.cursor(name="abordo_q") as cur:
                cur.itersize = 256
                cur.execute(sql.strip().rstrip(";"))
                names: list[str] = []
                while True:
                    batch = cur.fetchmany(256)
                    if not names and cur.description:
                        names = [d[0] for d in cur.description]
                    if not batch or not col.feed(batch):
                        break
            rows = [tuple(_pg_value(v) for v in r) for r in col.rows]
            return _finish(names, rows, col, started, subject_key_index)
        except psycopg2.Error as exc:
            broken = conn.closed != 0
            raise self._translate(exc, sql) from None
        except SqlToolError:
            raise
        except Exception:
            broken = True
            raise
        finally:
            timer.cancel()
            self.pool.put(conn, broken=broken)

    def _translate(self, exc, sql: str) -> SqlToolError:
        import psycopg2.errors as pe
        if isinstance(exc, pe.QueryCanceled):
            return QueryTimeout(self.timeout_ms, sql)
        if isinstance(exc, pe.InsufficientPrivilege):
            return PermissionDenied(sql)
        if isinstance(exc, (pe.ReadOnlySqlTransaction, pe.FeatureNotSupported)):
            return QueryRejected("the database is read-only here", sql=sql,
                                 message_es="la base de datos es de solo lectura aquí")
        if isinstance(exc, pe.ProgramLimitExceeded):
            return QueryRejected("the query or one of its values is too large", sql=sql,
                                 message_es="la consulta o uno de sus valores es demasiado grande")
        if isinstance(exc, (pe.SyntaxError, pe.UndefinedColumn, pe.UndefinedTable, pe.UndefinedFunction)):
            return DatabaseError("the database could not run this query (syntax or unknown name)", sql=sql,
                                 message_es="la base de datos no pudo ejecutar la consulta (sintaxis o "
                                            "nombre desconocido)")
        return DatabaseError("the database could not run this query", sql=sql,
                             message_es="la base de datos no pudo ejecutar la consulta")

    def close(self) -> None:
        self.pool.close()


def _pg_value(v):
    """psycopg2 values to plain, JSON-friendly Python (Decimal -> float keeps pandas numeric)."""
    if isinstance(v, decimal.Decimal):
        f = float(v)
        return f if math.isfinite(f) else str(v)
    if isinstance(v, memoryview):
        return bytes(v)
    return v


# --------------------------------------------------------------------------------------------- factory
_CACHE: dict[tuple, object] = {}
_CACHE_LOCK = threading.Lock()


def get_executor(settings, catalog, role: str, *, max_bytes: int = DEFAULT_MAX_BYTES):
    """One executor per (url, role, timeout): PostgreSQL pools are reused across calls."""
    from db.engines import dialect_of, sqlite_path

    key = (settings.database_url, settings.reader_url, role, settings.statement_timeout_ms, max_bytes,
           id(catalog))
    with _CACHE_LOCK:
        ex = _CACHE.get(key)
        if ex is None:
            if dialect_of(settings.database_url) == "sqlite":
                ex = SqliteExecutor(sqlite_path(settings.database_url), catalog=catalog, role=role,
                                    timeout_ms=settings.statement_timeout_ms, max_bytes=max_bytes)
            else:
                ex = PostgresExecutor(settings.database_url, catalog=catalog, role=role,
                                      reader_url=settings.reader_url, timeout_ms=settings.statement_timeout_ms,
                                      max_bytes=max_bytes)
            _CACHE[key] = ex
        return ex


def clear_executor_cache() -> None:
    with _CACHE_LOCK:
        for ex in _CACHE.values():
            ex.close()
        _CACHE.clear()
