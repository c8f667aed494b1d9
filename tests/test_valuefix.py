"""Misplaced values in model SQL, checked on a real seeded database: a country code against an airport
column is re-pointed through airports; a status value on a table that never holds it moves to the one
table of the query that does."""
from __future__ import annotations

import sqlite3

import pytest

from assistant import rewrite as rules
from assistant.joinfix import JoinGraph
from assistant.rewrite import Context, apply


def repoint_values(sql, dialect, graph, text_columns, fetch):
    return apply(rules.repoint_values, sql, Context(dialect, graph=graph, text_columns=text_columns, fetch=fetch))


def move_values_to_their_table(sql, dialect, values, fetch):
    return apply(rules.move_values_to_their_table, sql, Context(dialect, stored_values=values, fetch=fetch))
from db.schema import metadata

TEXT = {t.name: [c.name for c in t.columns if "CHAR" in str(c.type).upper() or "TEXT" in str(c.type).upper()]
        for t in metadata.sorted_tables}


@pytest.fixture(scope="module")
def graph(join_graph) -> JoinGraph:
    return join_graph


@pytest.fixture(scope="module")
def db(small_demo_db):
    conn = sqlite3.connect(f"file:{small_demo_db}?mode=ro", uri=True)
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


STORED = {("tickets", "status"): ["exchanged", "open", "refunded", "used", "void"],
          ("ticket_segments", "status"): ["boarded", "booked", "cancelled", "checked_in", "flown", "no_show"],
          ("flights", "status"): ["arrived", "cancelled", "delayed", "scheduled"]}


def test_a_value_is_read_from_the_one_table_of_the_query_that_holds_it(db):

    model_sql = ("SELECT COUNT(DISTINCT t.passenger_id) FROM tickets t JOIN ticket_segments s ON s.ticket_number = "
                 "t.ticket_number JOIN flights f ON f.flight_id = s.flight_id WHERE f.origin = 'MEX' AND t.status = 'flown'")
    fixed = move_values_to_their_table(model_sql, "sqlite", STORED, fetch_of(db))
    assert fixed is not None and "s.status = 'flown'" in fixed
    assert db.execute(model_sql).fetchall() == [(0,)]
    assert db.execute(fixed).fetchall() == db.execute(model_sql.replace("t.status", "s.status")).fetchall() != [(0,)]


@pytest.mark.parametrize("sql", [
    "SELECT COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id WHERE f.status = 'cancelled'",
    "SELECT COUNT(*) FROM tickets t WHERE t.status = 'flown'",                # no other table of the query has it
    "SELECT COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id WHERE f.status = 'nope'",
])
def test_values_that_belong_where_they_are_or_nowhere_stay(db, sql):

    assert move_values_to_their_table(sql, "sqlite", STORED, fetch_of(db)) is None


def test_a_sampled_value_list_is_not_trusted_alone(db):
    # 'cancelled' is a real flights.status although the (sampled) list lacks it: the lookup keeps it there

    sampled = {**STORED, ("flights", "status"): ["arrived", "scheduled"]}
    sql = "SELECT COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = s.flight_id WHERE f.status = 'cancelled'"
    assert move_values_to_their_table(sql, "sqlite", sampled, fetch_of(db)) is None
