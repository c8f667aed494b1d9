"""Issue 23 item 10 (independent security probe): casts, recursive WITH, window counts in a CTE, DISTINCT ON.

1. A cast is accepted only to a type a reporting query needs (numbers, text, dates and times, intervals,
   booleans); `CAST('<!DOCTYPE x>' AS xml)`, `'pg_class'::regclass`, arrays, json, bytea and unknown types
   are refused by the guard with `cast_not_allowed`, naming the type.
2. Recursive WITH behaves the same on both engines: a bounded counter (at most MAX_RECURSIVE_ROWS rows,
   known before it runs) is accepted and runs on SQLite and PostgreSQL alike, `count(*)` over it included
   (SQLite's authorizer used to refuse that as permission_denied); anything else is refused by the guard
   with `recursive_cte`.
3. Benign queries the probe saw refused: a window count inside a CTE (refused at run time by SQLite's
   authorizer once the outer query counts the CTE) and PostgreSQL DISTINCT ON written with output names
   or positions (refused by the guard as unknown_column). Each is run on a seeded demo database, on both
   engines where the engine has the construct, for every role. Masked personal columns stay refused
   inside windows and DISTINCT ON, as in any other expression.
"""
from __future__ import annotations

import logging
import math

import pandas as pd
import pytest
import sqlalchemy as sa

from db.catalog import load_catalog
from db.engines import parse_url
from sql_tools import guard as guard_module
from sql_tools.executors import PermissionDenied, PostgresExecutor, SqliteExecutor
from sql_tools.guard import GuardRejection, GuardResult, check_sql
from sql_tools.messages import MESSAGES
from tests.guard_fixtures import normalise

logging.getLogger("sqlglot").setLevel(logging.ERROR)

CATALOG = load_catalog()
ROLES = ("agent", "supervisor", "analyst")
DIALECTS = ("sqlite", "postgres")
pg = pytest.mark.postgres
MAX_RECURSIVE_ROWS = 1000   # the guard's cap on the rows a recursive WITH may make


def guard(sql: str, dialect: str = "sqlite", role: str = "agent") -> GuardResult:
    return check_sql(sql, catalog=CATALOG, dialect=dialect, role=role)


def rejection(sql: str, dialect: str = "sqlite", role: str = "agent") -> GuardRejection:
    with pytest.raises(GuardRejection) as info:
        guard(sql, dialect, role)
    err = info.value
    assert err.message and err.message_es and err.message != err.message_es
    assert "{" not in err.message and "{" not in err.message_es  # every template parameter was given
    return err


# --------------------------------------------------------------------------------------------------
# seeded demo databases (the generator behind `abordo demo`), one per engine for the module


@pytest.fixture(scope="module")
def demo_sqlite(small_demo_db) -> str:
    return str(small_demo_db)


@pytest.fixture(scope="module")
def demo_pg(small_demo_pg) -> str:
    return small_demo_pg


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pg)])
def engine(request):
    """(dialect, database) for each engine."""
    if request.param == "sqlite":
        return "sqlite", request.getfixturevalue("demo_sqlite")
    return "postgres", request.getfixturevalue("demo_pg")


def run_as(dialect: str, db: str, role: str, res: GuardResult):
    """Run guarded SQL through the hardened executor of `dialect` as `role`; rows without the subject key."""
    ex = SqliteExecutor(db, catalog=CATALOG, role=role) if dialect == "sqlite" else \
        PostgresExecutor(db, catalog=CATALOG, role=role, pool_size=1)
    try:
        out = ex.execute(res.sql_out, subject_key_index=res.subject_key_index,
                         max_rows=res.limit)
    finally:
        ex.close()
    rows = [tuple(_py(v) for v in r) for r in out.df.itertuples(index=False)]
    if res.subject_key_index is not None:
        rows = [r[:res.subject_key_index] + r[res.subject_key_index + 1:] for r in rows]
    return out, rows


def _py(v):
    """A DataFrame cell as the plain Python value the owner's driver returns (for comparisons)."""
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v.item() if hasattr(v, "item") else v


def owner_rows(dialect: str, db: str, sql: str) -> list[tuple]:
    """The owner's view (no guard, no executor, no masking)."""
    url = f"sqlite:///{db}" if dialect == "sqlite" else db
    eng = sa.create_engine(parse_url(url))
    try:
        with eng.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        eng.dispose()


# --------------------------------------------------------------------------------------------------
# 1. casts only to an allowed list of types


