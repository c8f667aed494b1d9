"""Relative and absolute dates, Spanish and English, against fixed 'today's (assistant/question/dates.py)."""
from __future__ import annotations

from datetime import date

import pytest

from assistant.question.dates import resolve_dates

MON = date(2026, 6, 15)  # the demo day, a Monday


def span(text: str, today: date = MON) -> tuple[str, str]:
    """The one date expression in `text` as (start, end-exclusive) ISO strings."""
    found = resolve_dates(text, today)
    assert len(found) == 1, f"{text!r}: {found}"
    return found[0].start.isoformat(), found[0].end.isoformat()


@pytest.mark.parametrize("text,expected", [
    ("vuelos de hoy cancelados", ("2026-06-15", "2026-06-16")),
    ("flights today", ("2026-06-15", "2026-06-16")),
    ("reservas de ayer", ("2026-06-14", "2026-06-15")),
    ("bookings made yesterday", ("2026-06-14", "2026-06-15")),
    ("qué pasó antier", ("2026-06-13", "2026-06-14")),
    ("vuelos de anteayer", ("2026-06-13", "2026-06-14")),
    ("the day before yesterday", ("2026-06-13", "2026-06-14")),
    ("¿a qué hora sale mañana el primer vuelo?", ("2026-06-16", "2026-06-17")),
    ("tomorrow's departures", ("2026-06-16", "2026-06-17")),
    ("vuelos de pasado mañana", ("2026-06-17", "2026-06-18")),
    ("the day after tomorrow", ("2026-06-17", "2026-06-18")),
    ("vuelos de esta mañana", ("2026-06-15", "2026-06-16")),
    ("la semana pasada", ("2026-06-08", "2026-06-15")),
    ("no-shows last week", ("2026-06-08", "2026-06-15")),
    ("esta semana", ("2026-06-15", "2026-06-22")),
    ("this week", ("2026-06-15", "2026-06-22")),
    ("la próxima semana", ("2026-06-22", "2026-06-29")),
    ("la semana que viene", ("2026-06-22", "2026-06-29")),
    ("next week", ("2026-06-22", "2026-06-29")),
    ("este mes", ("2026-06-01", "2026-07-01")),
    ("this month", ("2026-06-01", "2026-07-01")),
    ("boletos emitidos en lo que va del mes", ("2026-06-01", "2026-06-16")),
    ("so far this month", ("2026-06-01", "2026-06-16")),
    ("el mes pasado", ("2026-05-01", "2026-06-01")),
    ("last month", ("2026-05-01", "2026-06-01")),
    ("el próximo mes", ("2026-07-01", "2026-08-01")),
    ("next month", ("2026-07-01", "2026-08-01")),
    ("este año", ("2026-01-01", "2027-01-01")),
    ("this year", ("2026-01-01", "2027-01-01")),
    ("el año pasado", ("2025-01-01", "2026-01-01")),
    ("last year", ("2025-01-01", "2026-01-01")),
    ("en lo que va del año", ("2026-01-01", "2026-06-16")),
    ("en marzo", ("2026-03-01", "2026-04-01")),
    ("in March", ("2026-03-01", "2026-04-01")),
    ("in March 2025", ("2025-03-01", "2025-04-01")),
    ("marzo de 2026", ("2026-03-01", "2026-04-01")),
    ("vuelos de diciembre del 2025", ("2025-12-01", "2026-01-01")),
    ("in May 2026", ("2026-05-01", "2026-06-01")),
    ("in may", ("2026-05-01", "2026-06-01")),
    ("en 2026", ("2026-01-01", "2027-01-01")),
    ("coupons flown in 2025", ("2025-01-01", "2026-01-01")),
    ("el lunes pasado", ("2026-06-08", "2026-06-09")),
    ("last Monday", ("2026-06-08", "2026-06-09")),
    ("el viernes pasado", ("2026-06-12", "2026-06-13")),
    ("el próximo lunes", ("2026-06-22", "2026-06-23")),
    ("next Friday", ("2026-06-19", "2026-06-20")),
    ("hace 3 días", ("2026-06-12", "2026-06-13")),
    ("hace tres dias", ("2026-06-12", "2026-06-13")),
    ("3 days ago", ("2026-06-12", "2026-06-13")),
    ("a week ago", ("2026-06-08", "2026-06-09")),
    ("los últimos 7 días", ("2026-06-09", "2026-06-16")),
    ("the last 7 days", ("2026-06-09", "2026-06-16")),
    ("las últimas 2 semanas", ("2026-06-02", "2026-06-16")),
    ("los próximos 3 días", ("2026-06-15", "2026-06-18")),
    ("2026-06-20", ("2026-06-20", "2026-06-21")),
    ("el 20/06/2026", ("2026-06-20", "2026-06-21")),
    ("el 20-06-2026", ("2026-06-20", "2026-06-21")),
    ("el 5/7", ("2026-07-05", "2026-07-06")),
    ("el 20 de junio", ("2026-06-20", "2026-06-21")),
    ("el 20 de junio de 2025", ("2025-06-20", "2025-06-21")),
    ("June 20", ("2026-06-20", "2026-06-21")),
    ("June 20, 2025", ("2025-06-20", "2025-06-21")),
    ("on 3rd March", ("2026-03-03", "2026-03-04")),
    ("del 1 al 15 de junio", ("2026-06-01", "2026-06-16")),
    ("from June 1 to June 10", ("2026-06-01", "2026-06-11")),
    ("entre el 2026-06-01 y el 2026-06-03", ("2026-06-01", "2026-06-04")),
    ("desde el 1 de junio", ("2026-06-01", "2026-06-16")),
    ("el fin de semana pasado", ("2026-06-13", "2026-06-15")),
    ("este fin de semana", ("2026-06-20", "2026-06-22")),
])
def test_expressions_on_the_demo_monday(text, expected):
    assert span(text) == expected


