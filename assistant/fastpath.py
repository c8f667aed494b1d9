"""Record-locator and ticket-number lookups answered by template queries, with no model call.

Only a *pure* lookup takes this path ("QX7K2M", "reserva qx7k2m", "show ticket 139-1234567890"): once
the identifier and lookup words are removed, nothing may remain. Anything more specific goes to the
model. The template still runs through the guard, masking and audit like any other SQL, and answers
are flagged `fast_path` so accuracy figures can report them separately.
"""
from __future__ import annotations

import re

from assistant.lang import fold

_LOOKUP_WORDS = frozenset(fold(w) for w in """
reserva reservación reservacion reservas booking bookings localizador pnr record locator clave de del la el
los las boleto boletos billete ticket tickets número numero no num nº # muestra muéstrame muestrame mostrar
show me find busca buscar búscame buscame look up lookup details detalles datos info información informacion
information about sobre for of the a please por favor dame give ver see consulta consultar código codigo
""".split())

BOOKING_SQL = (
    "SELECT b.record_locator, p.first_name, p.last_name, t.ticket_number, s.coupon_number, f.carrier_code, "
    "f.flight_number, f.origin, f.destination, f.scheduled_departure, s.cabin, s.seat, s.status "
    "FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
    "JOIN passengers p ON p.passenger_id = t.passenger_id "
    "JOIN ticket_segments s ON s.ticket_number = t.ticket_number JOIN flights f ON f.flight_id = s.flight_id "
    "WHERE b.record_locator = '{value}' ORDER BY t.ticket_number, s.coupon_number")
TICKET_SQL = (
    "SELECT t.ticket_number, p.first_name, p.last_name, b.record_locator, s.coupon_number, f.carrier_code, "
    "f.flight_number, f.origin, f.destination, f.scheduled_departure, s.cabin, s.seat, s.status "
    "FROM tickets t JOIN bookings b ON b.booking_id = t.booking_id "
    "JOIN passengers p ON p.passenger_id = t.passenger_id "
    "JOIN ticket_segments s ON s.ticket_number = t.ticket_number JOIN flights f ON f.flight_id = s.flight_id "
    "WHERE t.ticket_number = '{value}' ORDER BY s.coupon_number")
_SAFE = {"record_locator": re.compile(r"[A-Z2-9]{6}"), "ticket_number": re.compile(r"\d{13}")}
_TEMPLATES = {"record_locator": BOOKING_SQL, "ticket_number": TICKET_SQL}


def template_sql(question: str, hints) -> str | None:
    """The template SQL when `question` is a pure locator/ticket lookup, else None."""
    ids = [h for h in hints if h.kind in _TEMPLATES and h.found]
    if len(ids) != 1:
        return None
    hint = ids[0]
    rest = fold(question.replace(hint.text, " "))
    words = re.findall(r"[a-z0-9#º]+", rest)
    if any(w not in _LOOKUP_WORDS for w in words):
        return None
    value = str(hint.value)
    if not _SAFE[hint.kind].fullmatch(value):   # the literal goes into SQL: accept only its exact shape
        return None
    return _TEMPLATES[hint.kind].format(value=value)
