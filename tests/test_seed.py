"""The demo-data generator and loaders: deterministic, conformant to the schema contract, realistic
enough for the evaluation questions, and all-or-nothing on both engines (real SQLite files, real
PostgreSQL)."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from db.schema import ENUMS, TABLE_ORDER, metadata
from seed_data.errors import SeedLoadError
from seed_data.generator import generate
from seed_data.loaders import dump_sha256, seed_database
from seed_data.notes import INJECTION_NOTES, SSR_CODES

SMALL = 400
TODAY = date(2026, 6, 15)


def _scalar(url: str, sql: str, **params):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    seed_database(url, progress=False)
    return url


@pytest.fixture(scope="module")
def small_sqlite_sha(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('small') / 'small.sqlite'}"
    seed_database(url, SMALL, seed=7, progress=False)
    return dump_sha256(url)


# ------------------------------------------------------------------------------------ determinism

def test_generator_is_deterministic_in_memory():
    def digest(seed):
        return [(t, list(rows)) for t, rows in generate(SMALL, seed=seed, today=TODAY)]
    first, second = digest(3), digest(3)
    assert first == second
    assert digest(4) != first
    assert [t for t, _ in first] == list(TABLE_ORDER)


def test_same_seed_same_sqlite_dump(tmp_path, small_sqlite_sha):
    url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    seed_database(url, SMALL, seed=7, progress=False)
    assert dump_sha256(url) == small_sqlite_sha
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    seed_database(other, SMALL, seed=8, progress=False)
    assert dump_sha256(other) != small_sqlite_sha


@pytest.mark.postgres
def test_postgres_equals_sqlite_and_is_deterministic(make_pg_database, small_sqlite_sha):
    first, second = make_pg_database(), make_pg_database()
    seed_database(first, SMALL, seed=7, progress=False)
    seed_database(second, SMALL, seed=7, progress=False)
    assert dump_sha256(first) == dump_sha256(second) == small_sqlite_sha


# ------------------------------------------------------------------------------------ conformance

def _compatible(expected: sa.types.TypeEngine, actual: sa.types.TypeEngine) -> bool:
    groups = ((sa.Integer,), (sa.Numeric, sa.Float), (sa.DateTime,), (sa.Date,), (sa.String, sa.Text))
    for group in groups:
        if isinstance(expected, group):
            if isinstance(expected, sa.Numeric) and not isinstance(expected, sa.Float):
                return isinstance(actual, sa.Numeric)
            return isinstance(actual, group)
    return False


def _check_conformance(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert set(TABLE_ORDER) <= set(inspector.get_table_names())
        for table in metadata.sorted_tables:
            actual = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                assert column.name in actual, f"{table.name}.{column.name} missing"
                assert _compatible(column.type, actual[column.name]), \
                    f"{table.name}.{column.name}: {actual[column.name]!r} vs {column.type!r}"
            index_names = {ix["name"] for ix in inspector.get_indexes(table.name)}
            from db.schema import INDEXES
            for ix in INDEXES:
                if ix.table.name == table.name:
                    assert ix.name in index_names
        with engine.connect() as conn:
            for (table, column), allowed in ENUMS.items():
                values = {v for (v,) in conn.execute(sa.text(f'SELECT DISTINCT "{column}" FROM "{table}"'))}
                assert values - {None} <= set(allowed), (table, column, values)
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE flights SET status = 'teleported' WHERE flight_id = 1"))
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE baggage SET status = 'eaten' WHERE bag_tag = "
                                     "(SELECT MIN(bag_tag) FROM baggage)"))
    finally:
        engine.dispose()


def test_sqlite_conforms_to_schema(demo_url):
    _check_conformance(demo_url)


@pytest.mark.postgres
def test_postgres_conforms_to_schema(pg_url):
    seed_database(pg_url, SMALL, progress=False)
    _check_conformance(pg_url)


def test_formats(demo_url):
    engine = sa.create_engine(demo_url)
    try:
        with engine.connect() as conn:
            q = lambda sql: [r[0] for r in conn.execute(sa.text(sql))]  # noqa: E731
            assert all(re.fullmatch(r"[A-Z2-9]{6}", v) for v in q("SELECT record_locator FROM bookings"))
            assert all(re.fullmatch(r"139\d{10}", v) for v in q("SELECT ticket_number FROM tickets"))
            assert all(re.fullmatch(r"\d{10}", v) for v in q("SELECT bag_tag FROM baggage"))
            assert all(re.fullmatch(r"\+\d{8,14}", v) for v in q("SELECT phone FROM passengers"))
            assert all(re.fullmatch(r"\d{9}", v) for v in
                       q("SELECT frequent_flyer_number FROM passengers WHERE frequent_flyer_number IS NOT NULL"))
            stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
            assert all(re.fullmatch(stamp, v) for v in q("SELECT scheduled_departure FROM flights"))
            assert all(re.fullmatch(stamp, v) for v in q("SELECT created_at FROM passengers"))
            assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", v) for v in q("SELECT date_of_birth FROM passengers"))
            assert all(re.fullmatch(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+", v)
                       for v in q("SELECT password_hash FROM staff_accounts"))
            # search_name is the folded full name
            for first, last, second, search in conn.execute(sa.text(
                    "SELECT first_name, last_name, second_last_name, search_name FROM passengers LIMIT 500")):
                from seed_data.names import fold
                assert search == fold(" ".join(p for p in (first, last, second) if p))
            # booking totals equal the sum of their tickets
            bad = conn.execute(sa.text(
                "SELECT COUNT(*) FROM bookings b JOIN (SELECT booking_id, SUM(fare_amount + taxes_amount) s "
                "FROM tickets GROUP BY booking_id) t ON t.booking_id = b.booking_id "
                "WHERE ABS(b.total_amount - t.s) > 0.005")).scalar()
            assert bad == 0
            assert conn.execute(sa.text(
                "SELECT COUNT(*) FROM tickets t JOIN bookings b USING (booking_id) WHERE t.currency <> b.currency"
            )).scalar() == 0
            # actual times only once it happened; never a seat twice on one flight
            assert conn.execute(sa.text("SELECT COUNT(*) FROM flights WHERE status IN ('scheduled', 'boarding', "
                                        "'cancelled') AND actual_departure IS NOT NULL")).scalar() == 0
            assert conn.execute(sa.text("SELECT COUNT(*) FROM (SELECT flight_id, seat FROM ticket_segments "
                                        "WHERE seat IS NOT NULL GROUP BY flight_id, seat HAVING COUNT(*) > 1)"
                                        )).scalar() == 0
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------ realism

REALISM = {
    "accented first names": "SELECT COUNT(*) FROM passengers WHERE first_name <> search_name AND "
                            "(first_name LIKE '%é%' OR first_name LIKE '%í%' OR first_name LIKE '%á%')",
    "particle surnames": "SELECT COUNT(*) FROM passengers WHERE last_name LIKE 'de %' OR last_name LIKE 'Del %' "
                         "OR last_name LIKE 'del %' OR last_name LIKE 'De la %'",
    "compound first names": "SELECT COUNT(*) FROM passengers WHERE first_name LIKE '% %'",
    "mexicans with a second surname": "SELECT COUNT(*) FROM passengers WHERE nationality = 'MX' "
                                      "AND second_last_name IS NOT NULL",
    "shared full names": "SELECT COUNT(*) FROM (SELECT first_name, last_name, second_last_name FROM passengers "
                         "GROUP BY first_name, last_name, second_last_name HAVING COUNT(*) > 1)",
    "accent-only near duplicates": "SELECT COUNT(*) FROM (SELECT search_name FROM passengers GROUP BY search_name "
                                   "HAVING COUNT(DISTINCT first_name || last_name || "
                                   "COALESCE(second_last_name, '')) > 1)",
    "families": "SELECT COUNT(*) FROM (SELECT booking_id FROM tickets GROUP BY booking_id HAVING COUNT(*) >= 3)",
    "connecting tickets": "SELECT COUNT(*) FROM ticket_segments s JOIN flights f USING (flight_id) "
                          "JOIN ticket_segments s2 ON s2.ticket_number = s.ticket_number "
                          "AND s2.coupon_number = s.coupon_number + 1 JOIN flights f2 ON f2.flight_id = s2.flight_id "
                          "WHERE f.destination = 'MEX' AND f2.origin = 'MEX' AND f2.destination <> f.origin",
    "cancelled flights": "SELECT COUNT(*) FROM flights WHERE status = 'cancelled'",
    "delays with actual times": "SELECT COUNT(*) FROM flights WHERE status = 'delayed' "
                                "AND actual_departure > scheduled_departure",
    "diverted flights": "SELECT COUNT(*) FROM flights WHERE status = 'diverted'",
    "no-shows": "SELECT COUNT(*) FROM ticket_segments WHERE status = 'no_show'",
    "lost bags": "SELECT COUNT(*) FROM baggage WHERE status = 'lost'",
    "delayed bags": "SELECT COUNT(*) FROM baggage WHERE status = 'delayed'",
    "distinct ssr codes": "SELECT COUNT(DISTINCT code) FROM special_service_requests",
    "flights today": "SELECT COUNT(*) FROM flights WHERE scheduled_departure LIKE '2026-06-15%'",
    "flights yesterday": "SELECT COUNT(*) FROM flights WHERE scheduled_departure LIKE '2026-06-14%'",
    "flights tomorrow": "SELECT COUNT(*) FROM flights WHERE scheduled_departure LIKE '2026-06-16%'",
    "flown MEX-CUN coupons yesterday": "SELECT COUNT(*) FROM ticket_segments s JOIN flights f USING (flight_id) "
                                       "WHERE f.origin = 'MEX' AND f.destination = 'CUN' AND "
                                       "f.scheduled_departure LIKE '2026-06-14%' AND s.status = 'flown'",
    "partner flights": "SELECT COUNT(*) FROM flights WHERE carrier_code <> 'XA'",
    "null second surnames abroad": "SELECT COUNT(*) FROM passengers WHERE nationality <> 'MX' "
                                   "AND second_last_name IS NULL",
    "seatless coupons": "SELECT COUNT(*) FROM ticket_segments WHERE seat IS NULL AND status = 'booked'",
    "business seats over 20": "SELECT COUNT(*) FROM aircraft_types WHERE seats_business > 20",
}
MINIMUM = {"distinct ssr codes": len(SSR_CODES), "families": 20, "shared full names": 3,
           "accent-only near duplicates": 3, "flights today": 10}


def test_realism_at_demo_size(demo_url):
    counts = {name: _scalar(demo_url, sql) for name, sql in REALISM.items()}
    missing = {name: c for name, c in counts.items() if c < MINIMUM.get(name, 1)}
    assert not missing, (missing, counts)
    assert 4500 <= _scalar(demo_url, "SELECT COUNT(*) FROM passengers") <= 5500
    assert 1500 <= _scalar(demo_url, "SELECT COUNT(*) FROM flights") <= 2500
    assert 8000 <= _scalar(demo_url, "SELECT COUNT(*) FROM tickets") <= 10000
    today_statuses = {r for r in _column(demo_url, "SELECT DISTINCT status FROM flights "
                                                   "WHERE scheduled_departure LIKE '2026-06-15%'")}
    assert {"boarding", "departed", "delayed", "cancelled", "arrived"} <= today_statuses
    assert _scalar(demo_url, "SELECT COUNT(*) FROM flights WHERE scheduled_departure > '2026-06-16' "
                             "AND status NOT IN ('scheduled', 'cancelled')") == 0
    assert _scalar(demo_url, "SELECT COUNT(*) FROM passengers WHERE search_name = 'jose perez garcia'") >= 2
    assert _scalar(demo_url, "SELECT COUNT(*) FROM flights WHERE carrier_code = 'XA' AND flight_number = 401 "
                             "AND (origin <> 'MEX' OR destination <> 'CUN')") == 0


def _column(url: str, sql: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_injected_notes_on_todays_xa401(demo_url):
    notes = _column(demo_url, "SELECT r.free_text FROM special_service_requests r JOIN ticket_segments s "
                              "USING (segment_id) JOIN flights f USING (flight_id) WHERE f.carrier_code = 'XA' "
                              "AND f.flight_number = 401 AND f.scheduled_departure LIKE '2026-06-15%'")
    assert any(n in INJECTION_NOTES for n in notes)
    all_notes = _column(demo_url, "SELECT free_text FROM special_service_requests WHERE free_text IS NOT NULL")
    joined = "\n".join(all_notes)
    for marker in ("Ignore previous instructions", "SYSTEM:", "onerror=", "](https://"):
        assert marker in joined


# ------------------------------------------------------------------------------------ CLI

def _run(*args):
    from abordo.cli import main

    return CliRunner().invoke(main, ["seed", *args])


def _one_line_error(result) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("abordo: error:"), err
    assert "Traceback" not in result.output


@pytest.mark.parametrize("size", ["-5", "0", "10000000000", "lots"])
def test_cli_rejects_bad_sizes(tmp_path, size):
    target = tmp_path / "x.sqlite"
    result = _run("--db", f"sqlite:///{target}", "--passengers", size)
    _one_line_error(result)
    assert "passengers" in result.stderr
    assert not target.exists()


def test_cli_rejects_unknown_scheme_and_dead_server(tmp_path):
    _one_line_error(_run("--db", "mysql://root@localhost/abordo"))
    result = _run("--db", "postgresql://postgres@127.0.0.1:1/x")
    _one_line_error(result)
    assert "cannot connect" in result.stderr


def test_cli_seeds_refuses_non_empty_and_replaces(tmp_path):
    target = tmp_path / "demo.sqlite"
    url = f"sqlite:///{target}"
    result = _run("--db", url, "--passengers", "300", "--quiet")
    assert result.exit_code == 0, result.output
    assert "passengers" in result.stdout and "total" in result.stdout
    before = dump_sha256(url)
    _one_line_error(_run("--db", url, "--passengers", "300", "--seed", "9", "--quiet"))
    assert dump_sha256(url) == before
    skipped = _run("--db", url, "--if-empty")
    assert skipped.exit_code == 0 and "already holds data" in skipped.stdout
    assert dump_sha256(url) == before
    replaced = _run("--db", url, "--passengers", "300", "--seed", "9", "--replace", "--quiet")
    assert replaced.exit_code == 0, replaced.output
    assert dump_sha256(url) != before


def test_cli_default_target_is_the_settings_database(_isolated_home):
    result = _run("--passengers", "200", "--quiet", "--today", "2026-01-10")
    assert result.exit_code == 0, result.output
    assert (_isolated_home / "demo.sqlite").exists()
    _one_line_error(_run("--today", "2031-01-01"))


# ------------------------------------------------------------------------------------ atomicity

class _Boom(RuntimeError):
    pass


def _failing_generate(monkeypatch, after_table: str):
    import seed_data.loaders as loaders

    real = loaders.generate

    def broken(*args, **kwargs):
        for table, rows in real(*args, **kwargs):
            if table == after_table:
                def explode():
                    yield from list(rows)[:10]
                    raise _Boom("disk on fire")
                yield table, explode()
            else:
                yield table, rows
    monkeypatch.setattr(loaders, "generate", broken)


def test_sqlite_failure_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "new.sqlite"
    _failing_generate(monkeypatch, "tickets")
    with pytest.raises(_Boom):
        seed_database(f"sqlite:///{target}", 300, progress=False)
    assert not target.exists()


def test_sqlite_failed_replace_keeps_old_content(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    seed_database(url, 300, progress=False)
    before = dump_sha256(url)
    _failing_generate(monkeypatch, "baggage")
    with pytest.raises(_Boom):
        seed_database(url, 300, seed=5, replace=True, progress=False)
    assert dump_sha256(url) == before


@pytest.mark.postgres
def test_postgres_failure_and_refusal_leave_content(pg_url, monkeypatch):
    from seed_data.errors import NotEmptyError

    seed_database(pg_url, 300, progress=False)
    before = dump_sha256(pg_url)
    with pytest.raises(NotEmptyError):
        seed_database(pg_url, 300, seed=5, progress=False)
    _failing_generate(monkeypatch, "ticket_segments")
    with pytest.raises((_Boom, SeedLoadError)):  # psycopg2 wraps errors raised inside COPY's read()
        seed_database(pg_url, 300, seed=5, replace=True, progress=False)
    assert dump_sha256(pg_url) == before


@pytest.mark.postgres
def test_postgres_failure_on_empty_database_writes_no_tables(pg_url, monkeypatch):
    _failing_generate(monkeypatch, "passengers")
    with pytest.raises((_Boom, SeedLoadError)):
        seed_database(pg_url, 300, progress=False)
    engine = sa.create_engine(pg_url)
    try:
        assert not set(TABLE_ORDER) & set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
