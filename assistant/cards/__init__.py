"""Record cards: a look-up of one record (a record locator, a ticket number, a bag tag, a flight with
its date, a passenger name that resolves to one person) opens a card with no model call.

Why a card and not a query: staff looking up a record want the whole record (the booking with its
passengers, tickets, coupons, special service requests and bags) in a layout they can read, not the
few columns a model happened to select. The card is still data the role may see: every query goes
through `sql_tools.service.run_checked` (read-only executor, bulk caps, masking per role, one audit
record each), and the columns a role may not read at all are simply not asked for.

Only a *pure* look-up opens a card ("QX7K2M", "reserva qx7k2m", "maleta 0139000001", "XA401 de hoy",
"pasajero José Pérez García"): once the identifier and look-up words are removed nothing may remain,
as in `fastpath`. Anything more specific goes to the model.

The package, a module per step:

- request: whether a question is only a look-up (`card_request`, `CardRequest`, the look-up words);
- templates: the record templates, keyed on the catalog, and running one guarded (`run_template`:
  literals of an exact shape, one guard check per catalog, role, dialect and template);
- opening: `open_card` (one template run, its rows made a card) and its `restatement`;
- fill: a template's rows folded back into a card (booking, ticket and bag; passenger; flight);
- card: the `Card` (its sentence, text, tables and JSON) and the words it is written in;
- fastpath: the row queries of a pure booking or ticket look-up that opens no card (`template_sql`).
"""
from __future__ import annotations

from assistant.cards.card import (
    BAG_ROW_COLUMNS,
    BOOKING_ROW_COLUMNS,
    FLIGHT_ROW_COLUMNS,
    PASSENGER_ROW_COLUMNS,
    TICKET_ROW_COLUMNS,
    Card,
)
from assistant.cards.fastpath import BOOKING_SQL, ROW_KINDS, TICKET_SQL, row_sql, template_sql
from assistant.cards.opening import open_card, restatement
from assistant.cards.request import CARD_WORDS, KINDS, LOOKUP_WORDS, CardRequest, card_request
from assistant.cards.templates import CardError, run_template

__all__ = [
    "BAG_ROW_COLUMNS", "BOOKING_ROW_COLUMNS", "BOOKING_SQL", "CARD_WORDS", "FLIGHT_ROW_COLUMNS", "KINDS",
    "LOOKUP_WORDS", "PASSENGER_ROW_COLUMNS", "ROW_KINDS", "TICKET_ROW_COLUMNS", "TICKET_SQL", "Card", "CardError",
    "CardRequest", "card_request", "open_card", "restatement", "row_sql", "run_template", "template_sql",
]