REFUSED_CASTS = {
    # sql: the type name the message must show (upper-cased comparison)
    "SELECT CAST('<!DOCTYPE x>' AS xml)": "XML",
    "SELECT CAST(f.gate AS jsonb) FROM flights f": "JSONB",
    "SELECT CAST(f.gate AS json) FROM flights f": "JSON",
    "SELECT CAST(f.gate AS bytea) FROM flights f": "",
    "SELECT CAST(f.gate AS blob) FROM flights f": "",
    "SELECT CAST('pg_class' AS regclass)": "REGCLASS",
    "SELECT CAST('now' AS regproc)": "REGPROC",
    "SELECT CAST(1 AS oid)": "OID",
    "SELECT CAST('a b' AS tsvector)": "TSVECTOR",
    "SELECT CAST(f.gate AS mytype) FROM flights f": "MYTYPE",
    "SELECT CAST(f.gate AS public.mytype) FROM flights f": "PUBLIC.MYTYPE",
    "SELECT CAST(f.gate AS uuid) FROM flights f": "UUID",
    "SELECT CAST(f.gate AS money) FROM flights f": "MONEY",
    "SELECT CAST(f.gate AS bit(3)) FROM flights f": "BIT",
    "SELECT CAST(f.gate AS CHAR(100000)) FROM flights f": "CHAR",          # a 100 KB padding bomb
    "SELECT CAST(f.gate AS VARCHAR(max)) FROM flights f": "(MAX)",
    "SELECT CAST(f.gate AS INTERVAL YEAR TO MONTH) FROM flights f": "INTERVAL",
    "SELECT TRY_CAST(f.gate AS xml) FROM flights f": "XML",
    "SELECT f.flight_id FROM flights f WHERE CAST(f.gate AS xml) IS NOT NULL": "XML",
    "WITH x AS (SELECT CAST(f.gate AS jsonb) AS j FROM flights f) SELECT count(*) FROM x": "JSONB",
}
PG_ONLY_REFUSED_CASTS = {
    "SELECT 'pg_class'::regclass": "REGCLASS",
    "SELECT 'public'::regnamespace": "REGNAMESPACE",
    "SELECT f.gate::text[] FROM flights f": "TEXT[]",
    "SELECT f.flight_id::int[] FROM flights f": "INT[]",
    "SELECT xml '<a/>'": "XML",
    "SELECT f.gate::\"char\" FROM flights f": "CHAR",
    "SELECT f.gate::cstring FROM flights f": "CSTRING",
    "SELECT f.gate::name FROM flights f": "NAME",
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", list(REFUSED_CASTS))
def test_cast_to_a_type_off_the_list_is_refused_naming_it(sql, dialect):
    for role in ROLES:
        err = rejection(sql, dialect, role)
        assert err.code == "cast_not_allowed", (sql, dialect, role, err.code)
        assert REFUSED_CASTS[sql] in err.message.upper() and REFUSED_CASTS[sql] in err.message_es.upper()


@pytest.mark.parametrize("sql", list(PG_ONLY_REFUSED_CASTS))
def test_postgres_double_colon_casts_off_the_list_are_refused(sql):
    for role in ROLES:
        err = rejection(sql, "postgres", role)
        assert err.code == "cast_not_allowed", (sql, role, err.code)
        assert PG_ONLY_REFUSED_CASTS[sql] in err.message.upper()


def test_try_cast_to_a_listed_type_is_still_refused():
    """Neither engine has TRY_CAST; sqlglot would write it as CAST, which errors where TRY_CAST gives NULL."""
    for dialect in DIALECTS:
        err = rejection("SELECT TRY_CAST(f.gate AS INTEGER) FROM flights f", dialect)
        assert err.code == "function_not_allowed"


def test_cast_rejection_has_a_bilingual_message():
    en, es = MESSAGES["cast_not_allowed"]
    assert "{what}" in en and "{what}" in es and en != es


ACCEPTED_CASTS = [
    ("SELECT CAST(t.fare_amount AS INTEGER) AS a, CAST(t.fare_amount AS BIGINT) AS b, "
     "CAST(t.fare_amount AS SMALLINT) AS c, CAST(t.fare_amount AS NUMERIC(10, 2)) AS d, "
     "CAST(t.fare_amount AS DECIMAL) AS e, CAST(t.fare_amount AS REAL) AS f, "
     "CAST(t.fare_amount AS DOUBLE PRECISION) AS g, CAST(t.fare_amount AS FLOAT) AS h FROM tickets t "
     "WHERE t.ticket_number IN (SELECT min(ticket_number) FROM tickets)"),
    ("SELECT CAST(f.flight_number AS TEXT) AS a, CAST(f.flight_number AS VARCHAR(10)) AS b, "
     "CAST(f.carrier_code AS CHAR(2)) AS c FROM flights f ORDER BY f.flight_id LIMIT 3"),
    ("SELECT CAST(f.scheduled_departure AS DATE) AS day, COUNT(*) AS n FROM flights f "
     "GROUP BY CAST(f.scheduled_departure AS DATE) ORDER BY day LIMIT 5"),
    "SELECT CAST(f.scheduled_departure AS TIMESTAMP) AS ts FROM flights f ORDER BY f.flight_id LIMIT 3",
    "SELECT CAST(f.flight_number > 100 AS BOOLEAN) AS big FROM flights f ORDER BY f.flight_id LIMIT 3",
]
PG_ACCEPTED_CASTS = [
    "SELECT f.scheduled_departure::date AS day, count(*) AS n FROM flights f GROUP BY 1 ORDER BY 1 LIMIT 5",
    ("SELECT f.flight_number::text AS a, f.flight_id::numeric(10, 2) AS b, f.flight_id::float8 AS c, "
     "f.flight_id::int8 AS d, f.scheduled_departure::timestamptz AS e, f.scheduled_departure::time AS g "
     "FROM flights f ORDER BY f.flight_id LIMIT 3"),
    ("SELECT f.flight_id FROM flights f WHERE f.scheduled_departure < CAST('2026-06-15' AS DATE) "
     "+ CAST('1 day' AS INTERVAL) ORDER BY f.flight_id LIMIT 3"),
    ("SELECT CAST(f.scheduled_departure AS TIMESTAMP WITH TIME ZONE) AS ts, CAST('t' AS BOOL) AS b "
     "FROM flights f ORDER BY f.flight_id LIMIT 2"),
]


@pytest.mark.parametrize("sql", ACCEPTED_CASTS, ids=[f"cast{i}" for i in range(len(ACCEPTED_CASTS))])
def test_casts_to_listed_types_are_accepted_and_run(sql, engine):
    dialect, db = engine
    for role in ROLES:
        res = guard(sql, dialect, role)
        out, rows = run_as(dialect, db, role, res)
        assert out.row_count >= 1
        assert normalise(rows) == normalise(owner_rows(dialect, db, res.sql_out))


@pg
@pytest.mark.parametrize("sql", PG_ACCEPTED_CASTS, ids=[f"pgcast{i}" for i in range(len(PG_ACCEPTED_CASTS))])
def test_postgres_casts_to_listed_types_are_accepted_and_run(sql, demo_pg):
    for role in ROLES:
        res = guard(sql, "postgres", role)
        out, rows = run_as("postgres", demo_pg, role, res)
        assert out.row_count >= 1
        assert len(rows) == len(owner_rows("postgres", demo_pg, sql))


def test_the_guard_own_casts_still_pass():
    """The guard's own rewrites cast to TEXT/DECIMAL (subject key of an aggregate, ROUND on PostgreSQL)."""
    res = guard("SELECT p.nationality, round(avg(t.fare_amount), 2) FROM passengers p JOIN tickets t ON "
                "t.passenger_id = p.passenger_id WHERE p.passenger_id = 5 GROUP BY p.nationality", "postgres")
    assert "CAST(" in res.sql_out.upper()


# --------------------------------------------------------------------------------------------------
# 2. recursive WITH: a bounded counter runs the same on both engines; anything else is refused


COUNTER = "WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 6) "


@pytest.mark.parametrize("tail,expected", [
    ("SELECT n FROM d", [(i,) for i in range(7)]),
    ("SELECT count(*) FROM d", [(7,)]),
    ("SELECT COUNT(*) AS days, MAX(n) AS max_n FROM d", [(7, 6)]),
])
def test_bounded_recursive_counter_runs_the_same_on_both_engines(tail, expected, engine):
    dialect, db = engine
    for role in ROLES:
        res = guard(COUNTER + tail, dialect, role)
        _, rows = run_as(dialect, db, role, res)
        assert normalise(rows) == normalise(expected), (dialect, role)


def test_calendar_from_a_counter_runs_on_both_engines(engine):
    """The useful shape: one row per day of a week, flights counted per day (days without flights show 0)."""
    dialect, db = engine
    day = "date('2026-06-15', '+' || d.n || ' days')" if dialect == "sqlite" else \
        "CAST('2026-06-15' AS DATE) + d.n"
    dep = "date(f.scheduled_departure)" if dialect == "sqlite" else "CAST(f.scheduled_departure AS DATE)"
    sql = (f"WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 6) "
           f"SELECT {day} AS day, COUNT(f.flight_id) AS flights FROM d LEFT JOIN flights f ON {dep} = {day} "
           f"GROUP BY d.n ORDER BY d.n")
    for role in ROLES:
        res = guard(sql, dialect, role)
        _, rows = run_as(dialect, db, role, res)
        assert len(rows) == 7
        assert normalise(rows) == normalise(owner_rows(dialect, db, sql))


def rec(body: str, cols: str = "n", tail: str = "SELECT n FROM r") -> str:
    return f"WITH RECURSIVE r({cols}) AS ({body}) {tail}"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", [
    # no bound (sql-atk-146)
    rec("SELECT 1 UNION ALL SELECT n + 1 FROM r", tail="SELECT count(*) FROM r"),
    # a bound far past the cap: runs until the time limit on both engines
    rec("SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100000000", tail="SELECT count(*) FROM r"),
    rec(f"SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n <= {MAX_RECURSIVE_ROWS}"),
    rec("SELECT -100000 UNION ALL SELECT n + 1 FROM r WHERE n < 5"),
    # a bound that is no bound: the counter does not move towards it, or the bound is on something else
    rec("SELECT 1 UNION ALL SELECT n - 1 FROM r WHERE n < 5"),
    rec("SELECT 1 UNION ALL SELECT n + 0 FROM r WHERE n < 5"),
    rec("SELECT 1 UNION ALL SELECT n * 2 FROM r WHERE n < 5"),
    rec("SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n > 5"),
    rec("SELECT 1, 1 UNION ALL SELECT n + 1, m FROM r WHERE m < 5", cols="n, m"),
    rec("SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5.5"),
    rec("SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5 OR n > 0"),
    # a column that feeds on itself doubles every step (a string bomb inside the row cap)
    rec("SELECT 0, 'x' UNION ALL SELECT n + 1, s || s FROM r WHERE n < 40", cols="n, s",
        tail="SELECT length(s) FROM r"),
    rec("SELECT date('2026-06-01') UNION ALL SELECT date(n, '+1 day') FROM r WHERE n < '2026-06-30'"),
    # the anchor must be one row of constants: N rows from a table times the depth
    rec("SELECT 0, passenger_id FROM tickets UNION ALL SELECT n + 1, p FROM r WHERE n < 5", cols="n, p"),
    # the recursive part reads only itself (existing rule)
    rec("SELECT 1 UNION ALL SELECT r.n + 1 FROM r JOIN passengers p ON p.passenger_id = r.n WHERE r.n < 5"),
])
def test_other_recursive_with_is_refused_by_the_guard_on_both_engines(sql, dialect):
    for role in ROLES:
        err = rejection(sql, dialect, role)
        assert err.code == "recursive_cte", (sql, dialect, role, err.code)
        assert str(MAX_RECURSIVE_ROWS) in err.message and str(MAX_RECURSIVE_ROWS) in err.message_es


