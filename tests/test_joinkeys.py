"""Joins written without ON get their conditions from the schema's foreign keys: the exact rewrites,
the two readings that are not guessed, what is left alone, and the same rows as the joins written
out by hand on real SQLite and PostgreSQL databases."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from assistant import rewrite as rules
from assistant.rewrite import Context, JoinUnclear, apply


def complete_joins(sql, dialect, graph):
    return apply(rules.complete_joins, sql, Context(dialect, graph=graph))


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT p.first_name FROM passengers p JOIN tickets t",
     "SELECT p.first_name FROM passengers AS p JOIN tickets AS t ON t.passenger_id = p.passenger_id"),
    # a table with no key to the ones before it waits for one that links it
    ("SELECT b.record_locator FROM bookings b JOIN passengers p JOIN tickets t",
     "SELECT b.record_locator FROM bookings AS b JOIN tickets AS t ON t.booking_id = b.booking_id "
     "JOIN passengers AS p ON p.passenger_id = t.passenger_id"),
    # a skipped bridge table is joined in (the bags reach their flights through their coupons)
    ("SELECT COUNT(*) FROM baggage b JOIN flights f WHERE f.origin = 'MEX'",
     "SELECT COUNT(*) FROM baggage AS b JOIN ticket_segments AS ts1 ON ts1.segment_id = b.segment_id "
     "JOIN flights AS f ON f.flight_id = ts1.flight_id WHERE f.origin = 'MEX'"),
    # every key to the tables before it
    ("SELECT 1 FROM passengers p JOIN bookings b ON 1 = 1 JOIN tickets t",
     "SELECT 1 FROM passengers AS p JOIN bookings AS b ON 1 = 1 JOIN tickets AS t "
     "ON t.passenger_id = p.passenger_id AND t.booking_id = b.booking_id"),
    # an explicit ON says which of two keys; the rest is completed around it
    ("SELECT a.name FROM flights f JOIN airports a ON a.iata_code = f.origin JOIN ticket_segments s",
     "SELECT a.name FROM flights AS f JOIN airports AS a ON a.iata_code = f.origin "
     "JOIN ticket_segments AS s ON s.flight_id = f.flight_id"),
    ("SELECT f.flight_number, COUNT(s.segment_id) FROM flights f LEFT JOIN ticket_segments s GROUP BY 1",
     "SELECT f.flight_number, COUNT(s.segment_id) FROM flights AS f LEFT JOIN ticket_segments AS s "
     "ON s.flight_id = f.flight_id GROUP BY 1"),
    ("SELECT n FROM (SELECT COUNT(*) AS n FROM special_service_requests r JOIN ticket_segments s) AS x",
     "SELECT n FROM (SELECT COUNT(*) AS n FROM special_service_requests AS r JOIN ticket_segments AS s "
     "ON s.segment_id = r.segment_id) AS x"),
])
def test_missing_conditions_come_from_the_keys(sql, expected, join_graph):
    assert complete_joins(sql, "sqlite", join_graph) == expected


def test_a_bridge_never_takes_an_alias_the_query_uses_later(join_graph):
    sql = ("SELECT COUNT(*) FROM baggage b JOIN flights f "
           "JOIN ticket_segments ts1 ON ts1.segment_id = b.segment_id")
    assert complete_joins(sql, "sqlite", join_graph) == (
        "SELECT COUNT(*) FROM baggage AS b JOIN ticket_segments AS ts2 ON ts2.segment_id = b.segment_id "
        "JOIN flights AS f ON f.flight_id = ts2.flight_id "
        "JOIN ticket_segments AS ts1 ON ts1.segment_id = b.segment_id")


@pytest.mark.parametrize(("sql", "says"), [
    ("SELECT a.name FROM flights f JOIN airports a",
     ["ON a.iata_code = f.origin", "ON a.iata_code = f.destination"]),
    ("SELECT 1 FROM airports a JOIN aircraft_types c", ["more than one way", "airports -> flights -> aircraft_types"]),
    ("SELECT 1 FROM flights f JOIN staff_accounts x", ["no reference links staff_accounts x"]),
])
def test_two_readings_are_not_guessed(sql, says, join_graph):
    with pytest.raises(JoinUnclear) as err:
        complete_joins(sql, "sqlite", join_graph)
    assert all(s in str(err.value) for s in says)


@pytest.mark.parametrize("sql", [
    "SELECT 1 FROM tickets t JOIN bookings b ON b.booking_id = t.booking_id",
    "SELECT 1 FROM tickets t CROSS JOIN bookings b",
    "SELECT 1 FROM tickets t, bookings b WHERE b.booking_id = t.booking_id",
    "SELECT 1 FROM tickets t JOIN bookings b USING (booking_id)",
    "SELECT COUNT(*) FROM flights",
    "SELECT 1 FROM",
])
def test_joins_with_conditions_are_left_as_written(sql, join_graph):
    assert complete_joins(sql, "sqlite", join_graph) is None


PAIRS = [
    ("SELECT COUNT(*) FROM baggage b JOIN ticket_segments s JOIN flights f WHERE f.origin = 'MEX'",
     "SELECT COUNT(*) FROM baggage b JOIN ticket_segments s ON s.segment_id = b.segment_id "
     "JOIN flights f ON f.flight_id = s.flight_id WHERE f.origin = 'MEX'"),
    ("SELECT COUNT(DISTINCT p.passenger_id) FROM passengers p JOIN flights f WHERE f.destination = 'CUN'",
     "SELECT COUNT(DISTINCT p.passenger_id) FROM passengers p JOIN tickets t ON t.passenger_id = p.passenger_id "
     "JOIN ticket_segments s ON s.ticket_number = t.ticket_number JOIN flights f ON f.flight_id = s.flight_id "
     "WHERE f.destination = 'CUN'"),
    ("SELECT b.channel, COUNT(*) FROM tickets t JOIN bookings b GROUP BY b.channel ORDER BY 1",
     "SELECT b.channel, COUNT(*) FROM tickets t JOIN bookings b ON b.booking_id = t.booking_id "
     "GROUP BY b.channel ORDER BY 1"),
]


def _same_rows(url: str, dialect: str, join_graph) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for bare, written in PAIRS:
                completed = complete_joins(bare, dialect, join_graph)
                got = conn.execute(sa.text(completed)).fetchall()
                assert got == conn.execute(sa.text(written)).fetchall(), completed
                assert got and got[0][-1] > 0
    finally:
        engine.dispose()


def test_same_rows_as_written_joins_on_sqlite(small_demo_db, join_graph):
    _same_rows(f"sqlite:///{small_demo_db}", "sqlite", join_graph)


@pytest.mark.postgres
def test_same_rows_as_written_joins_on_postgres(small_demo_pg, join_graph):
    _same_rows(small_demo_pg, "postgres", join_graph)               # the URL names psycopg2 (conftest)
