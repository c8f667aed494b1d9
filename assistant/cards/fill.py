"""A card template's rows folded back into the card: one wide query, one row per coupon x bag x SSR
(booking, ticket and bag cards), per coupon (passenger card), per flight, cabin and coupon status (flight
card).
"""
from __future__ import annotations

import datetime as _dt
import math

import pandas as pd

from assistant.cards.card import (
    BAG_ROW_COLUMNS,
    BOOKING_ROW_COLUMNS,
    FLIGHT_ROW_COLUMNS,
    PASSENGER_ROW_COLUMNS,
    TICKET_ROW_COLUMNS,
    Card,
    _day,
    _plain,
)
from assistant.cards.templates import (
    _AIRCRAFT,
    _BAG,
    _BOOKING,
    _COUPON,
    _COUPON_FLIGHT,
    _FLIGHT,
    _PERSON,
    _SSR,
    _TICKET,
    _cols,
)

_INT_FIELDS = frozenset({"booking_id", "passenger_id", "segment_id", "coupon_number", "flight_id", "flight_number",
                         "boarding_group", "ssr_id", "coupons", "seats_economy", "seats_premium", "seats_business"})


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain values: NaN/NaT -> None, integral floats of id/count columns -> int (a
    LEFT JOIN with no match turns an integer column into floats). Converted in one step
    (`to_numpy(dtype=object)`): pandas' row-wise access was a third of a card's time."""
    names = [str(c) for c in df.columns]
    return [{n: _cell(n, v) for n, v in zip(names, row)} for row in df.to_numpy(dtype=object).tolist()]


def _cell(name: str, v):
    if v is None or v is pd.NaT:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes, _dt.datetime)):
        v = v.item()                          # numpy scalars -> Python
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if name in _INT_FIELDS and v.is_integer():
            return int(v)
    return v


def _pick(rec: dict, cols) -> dict:
    return {c.out: _plain(rec[c.out]) for c in cols if c.out in rec}


def _unique(records: list[dict], key: str, cols) -> list[dict]:
    seen: dict = {}
    for r in records:
        k = r.get(key)
        if k is not None and k not in seen:
            seen[k] = _pick(r, cols)
    return list(seen.values())


def _coupons(records: list[dict]) -> list[dict]:
    """One dict per coupon with its flight, ordered by ticket and coupon number."""
    out = {}
    for r in records:
        sid = r.get("segment_id")
        if sid is None or sid in out:
            continue
        c = {**_pick(r, _COUPON), **_pick(r, _COUPON_FLIGHT), "ticket_number": r.get("ticket_number")}
        if "record_locator" in r:
            c["record_locator"] = r.get("record_locator")
        c["flight"] = f"{c.get('carrier_code')}{c.get('flight_number')}"
        c["date"] = _day(r.get("scheduled_departure"))
        out[sid] = c
    return sorted(out.values(), key=lambda c: (str(c.get("ticket_number")), c.get("coupon_number") or 0))


def _children(records: list[dict], key: str, cols, coupons: dict) -> list[dict]:
    """Bags or SSRs, each with the ticket, coupon and flight it hangs off."""
    out = _unique(records, key, cols)
    by_item = {r.get(key): r.get("segment_id") for r in records if r.get(key) is not None}
    for item in out:
        c = coupons.get(by_item.get(item[key]), {})
        item.update(segment_id=by_item.get(item[key]), ticket_number=c.get("ticket_number"),
                    coupon_number=c.get("coupon_number"), flight=c.get("flight"), date=c.get("date"))
    return sorted(out, key=lambda x: (str(x["ticket_number"]), x["coupon_number"] or 0, str(x[key])))


def _fill_record(card: Card, records: list[dict]) -> None:
    """Booking, ticket and bag cards: one wide query, one row per coupon x bag x SSR, folded back."""
    if not records:
        card.found = False
        return
    first = records[0]
    card.booking = _pick(first, _BOOKING)
    owner = {r["ticket_number"]: r["passenger_id"] for r in records if r.get("ticket_number") is not None}
    card.tickets = sorted(({**t, "passenger_id": owner[t["ticket_number"]]}
                           for t in _unique(records, "ticket_number", _TICKET)), key=lambda t: str(t["ticket_number"]))
    first_ticket = {}
    for t in card.tickets:
        first_ticket.setdefault(t["passenger_id"], str(t["ticket_number"]))
    card.passengers = sorted(_unique(records, "passenger_id", _PERSON),
                             key=lambda p: first_ticket.get(p["passenger_id"], ""))
    card.coupons = _coupons(records)
    by_segment = {c["segment_id"]: c for c in card.coupons}
    card.bags = _children(records, "bag_tag", _BAG, by_segment) if "bag_tag" in first else []
    card.ssrs = _children(records, "ssr_id", _SSR, by_segment) if "ssr_id" in first else []
    names = {p["passenger_id"]: p for p in card.passengers}
    rows = []
    for c in card.coupons:
        p = names.get(owner.get(c["ticket_number"]), {})
        rows.append({**c, "first_name": p.get("first_name"), "last_name": p.get("last_name"),
                     "status": c.get("coupon_status"), "record_locator": card.booking.get("record_locator"),
                     "scheduled_departure": _raw_departure(records, c["segment_id"])})
    b = card.booking
    if card.kind == "booking":
        card.rows = _frame(rows, BOOKING_ROW_COLUMNS)
        card.subject = {"table": "bookings", "key": "booking_id", "value": b["booking_id"],
                        "record_locator": b["record_locator"]}
    elif card.kind == "ticket":
        card.rows = _frame(rows, TICKET_ROW_COLUMNS)
        card.subject = {"table": "tickets", "key": "ticket_number", "value": card.key["ticket_number"],
                        "booking_id": b["booking_id"], "record_locator": b["record_locator"]}
    else:
        bag = card._the_bag() or {}
        mine = [dict(r, **{k: bag.get(k) for k in ("bag_tag", "weight_kg", "bag_status")})
                for r in rows if r["segment_id"] == bag.get("segment_id")]
        card.rows = _frame(mine, BAG_ROW_COLUMNS)
        card.subject = {"table": "baggage", "key": "bag_tag", "value": card.key["bag_tag"],
                        "segment_id": bag.get("segment_id"), "ticket_number": bag.get("ticket_number"),
                        "booking_id": b["booking_id"], "record_locator": b["record_locator"]}


def _fill_passenger(card: Card, records: list[dict]) -> None:
    if not records:
        card.found = False
        return
    card.passengers = [_pick(records[0], _PERSON)]
    card.tickets = [{**t, "passenger_id": card.key["passenger_id"]}
                    for t in _unique(records, "ticket_number", _TICKET)]
    card.coupons = sorted(_coupons(records), key=lambda c: (
        str(c.get("scheduled_departure")), str(c["ticket_number"]), c.get("coupon_number") or 0))
    booking_cols = _cols("b", "bookings", "booking_id record_locator status:booking_status")
    card.bookings = _unique(records, "booking_id", booking_cols)
    for b in card.bookings:
        b["coupons"] = sum(1 for c in card.coupons if c.get("record_locator") == b.get("record_locator"))
    rows = [{**c, "status": c.get("coupon_status"), "scheduled_departure": _raw_departure(records, c["segment_id"])}
            for c in card.coupons]
    card.rows = _frame(rows, PASSENGER_ROW_COLUMNS)
    card.subject = {"table": "passengers", "key": "passenger_id", "value": card.key["passenger_id"]}


def _fill_flight(card: Card, records: list[dict]) -> None:
    flights: dict = {}
    for r in records:
        fid = r.get("flight_id")
        fl = flights.get(fid)
        if fl is None:
            fl = flights[fid] = {**_pick(r, _FLIGHT), **_pick(r, _AIRCRAFT), "load": []}
            fl["flight"] = f"{fl['carrier_code']}{fl['flight_number']}"
            fl["date"] = _day(r.get("scheduled_departure"))
        if r.get("coupons"):
            fl["load"].append({"cabin": r.get("cabin"), "status": r.get("coupon_status"),
                               "coupons": int(r["coupons"])})
    card.flights = sorted(flights.values(), key=lambda fl: str(fl.get("scheduled_departure")))
    for fl in card.flights:
        fl["load"].sort(key=lambda x: (str(x["cabin"]), str(x["status"])))
    if not card.flights:
        card.found = False
        return
    load = [x for fl in card.flights for x in fl["load"]]
    card.rows = _frame(load, FLIGHT_ROW_COLUMNS)
    fl = card.flights[0]
    card.subject = {"table": "flights", "key": "flight_id", "value": fl["flight_id"], "flight": fl["flight"],
                    "date": card.key["date"]}


def _raw_departure(records: list[dict], segment_id):
    """The departure as the database returned it (rows compare with the fast path's, value for value)."""
    return next(r.get("scheduled_departure") for r in records if r.get("segment_id") == segment_id)


def _frame(rows: list[dict], columns) -> pd.DataFrame:
    return pd.DataFrame([[r.get(c) for c in columns] for r in rows], columns=list(columns))
