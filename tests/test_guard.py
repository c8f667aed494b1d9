"""The SQL guard against the red-team corpora and real engines, plus named per-role policy cases.

Every attack is rejected on both dialects; every benign statement is accepted for role agent, its
regenerated SQL runs on an empty schema database and returns the same rows as the raw SQL on a small
seeded database (PostgreSQL and SQLite, never mocks).
"""
from __future__ import annotations

import logging
import uuid

import pytest
import sqlalchemy as sa

from db.catalog import load_catalog
from db.errors import CatalogError
from sql_tools.guard import GuardRejection, GuardResult, check_sql
from tests.conftest import _admin_exec
from tests.guard_fixtures import dialects_of, load_jsonl, normalise, seed

logging.getLogger("sqlglot").setLevel(logging.ERROR)

CATALOG = load_catalog()
ATTACKS = load_jsonl("attack-sql.jsonl")
BENIGN = load_jsonl("benign-sql.jsonl")

# Attack ids accepted by the guard and left to the executor's time/row/byte limits, with the reason.
# Empty: every current resource attack has a sound static rule (cartesian_product for sql-atk-143,
# recursive_cte for sql-atk-146, function allowlist for generate_series/repeat/randomblob, size and
# depth limits for sql-atk-153/156). Add an id here only with a reason; it must then still get a LIMIT.
EXECUTOR_ONLY: dict[str, str] = {}


def guard(sql: str, dialect: str = "sqlite", role: str = "agent") -> GuardResult:
    return check_sql(sql, catalog=CATALOG, dialect=dialect, role=role)


def rejected(sql: str, dialect: str = "sqlite", role: str = "agent") -> str:
    with pytest.raises(GuardRejection) as info:
        guard(sql, dialect, role)
    assert info.value.message and info.value.message_es and info.value.message != info.value.message_es
    return info.value.code


