"""Audit log and the facade: exactly one record per call, append-only, no unaudited reads, bulk limits."""
from __future__ import annotations

import dataclasses
import sqlite3

import pytest
import sqlalchemy as sa

from db.catalog import load_catalog
from sql_tools.audit import AuditError, AuditLog, AuditRecord, get_audit_log
from sql_tools.errors import SqlToolError
from sql_tools.limits import BulkExtractionRefused
from sql_tools.service import log_refusal, run_checked, run_guarded
from test_executor_support import guard_result, seed, settings_for


@pytest.fixture
def st(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    seed(url)
    return settings_for(url, tmp_path)


def _count(st):
    return get_audit_log(st.app_url).count()


def test_one_record_per_call_for_each_verdict(st):
    from sql_tools.guard import GuardRejection
    cat = load_catalog()
    r = run_guarded("SELECT first_name FROM passengers WHERE passenger_id IN (1, 2)", settings=st, catalog=cat,
                    role="agent", user="ana", question="who?", llm_info={"model": "m", "prompt_tokens": 5})
    assert _count(st) == 1 and list(r.df.columns) == ["first_name"] and r.passenger_count == 2
    with pytest.raises(GuardRejection):
        run_guarded("DELETE FROM bookings", settings=st, catalog=cat, role="agent", user="ana")
    assert _count(st) == 2
    with pytest.raises(SqlToolError):   # guard bypassed: the executor's authorizer refuses
        run_checked(guard_result("SELECT * FROM staff_accounts", []), settings=st, catalog=cat, user="ana")
    assert _count(st) == 3
    log_refusal("all e-mails please", "bulk personal data", settings=st, role="agent", user="ana")
    assert _count(st) == 4
    recs = get_audit_log(st.app_url).tail(10)
    assert [x.verdict for x in recs] == ["accepted", "rejected", "error", "refused"]
    assert recs[0].passenger_ids == ["1", "2"] and recs[0].model == "m" and recs[0].question == "who?"
    assert recs[0].sql_out and "abordo_subject_key" in recs[0].sql_out and recs[0].row_count == 2
    assert [x.user for x in get_audit_log(st.app_url).who_saw(2)] == ["ana"]
    assert get_audit_log(st.app_url).who_saw(7) == []


def test_distinct_rows_deduped_after_subject_key_dropped(st):
    r = run_guarded("SELECT DISTINCT last_name FROM passengers", settings=st, catalog=load_catalog(),
                    role="agent", user="bo")
    assert r.df["last_name"].tolist() == ["García"] and r.passenger_count == 12


def test_append_only_triggers(st):
    log = AuditLog(st.app_url)
    log.append(AuditRecord(user="x", role="agent", verdict="accepted", passenger_ids=["1"]))
    path = sa.engine.make_url(st.app_url).database
    conn = sqlite3.connect(path)
    for sql in ("UPDATE audit_log SET user_name = 'y'", "DELETE FROM audit_log", "DELETE FROM audit_subjects"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    conn.close()
    assert not hasattr(log, "delete") and not hasattr(log, "update")


def test_audit_write_failure_fails_the_query(st):
    cat = load_catalog()
    get_audit_log(st.app_url)   # create the store, then break inserts
    conn = sqlite3.connect(sa.engine.make_url(st.app_url).database)
    conn.execute("CREATE TRIGGER broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    conn.commit()
    conn.close()
    with pytest.raises(AuditError):
        run_guarded("SELECT first_name FROM passengers", settings=st, catalog=cat, role="agent", user="ana")


def _tight(cat, **limits):
    roles = dict(cat.roles)
    roles["agent"] = dataclasses.replace(roles["agent"], **limits)
    return dataclasses.replace(cat, roles=roles)


def test_bulk_limit_per_query(st):
    cat = _tight(load_catalog(), max_passengers_per_query=5)
    with pytest.raises(BulkExtractionRefused) as e:
        run_guarded("SELECT first_name FROM passengers", settings=st, catalog=cat, role="agent", user="ana")
    assert "5" in e.value.message and "máximo" in e.value.message_es
    # packed into one group row: ids are split and still counted
    with pytest.raises(BulkExtractionRefused):
        run_guarded("SELECT last_name, count(*) AS n FROM passengers GROUP BY last_name", settings=st,
                    catalog=cat, role="agent", user="ana")
    recs = get_audit_log(st.app_url).tail(5)
    assert [r.verdict for r in recs] == ["refused", "refused"] and recs[0].passenger_ids == []


def test_bulk_limit_per_hour(st):
    cat = _tight(load_catalog(), max_passengers_per_hour=6)
    run_guarded("SELECT first_name FROM passengers WHERE passenger_id <= 4", settings=st, catalog=cat,
                role="agent", user="ana")
    run_guarded("SELECT first_name FROM passengers WHERE passenger_id <= 4", settings=st, catalog=cat,
                role="agent", user="ana")   # the same people again: still 4
    with pytest.raises(BulkExtractionRefused):
        run_guarded("SELECT first_name FROM passengers WHERE passenger_id > 8", settings=st, catalog=cat,
                    role="agent", user="ana")
    # another user has their own budget
    run_guarded("SELECT first_name FROM passengers WHERE passenger_id > 8", settings=st, catalog=cat,
                role="agent", user="bo")


@pytest.mark.postgres
def test_audit_store_on_postgres(pg_url):
    log = AuditLog(pg_url)
    log.append(AuditRecord(user="x", role="supervisor", verdict="accepted", passenger_ids=["9"]))
    assert log.who_saw("9")[0].user == "x"
    eng = sa.create_engine(pg_url)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with eng.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_log"))
    eng.dispose()
    log.engine.dispose()