def test_the_depth_cap_is_the_guards():
    assert getattr(guard_module, "MAX_RECURSIVE_ROWS", None) == MAX_RECURSIVE_ROWS


def test_the_depth_cap_is_inclusive():
    last = MAX_RECURSIVE_ROWS - 1
    for dialect in DIALECTS:
        guard(rec(f"SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < {last}"), dialect)
        guard(rec(f"SELECT 1 UNION ALL SELECT r.n + 1 FROM r WHERE {MAX_RECURSIVE_ROWS} >= r.n + 0 "
                  f"AND r.n < {MAX_RECURSIVE_ROWS}"), dialect)
        guard(rec(f"SELECT 10 UNION ALL SELECT 5 + n FROM r WHERE {10 + 5 * (MAX_RECURSIVE_ROWS - 1)} > n"),
              dialect)
        too_many = rec(f"SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < {MAX_RECURSIVE_ROWS}")
        assert rejection(too_many, dialect).code == "recursive_cte"


def test_count_over_a_materialised_cte_runs_on_sqlite(demo_sqlite):
    """SQLite asks its authorizer to READ a WITH query's own temporary table (column '') for count(*): it is
    allowed for a name the statement defines with WITH and nothing else."""
    sql = ("WITH x AS (SELECT flight_id FROM flights UNION SELECT flight_id FROM ticket_segments) "
           "SELECT COUNT(*) FROM x")
    for role in ROLES:
        res = guard(sql, "sqlite", role)
        _, rows = run_as("sqlite", demo_sqlite, role, res)
        assert rows == owner_rows("sqlite", demo_sqlite, sql)


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM staff_accounts",
    "SELECT count(*) FROM sqlite_master",
    "WITH x AS (SELECT 1 UNION SELECT 2) SELECT count(*) FROM staff_accounts",
    # a WITH query named like a hidden table, visible only in its own subquery: the outer count reads the
    # table itself
    ("SELECT (SELECT count(*) FROM staff_accounts) AS n FROM "
     "(WITH staff_accounts AS (SELECT 1 AS a UNION SELECT 2) SELECT a FROM staff_accounts) AS s"),
    "WITH sqlite_master AS (SELECT 1 UNION SELECT 2) SELECT (SELECT count(*) FROM main.sqlite_master)",
    ("WITH json_each AS (SELECT 1 UNION SELECT 2) "
     "SELECT (SELECT count(*) FROM pragma_table_info('staff_accounts'))"),
])
def test_sqlite_authorizer_still_denies_counts_of_what_is_not_exposed(sql, demo_sqlite):
    ex = SqliteExecutor(demo_sqlite, catalog=CATALOG, role="agent")
    with pytest.raises(PermissionDenied):
        ex.execute(sql)