def test_accents_and_case_do_not_matter():
    assert span("MAÑANA") == span("manana") == ("2026-06-16", "2026-06-17")
    assert span("La Semana Pasada") == ("2026-06-08", "2026-06-15")
    assert span("EN LO QUE VA DEL MES") == ("2026-06-01", "2026-06-16")


def test_manana_meaning_morning_is_not_tomorrow():
    assert resolve_dates("a las 10 de la mañana", MON) == []
    assert resolve_dates("vuelos por la mañana", MON) == []
    # 'mañana en la mañana': the first is tomorrow, the second the morning.
    found = resolve_dates("mañana en la mañana", MON)
    assert [(d.text, d.start.isoformat()) for d in found] == [("mañana", "2026-06-16")]


def test_month_and_year_boundaries():
    jan1 = date(2026, 1, 1)  # a Thursday
    assert span("yesterday", jan1) == ("2025-12-31", "2026-01-01")
    assert span("el mes pasado", jan1) == ("2025-12-01", "2026-01-01")
    assert span("last week", jan1) == ("2025-12-22", "2025-12-29")
    assert span("this week", jan1) == ("2025-12-29", "2026-01-05")
    assert span("el año pasado", jan1) == ("2025-01-01", "2026-01-01")
    dec31 = date(2025, 12, 31)
    assert span("mañana", dec31) == ("2026-01-01", "2026-01-02")
    assert span("next month", dec31) == ("2026-01-01", "2026-02-01")
    assert span("so far this month", dec31) == ("2025-12-01", "2026-01-01")
    mar1 = date(2024, 3, 1)  # leap year
    assert span("ayer", mar1) == ("2024-02-29", "2024-03-01")
    assert span("last month", mar1) == ("2024-02-01", "2024-03-01")
    assert span("hace 30 días", mar1) == ("2024-01-31", "2024-02-01")


def test_weekday_choices():
    # A bare weekday: today if it is today, else the most recent one, the next one when the question
    # speaks of the future.
    assert span("el lunes") == ("2026-06-15", "2026-06-16")
    assert span("vuelos del viernes") == ("2026-06-12", "2026-06-13")
    assert span("¿qué vuelos salen el viernes?") == ("2026-06-19", "2026-06-20")
    assert span("flights on Wednesday") == ("2026-06-10", "2026-06-11")
    sun = date(2026, 6, 21)
    assert span("last Sunday", sun) == ("2026-06-14", "2026-06-15")
    assert span("next Sunday", sun) == ("2026-06-28", "2026-06-29")
    assert span("la semana pasada", sun) == ("2026-06-08", "2026-06-15")


def test_last_named_month():
    assert span("el marzo pasado") == ("2026-03-01", "2026-04-01")
    assert span("last July") == ("2025-07-01", "2025-08-01")


def test_invalid_and_non_dates_are_ignored():
    for text in ("top 5 rutas", "3 boletos o mas", "el 31/02/2026", "vuelo 2026", "may I see the flights",
                 "50/50", "dame 10 pasajeros", "XA401 a Cancún", "ticket 139-1234567890", "June Smith"):
        assert resolve_dates(text, MON) == [], text


def test_several_dates_in_one_question():
    found = resolve_dates("compara ayer con la semana pasada", MON)
    assert [d.text for d in found] == ["ayer", "la semana pasada"]


def test_describe_line():
    d = resolve_dates("la semana pasada", MON)[0]
    assert d.describe() == "'la semana pasada': date(col) BETWEEN '2026-06-08' AND '2026-06-14'"
    d = resolve_dates("ayer", MON)[0]
    assert d.describe() == "'ayer': date(col) = '2026-06-14'"
