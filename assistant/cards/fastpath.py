"""Record-locator and ticket-number lookups answered by template queries, with no model call.

Only a *pure* lookup takes this path ("QX7K2M", "reserva qx7k2m", "show ticket 139-1234567890"): once
the identifier and lookup words are removed, nothing may remain. Anything more specific goes to the
model. Such a question almost always opens a record card first (`opening.open_card`); this path answers
the few pure look-ups a card does not take (a second, unresolved name-like hint beside the identifier:
"QX7K2M Detalles Info"). The queries are the cards' (`row_sql`, in the one package that holds record
templates, keyed on the catalog's identifiers), so a catalog without those cards has no fast path. The
template still runs through the guard, masking and audit like any other SQL, and answers are flagged
`fast_path` so accuracy figures can report them separately.
"""
from __future__ import annotations

import re

from assistant.cards.request import LOOKUP_WORDS
from assistant.cards.templates import _SHAPES, _catalog_has
from assistant.question.lang import fold

# The fast path's queries: a booking's or a ticket's coupons, the rows of its card
# (BOOKING_ROW_COLUMNS, TICKET_ROW_COLUMNS), for a pure look-up that opens no card.
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
_ROW_SQL = {"locator": ("booking", BOOKING_SQL), "ticket": ("ticket", TICKET_SQL)}
ROW_KINDS = frozenset(_ROW_SQL)      # the hint kinds `row_sql` has a query for


def row_sql(hint_kind: str, value, catalog) -> str | None:
    """The fast path's SQL for the booking or ticket `value` (a hint of kind `hint_kind`), or None when
    the catalog does not have that card (`_catalog_has`) or the value has not its kind's exact shape (the
    literal goes into the SQL)."""
    if hint_kind not in _ROW_SQL:
        return None
    card, sql = _ROW_SQL[hint_kind]
    value = str(value)
    if not _catalog_has(catalog, card) or not _SHAPES[hint_kind].fullmatch(value):
        return None
    return sql.format(value=value)


def template_sql(question: str, hints, catalog) -> str | None:
    """The template SQL when `question` is a pure locator/ticket lookup, else None."""
    ids = [h for h in hints if h.kind in ROW_KINDS and h.found]
    if len(ids) != 1:
        return None
    hint = ids[0]
    rest = fold(question.replace(hint.text, " "))
    words = re.findall(r"[a-z0-9#º]+", rest)
    if any(w not in LOOKUP_WORDS for w in words):
        return None
    return row_sql(hint.kind, hint.value, catalog)