# --------------------------------------------------------------------------------------------------
# 3. a window count inside a CTE; DISTINCT ON on PostgreSQL


WINDOW_CTE = [
    # the probe's query
    ("WITH t AS (SELECT flight_id, COUNT(*) OVER (PARTITION BY flight_id) AS n FROM ticket_segments) "
     "SELECT flight_id, MAX(n) FROM t GROUP BY flight_id"),
    # counted: SQLite keeps the WITH query in a temporary table (was permission_denied on SQLite)
    ("WITH t AS (SELECT flight_id, COUNT(*) OVER (PARTITION BY flight_id) AS n FROM ticket_segments) "
     "SELECT COUNT(*) FROM t"),
    ("WITH t AS (SELECT s.flight_id, s.cabin, COUNT(*) OVER (PARTITION BY s.flight_id, s.cabin) AS n "
     "FROM ticket_segments s WHERE s.status <> 'cancelled') "
     "SELECT COUNT(*) AS rows_in_big_cabins FROM t WHERE n > 2"),
    ("WITH t AS (SELECT tk.passenger_id, COUNT(*) OVER (PARTITION BY tk.passenger_id) AS n FROM tickets tk) "
     "SELECT p.first_name, p.last_name, t.n FROM t JOIN passengers p ON p.passenger_id = t.passenger_id "
     "WHERE p.passenger_id = 5"),
]


