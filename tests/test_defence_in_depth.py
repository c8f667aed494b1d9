"""Defence in depth: the red-team corpus sent STRAIGHT to the executors, guard bypassed.

Each attack must cause no write (checksum of every table, and on PostgreSQL no large object or temp
table; on SQLite no new file beside the database), never show staff_accounts' values, and finish within
twice the 1 s time limit. The executors are the second line; these tests prove it holds alone.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from db.catalog import load_catalog
from sql_tools.errors import SqlToolError
from sql_tools.executors import PostgresExecutor, SqliteExecutor
from test_executor_support import checksum, pg_state, readonly_pg_database, seed

CORPUS = Path(__file__).parent / "data" / "redteam" / "attack-sql.jsonl"
ATTACKS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
TIMEOUT_MS = 1000


def _no_staff_values(res) -> bool:
    text = res.df.to_string() if res is not None else ""
    return "STAFF-SECRET" not in text and "admin" not in text


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("did-sqlite")
    url = f"sqlite:///{d / 'p.sqlite'}"
    seed(url)
    return url, d / "p.sqlite"


@pytest.fixture(scope="module")
def seeded_pg(pg_admin_url):
    with readonly_pg_database(pg_admin_url, "abordo_did", TIMEOUT_MS) as url:
        yield url


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a["dialect"] in ("sqlite", "any")],
                         ids=lambda a: a["id"])
def test_sqlite_attack_straight_to_executor(attack, sqlite_db, catalog):
    url, path = sqlite_db
    before, files_before = checksum(url), sorted(p.name for p in path.parent.iterdir())
    ex = SqliteExecutor(path, catalog=catalog, role="agent", timeout_ms=TIMEOUT_MS, max_bytes=64 * 1024)
    started = time.monotonic()
    res = None
    try:
        res = ex.execute(attack["sql"])
    except SqlToolError:
        pass
    assert time.monotonic() - started < 2 * TIMEOUT_MS / 1000, attack["id"]
    assert _no_staff_values(res), attack["id"]
    assert checksum(url) == before, attack["id"]
    assert sorted(p.name for p in path.parent.iterdir()) == files_before, attack["id"]   # S4: no loot.db


@pytest.mark.postgres
@pytest.mark.parametrize("attack", [a for a in ATTACKS if a["dialect"] in ("postgres", "any")],
                         ids=lambda a: a["id"])
def test_postgres_attack_straight_to_executor(attack, seeded_pg, catalog):
    before, state_before = checksum(seeded_pg), pg_state(seeded_pg)
    ex = _pg_executor(seeded_pg, catalog)
    started = time.monotonic()
    res = None
    try:
        res = ex.execute(attack["sql"])
    except SqlToolError:
        pass
    assert time.monotonic() - started < 2 * TIMEOUT_MS / 1000, attack["id"]
    assert _no_staff_values(res), attack["id"]
    assert checksum(seeded_pg) == before, attack["id"]
    assert pg_state(seeded_pg) == state_before, attack["id"]
    # the next query on the same pool is still read-only with the timeout in force (F5)
    after = ex.execute("SELECT current_setting('statement_timeout') AS t, "
                       "current_setting('transaction_read_only') AS ro")
    assert tuple(after.df.iloc[0]) == ("1s", "on"), attack["id"]


_PG_EXECUTORS: dict = {}


def _pg_executor(url, catalog):
    if url not in _PG_EXECUTORS:
        _PG_EXECUTORS[url] = PostgresExecutor(url, catalog=catalog, role="agent", timeout_ms=TIMEOUT_MS,
                                              max_bytes=64 * 1024, pool_size=1)
    return _PG_EXECUTORS[url]
