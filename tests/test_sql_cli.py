"""`abordo sql check|run` and `abordo audit tail|who-saw` end to end through the CLI, on real databases."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from abordo.cli import main

REDTEAM = Path(__file__).parent / "data" / "redteam"


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_check_json_file_rejects_every_attack(dialect):
    result = run("sql", "check", "--dialect", dialect, "--json", "--file", REDTEAM / "attack-sql.jsonl")
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    expected = sum(1 for x in (REDTEAM / "attack-sql.jsonl").read_text().splitlines() if x.strip())
    assert len(lines) == expected and result.exit_code == 1
    assert all(set(x) >= {"id", "verdict", "code", "message", "sql_out"} for x in lines)
    assert {x["verdict"] for x in lines} == {"reject"}
    assert all(x["code"] and x["message"] and x["sql_out"] is None for x in lines)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_check_json_file_accepts_the_benign_corpus(dialect, tmp_path):
    entries = [json.loads(x) for x in (REDTEAM / "benign-sql.jsonl").read_text().splitlines() if x.strip()]
    mine = tmp_path / "benign.jsonl"
    mine.write_text("\n".join(json.dumps(e) for e in entries if e["dialect"] in (dialect, "any")))
    result = run("sql", "check", "--dialect", dialect, "--json", "--file", mine)
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert result.exit_code == 0 and lines and all(x["verdict"] == "accept" and x["sql_out"] for x in lines)


def test_check_single_statement_readable():
    result = run("sql", "check", "SELECT 1; DROP TABLE flights")
    assert result.exit_code == 1 and "multiple_statements" in result.output


def test_check_bad_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = run("sql", "check", "--file", bad)
    assert result.exit_code == 2 and "not JSON" in result.output


def test_run_masks_and_audits(small_demo_db):
    db = f"sqlite:///{small_demo_db}"
    locator, email = sqlite3.connect(small_demo_db).execute(
        "SELECT b.record_locator, p.email FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
        "JOIN passengers p ON p.passenger_id = t.passenger_id ORDER BY b.booking_id LIMIT 1").fetchone()
    sql = (f"SELECT p.first_name, p.email FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id JOIN "
           f"passengers p ON p.passenger_id = t.passenger_id WHERE b.record_locator = '{locator}'")
    result = run("sql", "run", sql, "--db", db, "--role", "agent", "--user", "ana")
    assert result.exit_code == 0, result.output
    assert email not in result.output and "***@" in result.output and "row(s)" in result.output
    sup = run("sql", "run", sql, "--db", db, "--role", "supervisor", "--user", "sam")
    assert email in sup.output
    tail = run("audit", "tail", "-n", "5", "--json", "--role", "supervisor")
    records = [json.loads(x) for x in tail.stdout.splitlines()]
    assert [r["user"] for r in records[-2:]] == ["ana", "sam"]
    pid = records[-1]["passenger_ids"][0]
    who = run("audit", "who-saw", pid, "--role", "supervisor", "--json")
    assert {json.loads(x)["user"] for x in who.stdout.splitlines() if x.startswith("{")} >= {"ana", "sam"}


def test_run_rejection_is_one_line_exit_2(small_demo_db):
    result = run("sql", "run", "SELECT * FROM staff_accounts", "--db", f"sqlite:///{small_demo_db}")
    assert result.exit_code == 2 and "table_not_allowed" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_audit_is_for_supervisors():
    for args in (("audit", "tail"), ("audit", "who-saw", "1")):
        result = run(*args, "--role", "agent")
        assert result.exit_code == 2 and "supervisors" in result.stderr


@pytest.mark.postgres
def test_run_on_postgresql_as_the_role_login(small_demo_pg):
    ok = run("sql", "run", "SELECT COUNT(*) FROM flights WHERE status = 'cancelled'", "--db", small_demo_pg,
             "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout.splitlines()[-1])["row_count"] == 1
    denied = run("sql", "run", "SELECT email FROM passengers", "--db", small_demo_pg, "--role", "analyst")
    assert denied.exit_code == 2 and "column_not_allowed" in denied.stderr
