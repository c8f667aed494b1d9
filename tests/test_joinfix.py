"""The deterministic join repair: mis-joined model SQL is rewritten from the schema's foreign keys, and
the rewrite returns exactly what the correctly joined query returns on a real seeded database."""
from __future__ import annotations

import sqlite3
from collections import Counter

import pytest
import sqlalchemy as sa

from assistant.joinfix import JoinGraph, fix_joins


@pytest.fixture(scope="module")
def graph(join_graph) -> JoinGraph:
    return join_graph


def rows(db, sql) -> Counter:
    with sqlite3.connect(db) as conn:
        return Counter(conn.execute(sql).fetchall())


# (model's SQL, a correct query): the rewrite must return the same rows as the correct query.
CASES = [
    pytest.param(  # bridge through a skipped table, the condition moves out of the broken ON
        "SELECT COUNT(DISTINCT p.passenger_id) FROM passengers p JOIN ticket_segments s "
        "ON s.passenger_id = p.passenger_id WHERE s.cabin = 'business'",
        "SELECT COUNT(DISTINCT p.passenger_id) FROM passengers p JOIN tickets t ON t.passenger_id = "
        "p.passenger_id JOIN ticket_segments s ON s.ticket_number = t.ticket_number WHERE s.cabin = 'business'",
        id="segment-passenger"),
    pytest.param(  # two hops, from the FROM table
        "SELECT COUNT(DISTINCT b.passenger_id) FROM baggage b WHERE b.status = 'delayed'",
        "SELECT COUNT(DISTINCT t.passenger_id) FROM baggage bg JOIN ticket_segments s ON s.segment_id = "
        "bg.segment_id JOIN tickets t ON t.ticket_number = s.ticket_number WHERE bg.status = 'delayed'",
        id="baggage-passenger-two-hops"),
    pytest.param(  # the column is on another table of the query: re-point, no new join
        "SELECT t.coupon_number, f.flight_number FROM ticket_segments s JOIN flights f ON f.flight_id = "
        "s.flight_id JOIN tickets t ON t.ticket_number = s.ticket_number WHERE f.origin = 'MEX'",
        "SELECT s.coupon_number, f.flight_number FROM ticket_segments s JOIN flights f ON f.flight_id = "
        "s.flight_id WHERE f.origin = 'MEX'",
        id="re-point"),
    pytest.param(  # an alias the query never defined, one table has the column
        "SELECT t.scheduled_departure FROM flights f WHERE f.destination = 'CUN' ORDER BY 1 LIMIT 3",
        "SELECT scheduled_departure FROM flights WHERE destination = 'CUN' ORDER BY 1 LIMIT 3",
        id="undefined-alias"),
    pytest.param(  # one table, unqualified columns of another: the same bridge
        "SELECT origin, destination, COUNT(*) FROM ticket_segments WHERE status = 'flown' "
        "GROUP BY origin, destination",
        "SELECT f.origin, f.destination, COUNT(*) FROM ticket_segments s JOIN flights f ON f.flight_id = "
        "s.flight_id WHERE s.status = 'flown' GROUP BY f.origin, f.destination",
        id="single-table-unqualified"),
    pytest.param(  # bookings reached from a segment through tickets
        "SELECT b.record_locator FROM bookings b JOIN ticket_segments s ON b.booking_id = s.booking_id "
        "JOIN flights f ON f.flight_id = s.flight_id WHERE f.destination = 'MAD'",
        "SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id JOIN "
        "ticket_segments s ON s.ticket_number = t.ticket_number JOIN flights f ON f.flight_id = s.flight_id "
        "WHERE f.destination = 'MAD'",
        id="booking-through-tickets"),
    pytest.param(  # tickets and flights meet through the coupons: the junction replaces the condition
        "SELECT COUNT(*) FROM tickets t JOIN flights f ON f.flight_id = t.flight_id "
        "WHERE f.flight_number = 401 AND t.status = 'issued'",
        "SELECT COUNT(*) FROM tickets t JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
        "JOIN flights f ON f.flight_id = s.flight_id WHERE f.flight_number = 401 AND t.status = 'issued'",
        id="junction-ticket-flight"),
    pytest.param(  # the table without the column joined second, two junction tables, a condition kept
        "SELECT f.flight_number, b.record_locator FROM flights f JOIN bookings b ON b.flight_id = f.flight_id "
        "AND b.channel = 'app' WHERE f.origin = 'MEX'",
        "SELECT f.flight_number, b.record_locator FROM flights f JOIN ticket_segments s ON s.flight_id = "
        "f.flight_id JOIN tickets t ON t.ticket_number = s.ticket_number JOIN bookings b ON b.booking_id = "
        "t.booking_id AND b.channel = 'app' WHERE f.origin = 'MEX'",
        id="junction-two-tables"),
    pytest.param(  # the name a foreign key elsewhere gives this table's key (not a bridge to flights)
        "SELECT aircraft_type, name FROM aircraft_types WHERE seats_business > 20",
        "SELECT code, name FROM aircraft_types WHERE seats_business > 20",
        id="key-name"),
    pytest.param(  # in the join condition with the table whose foreign key has that name
        "SELECT COUNT(*) FROM flights f JOIN aircraft_types a ON a.aircraft_type = f.aircraft_type "
        "WHERE a.seats_business > 20 AND f.origin = 'MEX'",
        "SELECT COUNT(*) FROM flights f JOIN aircraft_types a ON a.code = f.aircraft_type "
        "WHERE a.seats_business > 20 AND f.origin = 'MEX'",
        id="key-name-in-join"),
]


