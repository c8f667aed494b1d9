"""The checks a model query passes before it runs (no database, no model)."""
from __future__ import annotations

import datetime as dt

import pytest

from assistant.checks import aggregated_identifiers, collapse_repetition, ignored_dates, repeats_itself
from assistant.question.link import Hint
from assistant.rewrite import parse


@pytest.mark.parametrize("text, loops", [
    ("SELECT a FROM t WHERE x = 1" + " AND y = 'z'" * 3, True),
    ("SELECT a FROM t WHERE x = 1" + " AND y = 'z'" * 2, False),      # twice is not a loop
    ("SELECT a, b, c FROM t" + " OR 1" * 5, False),                    # piece shorter than 10 characters
    ("SELECT 1" + " " * 60, False),                                    # blank
    ("SELECT code FROM special_service_requests WHERE code IN ('WCHR', 'WCHC') AND code <> 'WCHC'", False),
])
def test_repeats_itself(text, loops):
    assert repeats_itself(text) is loops


def test_collapse_repetition_keeps_one_copy():
    assert collapse_repetition("SELECT a FROM t WHERE x = 1" + " AND y = 'z'" * 5) == \
        "SELECT a FROM t WHERE x = 1 AND y = 'z'"


def test_ignored_dates():
    day = Hint("date", "hoy", dt.date(2026, 6, 15), "'hoy' = 2026-06-15")
    year = Hint("date_range", "in 2025", (dt.date(2025, 1, 1), dt.date(2026, 1, 1)), "'in 2025' = ...")
    assert ignored_dates("SELECT 1 FROM flights", [day, year]) == [day, year]
    assert ignored_dates("SELECT 1 FROM flights WHERE d >= '2026-06-15'", [day, year]) == [year]
    assert ignored_dates("SELECT 1 FROM flights WHERE date(d) = date('now')", [day, year]) == []
    assert ignored_dates("SELECT 1 FROM flights WHERE d LIKE '2025-%' AND e >= '2026-06-15'", [day, year]) == []


IDS = {"tickets": ["ticket_number", "booking_id", "passenger_id"], "bookings": ["booking_id", "record_locator"],
       "flights": ["flight_id", "flight_number"]}


@pytest.mark.parametrize(("sql", "found"), [
    ("SELECT AVG(tickets.ticket_number) FROM tickets", ["tickets.ticket_number"]),
    ("SELECT SUM(t.booking_id) FROM tickets AS t JOIN bookings b ON b.booking_id = t.booking_id",
     ["tickets.booking_id"]),
    ("SELECT AVG(DISTINCT flight_number) FROM flights", ["flights.flight_number"]),
    ("SELECT b.channel, (SELECT AVG(passenger_id) FROM tickets) FROM bookings b", ["tickets.passenger_id"]),
    # measures, counts and expressions are left alone
    ("SELECT AVG(fare_amount), SUM(taxes_amount) FROM tickets", []),
    ("SELECT COUNT(ticket_number), COUNT(DISTINCT booking_id) FROM tickets", []),
    ("SELECT COUNT(*) * 1.0 / COUNT(DISTINCT booking_id) FROM tickets", []),
    ("SELECT AVG(seats) FROM aircraft_types", []),
    ("not sql (", []),
])
def test_aggregated_identifiers(sql, found):
    assert aggregated_identifiers(parse(sql, "sqlite"), IDS) == found
