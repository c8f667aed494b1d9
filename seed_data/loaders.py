"""Load generated rows into SQLite (batched executemany) or PostgreSQL (COPY), all or nothing.

One transaction per load: the schema's tables are (re)created, filled table by table, indexed and
ANALYZEd inside it, so a failure at any point leaves the database as it was (and a SQLite file this
load created is removed). Indexes come after the data because building them once is much faster
than maintaining them row by row.
"""
from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.engines import check_reachable, dialect_of, is_empty, make_engine, parse_url, sqlite_path
from db.schema import INDEXES, TABLE_ORDER, metadata
from seed_data.errors import NotEmptyError, SeedLoadError
from seed_data.generator import generate
from seed_data.sizes import DEFAULT_TODAY, Counts, check_size, check_today, estimate_counts

BATCH = 5_000


@dataclass
class SeedResult:
    """What a load did: rows per table and wall time."""
    url: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rows", file=sys.stderr, disable=not enabled, leave=False,
                dynamic_ncols=True, mininterval=0.5)


def seed_database(url: str, passengers: int = 5000, seed: int = 42, today: date = DEFAULT_TODAY, *,
                  replace: bool = False, progress: bool = True, create_parent: bool = False) -> SeedResult:
    """Generate and load the demo data into the database at ``url`` (SQLite or PostgreSQL).

    Refuses a database that already holds data (NotEmptyError) unless ``replace``, which drops the
    schema's tables first (in the same transaction as the load).
    """
    check_size(passengers)
    check_today(today)
    parsed = parse_url(url)
    shown = parsed.render_as_string(hide_password=True)
    is_sqlite = dialect_of(parsed) == "sqlite"
    path = sqlite_path(parsed) if is_sqlite else None
    existed = path.exists() if path is not None else True
    engine = make_engine(url, create_parent=create_parent)
    try:
        try:
            check_reachable(engine)
            if not replace and not is_empty(engine):
                raise NotEmptyError(f"{shown} already holds data: use --replace to drop and reseed it "
                                    f"(or --if-empty to leave it as it is)")
            start = time.perf_counter()
            counts = Counts()
            rows = generate(passengers, seed, today, counts=counts)
            expected = estimate_counts(passengers)
            if is_sqlite:
                _load_sqlite(engine, rows, expected, replace, progress)
            else:
                _load_postgres(engine, rows, expected, replace, progress)
            return SeedResult(shown, dict(counts.rows), time.perf_counter() - start)
        finally:
            engine.dispose()
    except BaseException as exc:
        if path is not None and not existed and path.exists():
            path.unlink()
            for suffix in ("-journal", "-wal", "-shm"):
                extra = path.with_name(path.name + suffix)
                if extra.exists():
                    extra.unlink()
        if isinstance(exc, sa.exc.SQLAlchemyError) or (hasattr(exc, "pgcode") or type(exc).__module__.startswith(("sqlite3", "psycopg2"))):
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SeedLoadError(f"seeding {shown} failed, nothing was written: {reason}") from exc
        raise


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _finish(conn: sa.Connection) -> None:
    for index in INDEXES:
        index.create(conn)
    conn.exec_driver_sql("ANALYZE")


def _load_sqlite(engine: Engine, tables, expected: dict[str, int], replace: bool, progress: bool) -> None:
    @sa.event.listens_for(engine, "connect")
    def _no_implicit_tx(dbapi_conn, _record):  # let SQLAlchemy's BEGIN cover the DDL too
        dbapi_conn.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections made before the listeners would keep the default behaviour
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        if replace:
            metadata.drop_all(conn)
        metadata.create_all(conn)
        cursor = conn.connection.driver_connection.cursor()
        for table_name, rows in tables:
            table = metadata.tables[table_name]
            cols = ", ".join(f'"{c.name}"' for c in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            sql = f'INSERT INTO "{table_name}" ({cols}) VALUES ({marks})'
            with _progress(expected.get(table_name, 0), table_name, progress) as bar:
                for batch in _batches(rows, BATCH):
                    cursor.executemany(sql, batch)
                    bar.update(len(batch))
        _finish(conn)


class _CsvStream(io.RawIOBase):
    """A read()-able CSV view of a row iterator, so COPY streams without building the whole table."""

    def __init__(self, rows: Iterable[tuple], bar) -> None:
        self._batches = _batches(rows, BATCH)
        self._pending = b""
        self._bar = bar

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while len(self._pending) < max(size, 1):
            batch = next(self._batches, None)
            if batch is None:
                break
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(batch)
            self._pending += out.getvalue().encode()
            self._bar.update(len(batch))
        if size is None or size < 0:
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data


_FOREIGN_KEYS_SQL = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s) ORDER BY 1, 2
"""


def _load_postgres(engine: Engine, tables, expected: dict[str, int], replace: bool, progress: bool) -> None:
    """COPY each table with its foreign keys set aside, then add them back: PostgreSQL checks a
    re-added key in one pass instead of firing a trigger per row (several times faster). Same
    transaction, so the keys are in force before anyone can see the data."""
    with engine.begin() as conn:
        if replace:
            metadata.drop_all(conn)
        metadata.create_all(conn)
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(_FOREIGN_KEYS_SQL, (list(TABLE_ORDER),))
        foreign_keys = cursor.fetchall()
        for table_name, name, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table_name} DROP CONSTRAINT "{name}"')
        for table_name, rows in tables:
            table = metadata.tables[table_name]
            cols = ", ".join(f'"{c.name}"' for c in table.columns)
            with _progress(expected.get(table_name, 0), table_name, progress) as bar:
                cursor.copy_expert(f'COPY "{table_name}" ({cols}) FROM STDIN WITH (FORMAT csv)',
                                   _CsvStream(rows, bar), size=1 << 20)
        for table_name, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table_name} ADD CONSTRAINT "{name}" {definition}')
        _finish(conn)


def canonical_dump(url: str) -> Iterator[str]:
    """Every table ordered by primary key, values rendered the same way whatever the engine:
    the basis of the determinism and SQLite-equals-PostgreSQL checks."""
    from decimal import Decimal

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for table_name in TABLE_ORDER:
                table = metadata.tables[table_name]
                pk = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
                cols = ", ".join(f'"{c.name}"' for c in table.columns)
                yield f"## {table_name}"
                for row in conn.exec_driver_sql(f'SELECT {cols} FROM "{table_name}" ORDER BY {pk}'):
                    yield "\t".join(_canon(v, Decimal) for v in row)
    finally:
        engine.dispose()


def _canon(value, Decimal) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        value = Decimal(repr(round(value, 4)))
    if isinstance(value, (int, Decimal)):
        text = format(Decimal(value).normalize(), "f")
        return text
    if hasattr(value, "isoformat"):
        return value.isoformat(" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def dump_sha256(url: str) -> str:
    import hashlib

    h = hashlib.sha256()
    for line in canonical_dump(url):
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()
