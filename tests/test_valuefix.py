"""A value compared with the wrong column of a reference table ('ES' against flights.destination, an
airport code) is re-pointed through the referenced table, checked on a real seeded database."""
from __future__ import annotations

import sqlite3

import pytest

from assistant.joinfix import JoinGraph
from assistant.valuefix import repoint_values
from db.schema import metadata

TEXT = {t.name: [c.name for c in t.columns if "CHAR" in str(c.type).upper() or "TEXT" in str(c.type).upper()]
        for t in metadata.sorted_tables}


@pytest.fixture(scope="module")
def graph() -> JoinGraph:
    columns = {t.name: [c.name for c in t.columns] for t in metadata.sorted_tables}
    fks = {t.name: {fk.parent.name: f"{fk.column.table.name}.{fk.column.name}" for fk in t.foreign_keys}
           for t in metadata.sorted_tables}
    return JoinGraph(columns, fks)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from seed_data.loaders import seed_database

    path = tmp_path_factory.mktemp("valuefix") / "demo.sqlite"
    seed_database(f"sqlite:///{path}", passengers=400, progress=False)
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def fetch_of(conn):
    return lambda sql, params: conn.execute(sql, params).fetchall()


@pytest.mark.parametrize(("model_sql", "correct_sql"), [
    ("SELECT COUNT(*) FROM flights f WHERE f.destination = 'ES'",
     "SELECT COUNT(*) FROM flights f JOIN airports a ON a.iata_code = f.destination WHERE a.country_code = 'ES'"),
    ("SELECT COUNT(*) FROM flights WHERE 'US' = origin AND status <> 'cancelled'",      # unqualified, reversed
     "SELECT COUNT(*) FROM flights f JOIN airports a ON a.iata_code = f.origin "
     "WHERE a.country_code = 'US' AND f.status <> 'cancelled'"),
])
def test_a_country_code_against_an_airport_column_is_re_pointed(graph, db, model_sql, correct_sql):
    fixed = repoint_values(model_sql, "sqlite", graph, TEXT, fetch_of(db))
    assert fixed is not None and "country_code" in fixed
    assert db.execute(model_sql).fetchall() == [(0,)]                  # the model's query answers 0
    assert db.execute(fixed).fetchall() == db.execute(correct_sql).fetchall() != [(0,)]


@pytest.mark.parametrize("sql", [
    "SELECT COUNT(*) FROM flights WHERE destination = 'MAD'",        # a real key: left alone
    "SELECT COUNT(*) FROM flights WHERE destination = 'ZZ'",         # in no column: nothing to guess
    "SELECT COUNT(*) FROM flights WHERE status = 'ES'",              # not a foreign key
    "SELEC nonsense",
])
def test_what_is_not_a_misplaced_value_is_left_alone(graph, db, sql):
    assert repoint_values(sql, "sqlite", graph, TEXT, fetch_of(db)) is None