def assert_same_rows(rows: list[tuple], raw: list[tuple], limit: int, ordered: bool) -> None:
    """`rows` (guarded, capped at `limit`) against the owner's `raw` rows of the same question."""
    if len(raw) <= limit:
        assert normalise(rows) == normalise(raw)
    elif ordered:
        assert normalise(rows) == normalise(raw[:limit])
    else:
        assert len(rows) == limit and set(normalise(rows)) <= set(normalise(raw))


@pytest.mark.parametrize("sql", WINDOW_CTE, ids=[f"window{i}" for i in range(len(WINDOW_CTE))])
def test_window_count_inside_a_cte_is_accepted_and_runs(sql, engine):
    dialect, db = engine
    raw = owner_rows(dialect, db, sql)
    assert raw
    for role in ROLES:
        res = guard(sql, dialect, role)
        _, rows = run_as(dialect, db, role, res)
        assert_same_rows(rows, raw, res.limit, ordered=False)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql,codes", [
    # agent: e-mail partial, date of birth year only; analyst: e-mail hidden, names pseudonymised;
    # supervisor sees them in the clear, but contacts and dates of birth only for specific passengers
    (("WITH t AS (SELECT p.passenger_id, COUNT(*) OVER (PARTITION BY p.email) AS n FROM passengers p) "
      "SELECT passenger_id, n FROM t"),
     {"agent": "pii_in_expression", "analyst": "column_not_allowed", "supervisor": "bulk_personal_data"}),
    (("WITH t AS (SELECT p.passenger_id, ROW_NUMBER() OVER (ORDER BY p.date_of_birth) AS r "
      "FROM passengers p) SELECT passenger_id, r FROM t"),
     {"agent": "pii_in_expression", "analyst": "pii_in_expression", "supervisor": "bulk_personal_data"}),
    # names: clear to agent and supervisor, but a value computed from them through a WITH cannot be traced
    (("WITH t AS (SELECT p.nationality, COUNT(*) OVER (PARTITION BY p.last_name) AS n FROM passengers p) "
      "SELECT nationality, MAX(n) FROM t GROUP BY nationality"),
     {"analyst": "pii_in_expression", "agent": "untraceable_personal_data",
      "supervisor": "untraceable_personal_data"}),
    (("SELECT p.passenger_id, LAG(p.phone) OVER (ORDER BY p.passenger_id) AS prev FROM passengers p "
      "WHERE p.passenger_id = 5"), {"agent": "pii_in_expression", "analyst": "column_not_allowed"}),
])
def test_window_over_a_masked_column_is_still_refused(sql, codes, dialect):
    for role in ROLES:
        if role in codes:
            assert rejection(sql, dialect, role).code == codes[role], (role, dialect)
        else:
            guard(sql, dialect, role)   # clear to this role: nothing to protect


