"""`abordo db grant-readonly`: the PostgreSQL roles are the real boundary (security-anchors.md §5.1)."""
from __future__ import annotations

import psycopg2
import pytest
import sqlalchemy as sa

from db.catalog import load_catalog
from db.errors import RoleError
from db.roles import grant_readonly
from test_executor_support import seed

pytestmark = pytest.mark.postgres


@pytest.fixture
def granted(pg_url):
    seed(pg_url)
    lines = grant_readonly(pg_url, load_catalog(), 1000)
    assert any("abordo_analyst" in ln for ln in lines)
    return pg_url


def _connect(url, login):
    conn = psycopg2.connect(sa.engine.make_url(url).set(username=login, drivername="postgresql")
                            .render_as_string(hide_password=False))
    conn.autocommit = True
    return conn


def _fails(conn, sql) -> bool:
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        return False
    except psycopg2.Error:
        with conn.cursor() as cur:
            cur.execute("ROLLBACK")   # a stacked BEGIN may have left an aborted transaction open
        return True


@pytest.mark.parametrize("login", ["abordo_reader", "abordo_agent", "abordo_supervisor", "abordo_analyst"])
def test_role_reads_exposed_and_nothing_else(granted, login):
    conn = _connect(granted, login)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM flights")
            assert cur.fetchone()[0] == 3
        for sql in ["SELECT * FROM staff_accounts", "SELECT count(*) FROM staff_accounts",
                    "UPDATE flights SET gate = 'X'", "DELETE FROM bookings",
                    "BEGIN READ WRITE; UPDATE flights SET gate = 'X'; COMMIT",
                    "CREATE TEMP TABLE loot AS SELECT 1", "CREATE TABLE loot (a int)",
                    "SELECT lo_from_bytea(0, convert_to('x', 'UTF8'))", "SELECT pg_notify('c', 'x')",
                    "SELECT pg_advisory_lock(42)", "SELECT pg_try_advisory_lock(1, 2)",
                    "SELECT pg_logical_emit_message(false, 'p', 'x')",
                    "SELECT query_to_xml('SELECT * FROM staff_accounts', true, false, '')"]:
            assert _fails(conn, sql), (login, sql)
        with conn.cursor() as cur:
            cur.execute("SHOW default_transaction_read_only")
            assert cur.fetchone()[0] == "on"
            cur.execute("SHOW statement_timeout")
            assert cur.fetchone()[0] == "1s"
    finally:
        conn.close()


def test_analyst_cannot_select_hidden_columns_even_with_star(granted):
    conn = _connect(granted, "abordo_analyst")
    try:
        for sql in ["SELECT email FROM passengers", "SELECT * FROM passengers", "SELECT row_to_json(p) FROM passengers p",
                    "SELECT count(*) FROM passengers WHERE document_number LIKE 'G%'",
                    "SELECT contact_email FROM bookings", "SELECT free_text FROM special_service_requests"]:
            assert _fails(conn, sql), sql
        with conn.cursor() as cur:
            cur.execute("SELECT passenger_id, first_name, date_of_birth FROM passengers")
            assert len(cur.fetchall()) == 12
    finally:
        conn.close()


def test_running_twice_is_fine_and_removes_stale_grants(granted):
    admin = psycopg2.connect(sa.engine.make_url(granted).set(drivername="postgresql").render_as_string(False))
    admin.autocommit = True
    with admin.cursor() as cur:   # a stale grant from an older catalog
        cur.execute("GRANT SELECT ON staff_accounts TO abordo_agent")
    admin.close()
    grant_readonly(granted, load_catalog(), 1000)
    conn = _connect(granted, "abordo_agent")
    try:
        assert _fails(conn, "SELECT * FROM staff_accounts")
    finally:
        conn.close()


def test_not_postgres_is_clear_error(tmp_path):
    with pytest.raises(RoleError, match="PostgreSQL"):
        grant_readonly(f"sqlite:///{tmp_path}/x.sqlite", load_catalog(), 1000)


def test_unprivileged_account_is_clear_error(granted):
    url = sa.engine.make_url(granted).set(username="abordo_agent").render_as_string(False)
    with pytest.raises(RoleError, match="may not create roles"):
        grant_readonly(url, load_catalog(), 1000)
