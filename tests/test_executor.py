"""The hardened executors, one named test per measured bypass (security-anchors.md F1-F11, S1-S9)."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from db.catalog import load_catalog
from sql_tools.errors import SqlToolError
from sql_tools.executors import (
    PermissionDenied, PostgresExecutor, QueryRejected, QueryTimeout, ReaderRoleMissing, ResultTooLarge,
    SqliteExecutor,
)
from test_executor_support import STAFF_SECRET, checksum, readonly_pg_database, seed

LIMIT_MS = 1000


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture
def sqlite_path(tmp_path):
    path = tmp_path / "p.sqlite"
    seed(f"sqlite:///{path}")
    return path


@pytest.fixture
def sx(sqlite_path, catalog):
    return SqliteExecutor(sqlite_path, catalog=catalog, role="agent", timeout_ms=LIMIT_MS)


@pytest.fixture(scope="module")
def pg_db(pg_admin_url):
    with readonly_pg_database(pg_admin_url, "abordo_ex", LIMIT_MS) as url:
        yield url


@pytest.fixture
def px(pg_db, catalog):
    ex = PostgresExecutor(pg_db, catalog=catalog, role="agent", timeout_ms=LIMIT_MS, pool_size=1)
    yield ex
    ex.close()


def _timed(fn):
    t = time.monotonic()
    try:
        fn()
    finally:
        return time.monotonic() - t


# ------------------------------------------------------------------------------------------ SQLite
def test_sqlite_select_returns_frame_and_metadata(sx):
    res = sx.execute("SELECT passenger_id, first_name FROM passengers ORDER BY passenger_id", subject_key_index=0)
    assert res.row_count == 12 and res.columns == ["passenger_id", "first_name"]
    assert res.types == ["int", "str"] and not res.truncated and res.bytes > 0
    assert res.passenger_ids[:3] == ["1", "2", "3"]


def test_sqlite_row_cap_sets_truncated(sx):
    res = sx.execute("SELECT passenger_id FROM passengers", max_rows=5)
    assert res.row_count == 5 and res.truncated


def test_sqlite_aggregated_subject_ids_are_split(sx):
    res = sx.execute("SELECT nationality, group_concat(passenger_id) FROM passengers GROUP BY nationality",
                     subject_key_index=1)
    assert len(res.passenger_ids) == 12


def test_S1_stacked_statements_refused(sx, sqlite_path):
    before = checksum(f"sqlite:///{sqlite_path}")
    with pytest.raises(QueryRejected):
        sx.execute("SELECT 1; DELETE FROM bookings")
    assert checksum(f"sqlite:///{sqlite_path}") == before


def test_S3_pragma_query_only_off_does_not_turn_defence_off(sx, sqlite_path):
    with pytest.raises(SqlToolError):
        sx.execute("PRAGMA query_only = 0")
    with pytest.raises(SqlToolError):
        sx.execute("DELETE FROM bookings")
    assert sx.execute("SELECT count(*) FROM bookings").df.iloc[0, 0] == 12


def test_S4_attach_writes_no_file(sx, sqlite_path):
    before = sorted(p.name for p in sqlite_path.parent.iterdir())
    for sql in ("ATTACH DATABASE 'loot.db' AS loot", f"ATTACH DATABASE '{sqlite_path.parent}/loot2.db' AS l",
                "VACUUM INTO 'loot3.db'"):
        with pytest.raises(SqlToolError):
            sx.execute(sql)
    assert sorted(p.name for p in sqlite_path.parent.iterdir()) == before


@pytest.mark.parametrize("sql", ["SELECT * FROM staff_accounts", "SELECT * FROM [staff_accounts]",
                                 "SELECT * FROM main.staff_accounts", "SELECT name, sql FROM sqlite_master",
                                 "SELECT * FROM pragma_table_info('staff_accounts')",
                                 "SELECT fts3_tokenizer('simple')", "SELECT length(randomblob(900000000))"])
def test_S5_authorizer_denies_unexposed_tables_and_functions(sx, sql):
    with pytest.raises(SqlToolError) as e:
        sx.execute(sql)
    assert STAFF_SECRET not in str(e.value)


def test_sqlite_hidden_column_denied_for_analyst(sqlite_path, catalog):
    ex = SqliteExecutor(sqlite_path, catalog=catalog, role="analyst", timeout_ms=LIMIT_MS)
    for sql in ("SELECT email FROM passengers", "SELECT * FROM passengers",
                "SELECT count(*) FROM passengers WHERE email LIKE 'a%'"):
        with pytest.raises(PermissionDenied):
            ex.execute(sql)
    assert ex.execute("SELECT count(*) FROM passengers").df.iloc[0, 0] == 12


@pytest.mark.parametrize("sql", [
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "SELECT count(*) FROM passengers a, passengers b, passengers c, passengers d, passengers e, passengers f, "
    "passengers g, passengers h",
], ids=["recursive_cte", "cartesian"])
def test_sqlite_time_limit(sx, sql):
    took = _timed(lambda: pytest.raises(QueryTimeout, sx.execute, sql))
    assert took < 2 * LIMIT_MS / 1000


def test_F8_sqlite_group_concat_whole_table_cut_by_byte_cap(sqlite_path, catalog):
    ex = SqliteExecutor(sqlite_path, catalog=catalog, role="supervisor", timeout_ms=LIMIT_MS, max_bytes=200)
    with pytest.raises(ResultTooLarge):
        ex.execute("SELECT group_concat(email || ':' || phone, ';') FROM passengers")
    res = ex.execute("SELECT email FROM passengers")
    assert res.truncated and res.bytes <= 200


def test_sqlite_missing_file_is_clear_error(tmp_path, catalog):
    with pytest.raises(SqlToolError):
        SqliteExecutor(tmp_path / "nope.sqlite", catalog=catalog, role="agent")


# ------------------------------------------------------------------------------------------ PostgreSQL
pg = pytest.mark.postgres


@pg
def test_pg_select_works_as_role_login(px):
    res = px.execute("SELECT passenger_id, current_user AS u FROM passengers ORDER BY 1", subject_key_index=0)
    assert res.row_count == 12 and set(res.df["u"]) == {"abordo_agent"}
    assert len(res.passenger_ids) == 12


@pg
def test_F2_stacked_statements_refused(px, pg_db):
    before = checksum(pg_db)
    for sql in ("SELECT 1; DELETE FROM bookings", "COMMIT; BEGIN READ WRITE; UPDATE passengers SET phone = '0'",
                "SELECT $$;$$ AS x; DROP TABLE flights"):
        with pytest.raises(QueryRejected):
            px.execute(sql)
    assert px.execute("SELECT 'a;b' AS x, $$;$$ AS y").row_count == 1   # semicolons inside strings are fine
    assert checksum(pg_db) == before


@pg
def test_F4_set_statement_timeout_zero_then_sleep_still_cut_off(px):
    took = _timed(lambda: pytest.raises(SqlToolError, px.execute, "SET statement_timeout = 0; SELECT pg_sleep(5)"))
    assert took < 2 * LIMIT_MS / 1000
    px.execute("SELECT set_config('statement_timeout', '0', false)")
    took = _timed(lambda: pytest.raises(QueryTimeout, px.execute, "SELECT pg_sleep(5)"))
    assert took < 2 * LIMIT_MS / 1000


@pg
def test_F5_pooled_connection_poisoning(px):
    poison = "SELECT 1; COMMIT; SET statement_timeout = 0; SET default_transaction_read_only = off"
    with pytest.raises(QueryRejected):
        px.execute(poison)
    # Even sent past our own stacked-statement check, the pool's check-in reset undoes it.
    conn = px.pool.get()
    with conn.cursor() as cur:
        cur.execute(poison)
    conn.commit()
    px.pool.put(conn)
    res = px.execute("SELECT current_setting('statement_timeout') AS t, "
                     "current_setting('default_transaction_read_only') AS d, "
                     "current_setting('transaction_read_only') AS ro")
    assert tuple(res.df.iloc[0]) == ("1s", "on", "on")
    took = _timed(lambda: pytest.raises(QueryTimeout, px.execute, "SELECT pg_sleep(5)"))
    assert took < 2 * LIMIT_MS / 1000


@pg
def test_F8_pg_string_agg_and_json_agg_cut_by_byte_cap(pg_db, catalog):
    ex = PostgresExecutor(pg_db, catalog=catalog, role="supervisor", timeout_ms=LIMIT_MS, max_bytes=300,
                          reader_url=sa.engine.make_url(pg_db).set(username="abordo_supervisor")
                          .render_as_string(hide_password=False))
    try:
        for sql in ("SELECT string_agg(email || ':' || phone, ';') FROM passengers",
                    "SELECT json_agg(t) FROM tickets t"):
            with pytest.raises(ResultTooLarge):
                ex.execute(sql)
    finally:
        ex.close()


@pg
@pytest.mark.parametrize("sql", [
    "SELECT pg_sleep(30)",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "SELECT count(*) FROM generate_series(1, 10000000000)",
    "SELECT count(*) FROM passengers a, passengers b, passengers c, passengers d, passengers e, passengers f, "
    "passengers g, passengers h",
    "SELECT length(string_agg(repeat(email, 100000), ',')) FROM passengers, generate_series(1, 200)",
], ids=["pg_sleep", "recursive_cte", "generate_series", "cartesian", "huge_string_agg"])
def test_F10_pg_time_limits(px, sql):
    took = _timed(lambda: pytest.raises(SqlToolError, px.execute, sql))
    assert took < 2 * LIMIT_MS / 1000


@pg
def test_pg_staff_accounts_denied(px):
    for sql in ("SELECT * FROM staff_accounts", "SELECT query_to_xml('SELECT * FROM staff_accounts', true, false, '')"):
        with pytest.raises(SqlToolError) as e:
            px.execute(sql)
        assert STAFF_SECRET not in e.value.message


@pg
def test_pg_missing_role_login_is_clear(pg_url, catalog):
    ex = PostgresExecutor(pg_url, catalog=catalog, role="agent",
                          reader_url=sa.engine.make_url(pg_url).set(username="abordo_nobody_x")
                          .render_as_string(hide_password=False))
    with pytest.raises(ReaderRoleMissing) as e:
        ex.execute("SELECT 1")
    assert "grant-readonly" in e.value.message
