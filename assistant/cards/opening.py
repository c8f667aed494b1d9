"""Opening a card: its one template run through the guarded path, its rows made a `Card`, and what it
shows in words (`restatement`).
"""
from __future__ import annotations

import datetime as _dt
import time

from assistant.cards.card import Card, _safe
from assistant.cards.fill import _fill_flight, _fill_passenger, _fill_record, _records
from assistant.cards.request import CardRequest
from assistant.cards.templates import (
    _AIRCRAFT,
    _BAG,
    _BOOKING,
    _COUPON,
    _COUPON_FLIGHT,
    _FLIGHT,
    _PERSON,
    _SSR,
    _TEMPLATES,
    _TICKET,
    CardError,
    _catalog_has,
    _check_value,
    _literal,
    run_template,
)
from assistant.question.lang import detect_language

_WHAT = {
    "es": {"booking": "Ficha de la reserva {record_locator}: sus pasajeros, boletos, cupones, servicios especiales y "
                      "maletas",
           "ticket": "Ficha del boleto {ticket_number}: su reserva, su pasajero, sus cupones, servicios especiales y "
                     "maletas",
           "bag": "Ficha de la maleta {bag_tag}: su cupón, su pasajero, su boleto y su reserva",
           "flight": "Ficha del vuelo {flight} del {date}: horarios, estado, puerta, avión y cupones por cabina y "
                     "estado (sin lista de pasajeros)",
           "passenger": "Ficha del pasajero n.º {passenger_id}: sus datos, sus reservas y sus cupones"},
    "en": {"booking": "Record of booking {record_locator}: its passengers, tickets, coupons, special service requests "
                      "and bags",
           "ticket": "Record of ticket {ticket_number}: its booking, passenger, coupons, special service requests "
                     "and bags",
           "bag": "Record of bag {bag_tag}: its coupon, passenger, ticket and booking",
           "flight": "Record of flight {flight} on {date}: times, status, gate, aircraft and coupons by cabin and "
                     "status (no passenger list)",
           "passenger": "Record of passenger no. {passenger_id}: their details, bookings and coupons"},
}


def restatement(kind: str, key: dict, lang: str) -> str:
    """What a card shows, in words (the card's one query is a fixed template, not a question's SQL):
    audited with it and shown under it like any answer's restatement."""
    lang = "es" if lang == "es" else "en"
    tail = (", tal como los ve tu rol." if lang == "es" else ", as your role may see them.")
    return _WHAT[lang][kind].format(**{k: _safe(v) for k, v in key.items()}) + tail


def open_card(req: CardRequest, *, settings, catalog, role: str, user: str, question: str | None = None) -> Card:
    """Run the card's query (one for every kind) through the guarded path and build the Card.

    An identifier that matches nothing gives a card with found=False (its query is audited like any
    other). Raises SqlToolError subclasses (CardError for an identifier of the wrong shape, the guard's
    and executor's errors, AuditError, BulkExtractionRefused) with no database text in them."""
    started = time.perf_counter()
    _check_value(req.kind, req.value)
    if not _catalog_has(catalog, req.kind):
        raise CardError("this database's catalog lacks the tables this card reads", code="card_unavailable",
                        message_es="el catálogo de esta base de datos no tiene las tablas de esta ficha")
    lang = detect_language(question) if question else "es"
    t = _TEMPLATES[req.kind]
    values, key = _values(req)
    res = run_template(t, values, settings=settings, catalog=catalog, role=role, user=user, question=question,
                       describe=lambda _gr: restatement(req.kind, key, lang))
    records = _records(res.df)
    card = Card(kind=req.kind, lang=lang, key=key, sql=[res.sql], truncated=res.truncated,
                labels={lang: dict(words) for lang, words in _labels(catalog).items()},
                audit_ids=[res.audit_id] if res.audit_id is not None else [])
    if req.kind == "flight":
        _fill_flight(card, records)
    elif req.kind == "passenger":
        _fill_passenger(card, records)
    else:
        _fill_record(card, records)
    card.elapsed_ms = (time.perf_counter() - started) * 1000
    return card


def _values(req: CardRequest) -> tuple[dict, dict]:
    if req.kind == "booking":
        return {"locator": req.value}, {"record_locator": req.value}
    if req.kind == "ticket":
        return {"ticket": req.value}, {"ticket_number": req.value}
    if req.kind == "bag":
        return {"bag": req.value}, {"bag_tag": req.value}
    if req.kind == "passenger":
        return {"pid": req.value}, {"passenger_id": req.value}
    if req.day is None:
        raise CardError("a flight card needs the flight's date", code="invalid_identifier",
                        message_es="la ficha de un vuelo necesita la fecha del vuelo")
    _literal("date", req.day)
    carrier, number = req.value
    return ({"carrier": carrier, "number": number, "day": req.day, "next_day": req.day + _dt.timedelta(days=1)},
            {"flight": f"{carrier}{number}", "date": req.day.isoformat()})


# Labels: the catalog's descriptions, cut to their head ('Asiento (\'12A\'); NULL antes del check-in'
# -> 'Asiento', 'Número de cupón 1-4 dentro del boleto' -> 'Número de cupón').
_LABEL_SOURCES = {c.out: (c.table, c.column) for c in
                  _BOOKING + _PERSON + _TICKET + _COUPON + _COUPON_FLIGHT + _BAG + _SSR + _FLIGHT + _AIRCRAFT}
_LABEL_SOURCES["ticket_number"] = ("ticket_segments", "ticket_number")


_LABELS: dict[int, tuple[object, dict]] = {}


def _labels(catalog) -> dict:
    """Per language, a short label for each card field the catalog describes (read once per catalog)."""
    hit = _LABELS.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    out: dict = {"es": {}, "en": {}}
    for name, (table, column) in _LABEL_SOURCES.items():
        info = catalog.column(table, column)
        if info is None:
            continue
        for lang, words in out.items():
            label = info.short_label(lang)
            if label:
                words[name] = label
    if len(_LABELS) > 16:
        _LABELS.clear()
    _LABELS[id(catalog)] = (catalog, out)
    return out
