"""Deciding whether a question is only a look-up of one record, and so opens a card: `card_request`.

Only a *pure* look-up opens a card ("QX7K2M", "reserva qx7k2m", "maleta 0139000001", "XA401 de hoy",
"pasajero José Pérez García"): once the identifier and look-up words are removed nothing may remain,
as in `fastpath`. Anything more specific goes to the model.
"""
from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass

from assistant.cards.templates import CardError, _catalog_has, _check_value, _literal
from assistant.question.lang import fold

KINDS = ("booking", "ticket", "bag", "flight", "passenger")
# The card each kind of linker hint opens: the catalog's identifier kinds, and a resolved person.
_HINT_KIND = {"locator": "booking", "ticket": "ticket", "bag": "bag", "flight": "flight", "passenger": "passenger"}

# The words a pure look-up of a booking or a ticket may carry besides its identifier (the fast path's).
_LOOKUP_WORDS = """
reserva reservación reservacion reservas booking bookings localizador pnr record locator clave de del la el
los las boleto boletos billete ticket tickets número numero no num nº # muestra muéstrame muestrame mostrar
show me find busca buscar búscame buscame look up lookup details detalles datos info información informacion
information about sobre for of the a please por favor dame give ver see consulta consultar código codigo
"""
LOOKUP_WORDS = frozenset(fold(w) for w in _LOOKUP_WORDS.split())
# Those of any card: plus bags, flights with a date ("XA401 de hoy", "flight XA401 on 2026-06-14") and
# people ("pasajero José Pérez", "datos de Ana Ruiz").
_MORE_WORDS = ("maleta maletas equipaje etiqueta bag bags tag luggage baggage vuelo vuelos flight flights on number "
               "pasajero pasajera passenger pax cliente customer persona person perfil profile ficha card tarjeta "
               # a person found by a contact or document ('pasaporte G12345678', 'correo ana@example.com')
               "pasaporte passport documento document ine identidad correo electrónico email e mail "
               "teléfono telefono tel phone celular móvil mobile contacto contact with con")
CARD_WORDS = LOOKUP_WORDS | frozenset(fold(w) for w in _MORE_WORDS.split())

# The marker `assistant.link` writes into the line of a name found only by fuzzy matching: a probable
# person is not a resolved one, so it does not open a card.
_FUZZY_MARK = " closest matches for "


# --------------------------------------------------------------------------------------------------
# Deciding: is this question only a look-up?

@dataclass(frozen=True)
class CardRequest:
    kind: str                        # 'booking' | 'ticket' | 'bag' | 'flight' | 'passenger'
    value: object                    # locator / ticket number / bag tag / (carrier, number) / passenger id
    text: str                        # the span as typed
    day: _dt.date | None = None      # the flight's date (UTC date of scheduled_departure)


def card_request(question: str, hints, *, catalog=None, role: str | None = None) -> CardRequest | None:
    """The card a question asks for when it is only a look-up, else None.

    `hints` are `assistant.link.Hint`s. Exactly one identifier, found in the database; a flight needs
    exactly one single-day date; a name must resolve to exactly one person (several are namesakes, a
    fuzzy match is only a guess). With `catalog`, a catalog lacking the card's tables gives None; with
    `role` too, so does a hint looked up by a column that role may not look records up by
    (`RolePolicy.may_look_up`: a name for an analyst), however it was made."""
    question = unicodedata.normalize("NFKC", question)    # as the linker read it
    ids = [h for h in hints if h.kind in _HINT_KIND]
    if len(ids) != 1 or not ids[0].found:
        return None
    hint = ids[0]
    if catalog is not None and role is not None and not _may_look_up_by(catalog, role, hint):
        return None
    kind = _HINT_KIND[hint.kind]
    dates = [h for h in hints if h.kind in ("date", "date_range")]
    removed = [hint.text]
    day = None
    if kind == "flight":
        if len(dates) != 1 or dates[0].kind != "date" or not isinstance(dates[0].value, _dt.date):
            return None
        day = dates[0].value
        removed.append(dates[0].text)
    if kind == "passenger" and (not isinstance(hint.value, tuple) or len(hint.value) != 1
                                or _FUZZY_MARK in f" {hint.line} "):
        return None
    if not _only_lookup_words(question, removed):
        return None
    if catalog is not None and not _catalog_has(catalog, kind):
        return None
    value = hint.value[0] if kind == "passenger" else hint.value
    try:
        _check_value(kind, value)
        if day is not None:
            _literal("date", day)
    except CardError:
        return None
    return CardRequest(kind=kind, value=value, text=hint.text, day=day)


def _may_look_up_by(catalog, role: str, hint) -> bool:
    """Every column the hint was looked up by (`Hint.via`) is one `role` may look records up by."""
    policy = catalog.role(role)
    for ref in getattr(hint, "via", ()) or ():
        info = catalog.column(*ref.split(".", 1))
        if info is None or not policy.may_look_up(info.pii):
            return False
    return True


def _only_lookup_words(question: str, spans: list[str]) -> bool:
    rest = question
    for s in spans:
        rest = rest.replace(s, " ")
    return all(w in CARD_WORDS for w in re.findall(r"[a-z0-9#º]+", fold(rest)))