@pytest.mark.parametrize(("model_sql", "correct_sql"), CASES)
def test_fixed_query_returns_the_correct_rows(graph, small_demo_db, model_sql, correct_sql):
    with pytest.raises(sqlite3.OperationalError):
        rows(small_demo_db, model_sql)                      # the model's query really is broken
    fixed = fix_joins(model_sql, "sqlite", graph)
    assert fixed is not None
    assert rows(small_demo_db, fixed) == rows(small_demo_db, correct_sql)
    assert sum(rows(small_demo_db, correct_sql).values()) > 0


def test_fixed_query_runs_on_postgresql(graph, schema_pg_url):
    fixed = fix_joins("SELECT COUNT(*) FROM passengers p JOIN ticket_segments s ON s.passenger_id = "
                      "p.passenger_id JOIN flights f ON f.flight_id = s.flight_id WHERE f.origin = 'MEX'",
                      "postgres", graph)
    assert "CROSS JOIN ticket_segments" in fixed and "JOIN tickets" in fixed
    engine = sa.create_engine(schema_pg_url)
    try:
        with engine.connect() as conn:            # PostgreSQL binds every ON to tables joined before it
            assert conn.execute(sa.text(fixed)).scalar() == 0
    finally:
        engine.dispose()


def test_correct_sql_is_left_alone(graph):
    assert fix_joins("SELECT s.cabin, COUNT(*) FROM ticket_segments s GROUP BY s.cabin", "sqlite", graph) is None
    assert fix_joins("SELECT cabin AS c FROM ticket_segments ORDER BY c", "sqlite", graph) is None


@pytest.mark.parametrize("sql", [
    "SELECT p.nonexistent FROM passengers p",                     # no table has it
    "SELECT nonexistent FROM passengers",                          # unqualified, nowhere
    "SELECT cabin FROM passengers p JOIN tickets t ON t.passenger_id = p.passenger_id",  # which table's?
    "SELECT s.passenger_id FROM passengers p LEFT JOIN ticket_segments s ON s.flight_id = 1",  # outer join
    "SELECT x FROM (SELECT 1 AS y) q",                             # derived table: not plain
    "SELECT b.passenger_id FROM bookings b",                       # bookings -> tickets multiplies rows
    "SELEC nonsense",
])
def test_what_it_cannot_fix_is_left_to_the_repair_call(graph, sql):
    assert fix_joins(sql, "sqlite", graph) is None


def test_ambiguous_paths_are_not_guessed():
    # two tables one hop away both carry `code`: no unique shortest path
    g = JoinGraph({"a": ["id", "b_id", "c_id"], "b": ["id", "code"], "c": ["id", "code"]},
                  {"a": {"b_id": "b.id", "c_id": "c.id"}})
    assert fix_joins("SELECT a.code FROM a", "sqlite", g) is None
    assert g.path_to_column("a", "code") is None
    assert g.path_to_column("b", "code") is None                  # b has no foreign keys to follow