# ---- engines ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engines(tmp_path_factory, pg_admin_url):
    """Per dialect: (empty schema engine, seeded engine). Module-scoped: building databases is slow."""
    from db.schema import metadata

    tmp = tmp_path_factory.mktemp("guard-db")
    names = [f"abordo_guard_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for n in names:
        _admin_exec(pg_admin_url, f'CREATE DATABASE "{n}"')
    pg = [sa.engine.make_url(pg_admin_url).set(database=n).render_as_string(hide_password=False) for n in names]
    empty_sqlite = sa.create_engine(f"sqlite:///{tmp / 'empty.sqlite'}")
    metadata.create_all(empty_sqlite)
    empty_pg = sa.create_engine(pg[0])
    metadata.create_all(empty_pg)
    out = {"sqlite": (empty_sqlite, seed(f"sqlite:///{tmp / 'seeded.sqlite'}")),
           "postgres": (empty_pg, seed(pg[1]))}
    yield out
    for pair in out.values():
        for e in pair:
            e.dispose()
    for n in names:
        _admin_exec(pg_admin_url, f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


def _run(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        try:
            return [tuple(r) for r in conn.execute(sa.text(sql.replace(":", r"\:"))).fetchall()]
        finally:
            conn.rollback()


# ---- corpora ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
@pytest.mark.parametrize("entry", ATTACKS, ids=[e["id"] for e in ATTACKS])
def test_attack_rejected(entry, dialect):
    if entry["id"] in EXECUTOR_ONLY:
        res = guard(entry["sql"], dialect)
        assert res.limit <= CATALOG.role("agent").max_rows and " LIMIT " in res.sql_out.upper()
        return
    for role in ("agent", "supervisor", "analyst"):
        rejected(entry["sql"], dialect, role)


BENIGN_CASES = [(e, d) for e in BENIGN for d in dialects_of(e)]


@pytest.mark.parametrize("entry,dialect", BENIGN_CASES, ids=[f"{e['id']}-{d}" for e, d in BENIGN_CASES])
def test_benign_accepted_runs_and_matches(entry, dialect, engines):
    res = guard(entry["sql"], dialect)
    assert res.dialect == dialect and res.role == "agent"
    assert res.limit <= 200 and "LIMIT" in res.sql_out.upper()
    empty, seeded = engines[dialect]
    _run(empty, res.sql_out)  # regenerated SQL is valid on the engine
    raw = _run(seeded, entry["sql"].strip().rstrip(";"))
    out = _run(seeded, res.sql_out)
    assert len(res.columns) == (len(out[0]) if out else len(res.columns))
    if res.subject_key_index is not None:
        out = [r[:res.subject_key_index] + r[res.subject_key_index + 1:] for r in out]
        raw, out = sorted(set(raw), key=repr), sorted(set(out), key=repr)
    assert normalise(out) == normalise(raw)


# ---- named policy cases -----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_agent_masked_columns_only_as_bare_outputs(dialect):
    res = guard("SELECT first_name, email, document_number FROM passengers WHERE passenger_id = 1", dialect)
    assert [c.pii for c in res.columns[:3]] == ["identifier", "contact", "document"]
    assert [(c.table, c.column) for c in res.columns[:3]] == [("passengers", "first_name"),
                                                              ("passengers", "email"),
                                                              ("passengers", "document_number")]
    for sql in ("SELECT lower(email) AS e FROM passengers WHERE passenger_id = 1",
                "SELECT substr(document_number, 1, 3) FROM passengers WHERE passenger_id = 1",
                "SELECT first_name FROM passengers WHERE phone = '+52550000001'",
                "SELECT first_name FROM passengers ORDER BY email",
                "SELECT email AS e FROM passengers WHERE passenger_id = 1 ORDER BY e",
                "SELECT count(*) FROM passengers GROUP BY date_of_birth",
                "WITH c AS (SELECT email FROM passengers WHERE passenger_id = 1) SELECT email FROM c",
                "SELECT x.email FROM (SELECT email FROM passengers WHERE passenger_id = 1) x",
                "SELECT email FROM passengers WHERE passenger_id = 1 UNION SELECT contact_email FROM bookings",
                "SELECT max(email) FROM passengers WHERE passenger_id = 1",
                "SELECT b.record_locator FROM bookings b JOIN passengers p ON p.email = b.contact_email"):
        assert rejected(sql, dialect) == "pii_in_expression", sql


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_mask_consistent_suffix_predicate(dialect):
    """benign sql-ok-033: a domain filter reveals only what the partial mask shows."""
    guard("SELECT count(*) FROM passengers WHERE email LIKE '%@example.com'", dialect)
    guard("SELECT count(*) FROM passengers WHERE phone LIKE '%0001'", dialect)
    for sql in ("SELECT count(*) FROM passengers WHERE email LIKE 'a%'",
                "SELECT count(*) FROM passengers WHERE email LIKE '%x@example.com'",
                "SELECT count(*) FROM passengers WHERE phone LIKE '%500001'",
                "SELECT count(*) FROM passengers WHERE date_of_birth LIKE '%10'"):
        assert rejected(sql, dialect) == "pii_in_expression", sql


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
@pytest.mark.parametrize("column", ["email", "phone", "document_number", "frequent_flyer_number"])
def test_analyst_cannot_reference_hidden_columns(dialect, column):
    for sql in (f"SELECT {column} FROM passengers WHERE passenger_id = 1",
                f"SELECT count(*) FROM passengers WHERE {column} IS NOT NULL",
                f"SELECT passenger_id FROM passengers ORDER BY {column}",
                f"SELECT p.passenger_id FROM passengers p WHERE EXISTS (SELECT 1 FROM passengers q "
                f"WHERE q.{column} = p.{column})"):
        assert rejected(sql, dialect, "analyst") == "column_not_allowed", sql


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_analyst_free_text_hidden(dialect):
    assert rejected("SELECT free_text FROM special_service_requests", dialect, "analyst") == "column_not_allowed"
    assert rejected("SELECT code FROM special_service_requests WHERE free_text LIKE '%x%'", dialect,
                    "analyst") == "column_not_allowed"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_supervisor_may_filter_on_email(dialect):
    res = guard("SELECT first_name, last_name FROM passengers WHERE email = 'p1@example.com'", dialect,
                "supervisor")
    assert res.subject_key_index == 2
    # supervisor sees contacts in clear but the bulk rule still applies
    assert rejected("SELECT email, phone FROM passengers", dialect, "supervisor") == "bulk_personal_data"
    res = guard("SELECT email, phone FROM passengers WHERE last_name IN ('Pérez', 'García')", dialect, "supervisor")
    assert [c.name for c in res.columns] == ["email", "phone", "abordo_subject_key"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_select_star_expansion_per_role(dialect):
    sql = "SELECT * FROM passengers WHERE passenger_id = 1"
    agent = [c.name for c in guard(sql, dialect, "agent").columns]
    analyst = [c.name for c in guard(sql, dialect, "analyst").columns]
    every = list(CATALOG.tables["passengers"].columns)
    assert agent == every + ["abordo_subject_key"]
    hidden = {"email", "phone", "document_number", "frequent_flyer_number"}
    assert analyst == [c for c in every if c not in hidden] + ["abordo_subject_key"]
    assert "*" not in guard(sql, dialect, "analyst").sql_out
    # without a lookup filter the star includes contacts/documents: bulk rule
    assert rejected("SELECT * FROM passengers", dialect) == "bulk_personal_data"
    assert rejected("SELECT p.* FROM passengers p", dialect, "analyst") == "bulk_personal_data"  # dob year


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_subject_key(dialect):
    res = guard("SELECT p.first_name FROM passengers p WHERE p.last_name = 'Pérez'", dialect)
    assert res.subject_key_index == 1 and res.columns[1].name == "abordo_subject_key"
    assert "p.passenger_id AS abordo_subject_key" in res.sql_out
    res = guard("SELECT DISTINCT first_name FROM passengers", dialect)
    assert res.subject_key_index == 1
    res = guard("SELECT last_name, count(*) AS n FROM passengers GROUP BY last_name", dialect)
    agg = "GROUP_CONCAT(DISTINCT" if dialect == "sqlite" else "STRING_AGG(DISTINCT CAST("
    assert res.subject_key_index == 2 and agg in res.sql_out
    # no personal output: no key
    assert guard("SELECT nationality, count(*) FROM passengers GROUP BY nationality", dialect).subject_key_index is None
    # bookings contact without passengers in FROM: no key (documented)
    res = guard("SELECT contact_email FROM bookings WHERE record_locator = 'QX7K2M'", dialect)
    assert res.subject_key_index is None and res.columns[0].pii == "contact"
    # passengers' personal data only through a subquery / CTE / set operation: untraceable
    for sql in ("WITH c AS (SELECT first_name FROM passengers) SELECT first_name FROM c",
                "SELECT x.first_name FROM (SELECT first_name FROM passengers) x",
                "SELECT first_name FROM passengers UNION SELECT city FROM airports",
                "SELECT f.flight_id, (SELECT max(p.last_name) FROM passengers p) AS n FROM flights f",
                "SELECT a.first_name, b.last_name FROM passengers a JOIN passengers b ON a.passenger_id = "
                "b.passenger_id"):
        assert rejected(sql, dialect) == "untraceable_personal_data", sql


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_limit_injected_and_clamped(dialect):
    assert guard("SELECT flight_id FROM flights", dialect).limit == 200
    res = guard("SELECT flight_id FROM flights LIMIT 5000", dialect)
    assert res.limit == 200 and res.sql_out.endswith("LIMIT 201")
    assert guard("SELECT flight_id FROM flights LIMIT 7", dialect).limit == 7
    assert guard("SELECT flight_id FROM flights LIMIT 5000", dialect, "supervisor").limit == 1000
    assert guard("SELECT flight_id FROM flights LIMIT 10 OFFSET 20", dialect).sql_out.endswith("LIMIT 10 OFFSET 20")
    assert rejected("SELECT flight_id FROM flights LIMIT (SELECT 1000)", dialect) == "bad_limit"
    assert rejected("SELECT flight_id FROM flights LIMIT 5 OFFSET flight_id", dialect) in ("bad_limit", "unknown_column")
    res = guard("SELECT flight_id FROM flights UNION SELECT flight_id FROM ticket_segments", dialect)
    assert res.limit == 200 and res.sql_out.endswith("LIMIT 201")


def test_sqlite_negative_limit_clamped():
    assert guard("SELECT flight_id FROM flights LIMIT -1").limit == 200


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_structural_rejections(dialect):
    cases = {
        "SELECT 1; SELECT 2": "multiple_statements",
        "SELECT flight_id FROM flights WHERE status = 'x'\u00a0": "odd_characters",
        "SELECT f.flight_id FROM flights f, flights g": "cartesian_product",
        "SELECT f.flight_id FROM flights f CROSS JOIN airports a": "cartesian_product",
        "SELECT f.flight_id FROM flights f JOIN airports a ON f.flight_id > 3": "cartesian_product",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r": "recursive_cte",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT r.n + 1 FROM r JOIN passengers p ON p.passenger_id "
        "= r.n WHERE r.n < 5) SELECT n FROM r": "recursive_cte",
        "SELECT s.x FROM (WITH staff_accounts AS (SELECT 1 AS x) SELECT x FROM staff_accounts) s "
        "JOIN staff_accounts a ON a.username = s.x": "table_not_allowed",
        "SELECT flight_id FROM main.flights" if dialect == "postgres" else "SELECT flight_id FROM public.flights":
            "table_not_allowed",
        "SELECT upper(replace(gate, 'A', 'AAAAAAAA')) FROM flights": "function_not_allowed",
        "SELECT abs(x) FROM (VALUES (1)) v(x)": "unsupported_syntax",
        "": "empty",
        "x" * 20_001: "too_long",
    }
    for sql, code in cases.items():
        assert rejected(sql, dialect) == code, sql


def test_postgres_identifier_rules():
    assert rejected('SELECT flight_id FROM "Flights"', "postgres") == "table_not_allowed"
    guard('SELECT flight_id FROM "Flights"', "sqlite")  # SQLite identifiers are case-insensitive
    guard('SELECT flight_id FROM FLIGHTS', "postgres")
    assert rejected("SELECT user FROM flights", "postgres") == "function_not_allowed"
    assert rejected("SELECT current_user", "postgres") == "function_not_allowed"


def test_cte_named_like_forbidden_table_is_only_the_cte():
    res = guard("WITH staff_accounts AS (SELECT flight_id FROM flights) SELECT flight_id FROM staff_accounts")
    assert res.tables == ("flights",)


def test_unknown_role_is_a_usage_error():
    with pytest.raises(CatalogError):
        guard("SELECT 1", role="nobody")


def test_result_is_frozen():
    res = guard("SELECT flight_id FROM flights")
    with pytest.raises(AttributeError):
        res.limit = 5  # type: ignore[misc]


def test_sqlite_double_quoted_string_is_read_as_sqlite_reads_it():
    # Spider-style SQL: "Mexico City" names no column, so SQLite compares with a string.
    r = guard('SELECT iata_code FROM airports WHERE city = "Mexico City"')
    assert "'Mexico City'" in r.sql_out
    # a real column in double quotes stays a column...
    assert "'city'" not in guard('SELECT "city" FROM airports').sql_out
    # ...a hidden column in double quotes is still refused, never turned into a harmless-looking string
    assert rejected('SELECT COUNT(*) FROM passengers WHERE "document_number" = \'X\'', role="analyst") \
        == "column_not_allowed"
    # PostgreSQL: double quotes are always identifiers
    assert rejected('SELECT iata_code FROM airports WHERE city = "Mexico City"', dialect="postgres") \
        == "unknown_column"


def test_column_names_match_across_case_when_unambiguous(tmp_path):
    """Introspected catalogs keep the stored case ('Pilot_name'); SQL folds unquoted names."""
    from db.introspect import draft_catalog

    db = tmp_path / "mixed.sqlite"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text('CREATE TABLE pilot (Pilot_ID INTEGER PRIMARY KEY, Pilot_name TEXT, "Rank" INTEGER)'))
    engine.dispose()
    cat_file = tmp_path / "c.yaml"
    cat_file.write_text(draft_catalog(f"sqlite:///{db}"), encoding="utf-8")
    catalog = load_catalog(cat_file)
    r = check_sql("SELECT pilot_name FROM pilot ORDER BY rank", catalog=catalog, dialect="sqlite", role="supervisor")
    assert r.sql_out.startswith("SELECT pilot.pilot_name")
    with pytest.raises(GuardRejection) as exc:
        check_sql("SELECT pilot_nom FROM pilot", catalog=catalog, dialect="sqlite", role="supervisor")
    assert exc.value.code == "unknown_column"