DISTINCT_ON = [
    # output names and positions, read by PostgreSQL like ORDER BY
    ("SELECT DISTINCT ON (flight_id) flight_id, segment_id, cabin FROM ticket_segments "
     "ORDER BY flight_id, segment_id DESC"),
    "SELECT DISTINCT ON (1) flight_id, segment_id FROM ticket_segments ORDER BY 1, 2",
    ("SELECT DISTINCT ON (origin) origin, flight_id, scheduled_departure FROM flights "
     "ORDER BY origin, scheduled_departure DESC, flight_id"),
    ("SELECT DISTINCT ON (s.flight_id) s.flight_id, s.cabin, COUNT(*) AS n FROM ticket_segments s "
     "GROUP BY s.flight_id, s.cabin ORDER BY s.flight_id, n DESC, s.cabin"),
    # qualified
    ("SELECT DISTINCT ON (f.carrier_code, f.flight_number) f.carrier_code, f.flight_number, "
     "f.scheduled_departure FROM flights f "
     "ORDER BY f.carrier_code, f.flight_number, f.scheduled_departure DESC"),
    ("SELECT DISTINCT ON (t.passenger_id) t.passenger_id, p.first_name, t.issued_at FROM tickets t "
     "JOIN passengers p ON p.passenger_id = t.passenger_id "
     "ORDER BY t.passenger_id, t.issued_at DESC, t.ticket_number"),
]


@pg
@pytest.mark.parametrize("sql", DISTINCT_ON, ids=[f"distinct_on{i}" for i in range(len(DISTINCT_ON))])
def test_postgres_distinct_on_is_accepted_and_runs(sql, demo_pg):
    raw = owner_rows("postgres", demo_pg, sql)
    assert raw
    for role in ROLES:
        res = guard(sql, "postgres", role)
        assert "DISTINCT ON" in res.sql_out
        out, rows = run_as("postgres", demo_pg, role, res)
        assert_same_rows(rows, raw, res.limit, ordered=True)
        assert out.truncated == (len(raw) > res.limit)


@pytest.mark.parametrize("sql,codes", [
    ("SELECT DISTINCT ON (email) email, passenger_id FROM passengers",
     {"agent": "pii_in_expression", "analyst": "column_not_allowed", "supervisor": "bulk_personal_data"}),
    ("SELECT DISTINCT ON (p.date_of_birth) p.passenger_id FROM passengers p ORDER BY p.date_of_birth",
     {"agent": "pii_in_expression", "analyst": "pii_in_expression"}),
    ("SELECT DISTINCT ON (2) p.passenger_id, p.last_name FROM passengers p",
     {"analyst": "pii_in_expression"}),
])
def test_distinct_on_a_masked_column_is_refused(sql, codes):
    for role in ROLES:
        if role in codes:
            assert rejection(sql, "postgres", role).code == codes[role], role
        else:
            guard(sql, "postgres", role)


def test_distinct_on_is_refused_on_sqlite():
    """SQLite has no DISTINCT ON; sqlglot's rewrite would run the row cap before the de-duplication."""
    err = rejection("SELECT DISTINCT ON (flight_id) flight_id, segment_id FROM ticket_segments "
                    "ORDER BY flight_id, segment_id", "sqlite")
    assert err.code == "unsupported_syntax" and "DISTINCT ON" in err.message
