"""Grouping columns first: same rows and values, the key column in front."""
from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from assistant.reshape import grouping_columns_first


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from seed_data.loaders import seed_database

    path = tmp_path_factory.mktemp("reshape") / "demo.sqlite"
    seed_database(f"sqlite:///{path}", passengers=200, progress=False)
    return path


def rows(db, sql):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT SUM(fare_amount), currency FROM tickets GROUP BY currency",
     "SELECT currency, SUM(fare_amount) FROM tickets GROUP BY currency"),
    ("SELECT COUNT(*) AS n, t.currency AS cur FROM tickets t GROUP BY t.currency",
     "SELECT t.currency AS cur, COUNT(*) AS n FROM tickets AS t GROUP BY t.currency"),
    ("SELECT AVG(total_amount), channel, status FROM bookings GROUP BY channel, status",
     "SELECT channel, status, AVG(total_amount) FROM bookings GROUP BY channel, status"),
])
def test_keys_move_to_the_front_and_rows_stay_the_same(demo_db, sql, expected):
    out = grouping_columns_first(sql, "sqlite")
    assert out == expected
    before = Counter(tuple(sorted(map(str, r))) for r in rows(demo_db, sql))
    after = Counter(tuple(sorted(map(str, r))) for r in rows(demo_db, out))
    assert before == after


@pytest.mark.parametrize("sql", [
    "SELECT currency, SUM(fare_amount) FROM tickets GROUP BY currency",         # already first
    "SELECT COUNT(*) FROM tickets",                                             # not grouped
    "SELECT SUM(fare_amount), currency FROM tickets GROUP BY currency ORDER BY 1",  # ordinal ORDER BY
    "SELECT currency FROM tickets GROUP BY currency",                           # nothing else
    "not sql at all (",
])
def test_left_alone(sql):
    assert grouping_columns_first(sql, "sqlite") is None
