"""Day comparisons on timestamps (`date(col) = 'D'`, the short form the model is asked for) become
half-open ranges on the column: the same rows on real SQLite and PostgreSQL databases, and only for
columns the schema types as timestamps."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from assistant import rewrite as rules
from assistant.rewrite import Context, apply


def day_ranges(sql, dialect, timestamp_columns):
    return apply(rules.day_ranges, sql, Context(dialect, timestamp_columns=timestamp_columns))


def timestamp_differences(sql, dialect, timestamp_columns):
    return apply(rules.timestamp_differences, sql, Context(dialect, timestamp_columns=timestamp_columns))

TS = {"flights": {"scheduled_departure", "actual_departure"}, "bookings": {"created_at"},
      "tickets": {"issued_at"}}


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT COUNT(*) FROM flights f WHERE date(f.scheduled_departure) = '2026-06-15'",
     "SELECT COUNT(*) FROM flights AS f WHERE (f.scheduled_departure >= '2026-06-15' "
     "AND f.scheduled_departure < '2026-06-16')"),
    ("SELECT COUNT(*) FROM flights WHERE date(scheduled_departure) BETWEEN '2026-06-08' AND '2026-06-14'",
     "SELECT COUNT(*) FROM flights WHERE (scheduled_departure >= '2026-06-08' "
     "AND scheduled_departure < '2026-06-15')"),
    ("SELECT COUNT(*) FROM tickets t WHERE date(t.issued_at) <= '2026-12-31'",
     "SELECT COUNT(*) FROM tickets AS t WHERE t.issued_at < '2027-01-01'"),
    ("SELECT COUNT(*) FROM tickets t WHERE date(t.issued_at) > '2026-02-28'",
     "SELECT COUNT(*) FROM tickets AS t WHERE t.issued_at >= '2026-03-01'"),
    ("SELECT COUNT(*) FROM tickets t WHERE '2026-06-01' <= date(t.issued_at)",
     "SELECT COUNT(*) FROM tickets AS t WHERE t.issued_at >= '2026-06-01'"),
    ("SELECT COUNT(*) FROM flights WHERE scheduled_departure BETWEEN '2026-06-08' AND '2026-06-14'",
     "SELECT COUNT(*) FROM flights WHERE (scheduled_departure >= '2026-06-08' "
     "AND scheduled_departure < '2026-06-15')"),
    ("SELECT COUNT(*) FROM flights f WHERE f.scheduled_departure = '2026-06-14'",
     "SELECT COUNT(*) FROM flights AS f WHERE (f.scheduled_departure >= '2026-06-14' "
     "AND f.scheduled_departure < '2026-06-15')"),
    ("SELECT COUNT(*) FROM bookings WHERE CAST(created_at AS DATE) = '2026-06-15' OR status = 'x'",
     "SELECT COUNT(*) FROM bookings WHERE (created_at >= '2026-06-15' AND created_at < '2026-06-16') "
     "OR status = 'x'"),
])
def test_day_comparisons_become_ranges(sql, expected):
    assert day_ranges(sql, "sqlite", TS) == expected


@pytest.mark.parametrize("sql", [
    "SELECT COUNT(*) FROM bookings WHERE date(record_locator) = '2026-06-15'",      # not a timestamp
    "SELECT COUNT(*) FROM flights WHERE date(scheduled_departure, '+1 day') = '2026-06-15'",
    "SELECT COUNT(*) FROM flights WHERE date(scheduled_departure) = '2026-06-15 10:00'",
    "SELECT COUNT(*) FROM flights WHERE scheduled_departure >= '2026-06-15'",        # already a range
    "SELECT COUNT(*) FROM flights WHERE scheduled_departure BETWEEN '2026-06-08 06:00' AND '2026-06-14'",
    "SELECT COUNT(*) FROM flights WHERE flight_number BETWEEN 100 AND 200",
    "SELECT COUNT(*) FROM flights WHERE scheduled_departure = '2026-06-14 10:00:00'",
    "SELECT COUNT(*) FROM flights WHERE scheduled_departure < '2026-06-14'",
    "SELECT COUNT(*) FROM flights WHERE date(scheduled_departure) = date(actual_departure)",
    "SELECT COUNT(*) FROM flights f JOIN bookings b ON 1 = 1 WHERE date(created) = '2026-06-15'",
    "SELECT COUNT(* FROM",
])
def test_other_queries_are_left_alone(sql):
    assert day_ranges(sql, "sqlite", TS) is None


QUERIES = [
    "SELECT COUNT(*) FROM flights f WHERE date(f.scheduled_departure) = '{day}'",
    "SELECT COUNT(*) FROM flights f WHERE date(f.scheduled_departure) BETWEEN '{day}' AND '{later}'",
    "SELECT COUNT(*) FROM flights f WHERE date(f.scheduled_departure) <= '{day}'",
    "SELECT COUNT(*) FROM flights f WHERE date(f.scheduled_departure) > '{day}'",
    "SELECT COUNT(*) FROM flights f WHERE date(f.scheduled_departure) < '{day}'",
    "SELECT COUNT(*) FROM tickets t JOIN bookings b ON b.booking_id = t.booking_id "
    "WHERE date(b.created_at) >= '{day}' AND date(t.issued_at) <= '{later}'",
]


def _same_rows_both_forms(url: str, dialect: str) -> list[int]:
    from db.schema import metadata

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ts = {t.name: {c.name for c in t.columns if isinstance(c.type, (sa.DateTime, sa.Date))}
                  for t in metadata.sorted_tables}
            day = conn.execute(sa.text("SELECT MIN(scheduled_departure) FROM flights")).scalar()
            day = str(day)[:10]
            later = conn.execute(sa.text("SELECT MAX(scheduled_departure) FROM flights")).scalar()
            later = str(later)[:10]
            counts = []
            for template in QUERIES:
                original = template.format(day=day, later=later)
                rewritten = day_ranges(original, dialect, ts)
                assert rewritten and "DATE(" not in rewritten.upper(), rewritten
                a = conn.execute(sa.text(original)).scalar()
                b = conn.execute(sa.text(rewritten)).scalar()
                assert a == b, (original, rewritten)
                counts.append(a)
            return counts
    finally:
        engine.dispose()


def test_same_rows_on_sqlite(small_demo_db):
    url = f"sqlite:///{small_demo_db}"
    counts = _same_rows_both_forms(url, "sqlite")
    assert counts[0] > 0 and counts[1] > counts[0]       # the comparisons select rows, so they can differ


@pytest.mark.postgres
def test_same_rows_on_postgres(small_demo_pg):
    counts = _same_rows_both_forms(small_demo_pg, "postgres")       # the URL names psycopg2 (conftest)
    assert counts[0] > 0 and counts[1] > counts[0]


def test_a_difference_of_sqlite_timestamps_is_read_as_seconds(small_demo_db):
    url = f"sqlite:///{small_demo_db}"
    written = ("SELECT AVG(f.actual_departure - f.scheduled_departure) / 60 FROM flights f "
               "WHERE f.actual_departure > f.scheduled_departure AND f.flight_number - 1 > 0")
    rewritten = timestamp_differences(written, "sqlite", TS)
    assert rewritten == ("SELECT AVG((STRFTIME('%s', f.actual_departure) - STRFTIME('%s', f.scheduled_departure)))"
                         " / 60 FROM flights AS f WHERE f.actual_departure > f.scheduled_departure "
                         "AND f.flight_number - 1 > 0")                    # numbers are still subtracted
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        as_written = conn.execute(sa.text(written)).scalar()
        minutes = conn.execute(sa.text(rewritten)).scalar()
        by_julian_day = conn.execute(sa.text(
            "SELECT AVG((julianday(actual_departure) - julianday(scheduled_departure)) * 1440) FROM flights "
            "WHERE actual_departure > scheduled_departure")).scalar()
    engine.dispose()
    assert as_written == 0                        # the years' difference: what SQLite does with text
    assert minutes > 1 and abs(minutes - by_julian_day) < 1


@pytest.mark.parametrize(("sql", "dialect"), [
    ("SELECT AVG(actual_departure - scheduled_departure) FROM flights", "postgres"),   # an interval there
    ("SELECT flight_number - 100 FROM flights", "sqlite"),
    ("SELECT actual_departure - flight_number FROM flights", "sqlite"),
    ("SELECT strftime('%s', actual_departure) - strftime('%s', scheduled_departure) FROM flights", "sqlite"),
])
def test_other_differences_are_left_alone(sql, dialect):
    assert timestamp_differences(sql, dialect, TS) is None
