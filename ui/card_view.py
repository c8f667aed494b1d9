"""How a record card looks in the chat: a header with the locator or flight, the passengers as small
blocks, the coupons as a compact table with human headers, then special service requests and bags.

The card arrives as `Card.to_dict()` (plain, already masked data), so drawing it needs no database and
re-drawing the history on a rerun looks the same. Every value is shown as data: names and agents' notes
go into tables or escaped text, never into Markdown or HTML as written (a note may hold markup or
words addressed to a model). Labels of the schema's columns come from the catalog (`card['labels']`);
the few layout words are here, in both languages.
"""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

WORDS: dict[str, dict[str, str]] = {
    "booking": {"es": "Reserva", "en": "Booking"},
    "ticket": {"es": "Boleto", "en": "Ticket"},
    "bag": {"es": "Maleta", "en": "Bag"},
    "flight": {"es": "Vuelo", "en": "Flight"},
    "passenger": {"es": "Pasajero", "en": "Passenger"},
    "passengers": {"es": "Pasajeros", "en": "Passengers"},
    "coupons": {"es": "Cupones", "en": "Coupons"},
    "ssrs": {"es": "Servicios especiales", "en": "Special service requests"},
    "bags": {"es": "Maletas", "en": "Bags"},
    "bookings": {"es": "Reservas", "en": "Bookings"},
    "date": {"es": "Fecha", "en": "Date"},
    "route": {"es": "Ruta", "en": "Route"},
    "born": {"es": "nacido/a en", "en": "born"},
    "scheduled": {"es": "Programada", "en": "Scheduled"},
    "actual": {"es": "Real", "en": "Actual"},
    "departure": {"es": "Salida (UTC)", "en": "Departure (UTC)"},
    "arrival": {"es": "Llegada (UTC)", "en": "Arrival (UTC)"},
    "load": {"es": "Ocupación por cabina y estado del cupón", "en": "Load by cabin and coupon status"},
    "total": {"es": "Total", "en": "Total"},
    "seats": {"es": "Asientos", "en": "Seats"},
    "coupons_n": {"es": "cupones", "en": "coupons"},
    "none": {"es": "Sin cupones", "en": "No coupons"},
    "truncated": {"es": "La ficha está incompleta: se alcanzó el límite de filas de tu rol.",
                  "en": "The card is incomplete: your role's row limit was reached."},
    "direct": {"es": "ficha directa, sin modelo", "en": "record card, no model"},
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def w(key: str, lang: str) -> str:
    """A layout word in the UI language (KeyError for a missing one: a test finds it, not a user)."""
    return WORDS[key]["es" if lang == "es" else "en"]


def md_escape(value) -> str:
    """A value as literal Markdown text: no emphasis, links, HTML or headings from the data."""
    return _MD_SPECIAL.sub(r"\\\1", "" if value is None else str(value))


def heading(card: dict, lang: str) -> str:
    """'Reserva QX7K2M', 'Vuelo XA401 · 2026-06-15', or a person's (masked) name."""
    key, kind = card.get("key") or {}, card.get("kind")
    if kind == "booking":
        return f"{w('booking', lang)} {key.get('record_locator')}"
    if kind == "ticket":
        return f"{w('ticket', lang)} {key.get('ticket_number')}"
    if kind == "bag":
        return f"{w('bag', lang)} {key.get('bag_tag')}"
    if kind == "flight":
        return f"{w('flight', lang)} {key.get('flight')} · {key.get('date')}"
    people = card.get("passengers") or []
    return full_name(people[0]) if people else f"{w('passenger', lang)} {key.get('passenger_id')}"


def full_name(p: dict) -> str:
    return " ".join(str(p[k]) for k in ("first_name", "last_name", "second_last_name") if p.get(k))


def human(code) -> str:
    return "" if code is None else str(code).replace("_", " ")


def _label(card: dict, lang: str, name: str, default: str) -> str:
    return ((card.get("labels") or {}).get("es" if lang == "es" else "en") or {}).get(name) or default


def _line(*bits) -> str:
    return " · ".join(md_escape(b) for b in bits if b not in (None, ""))


def coupon_frame(card: dict, lang: str) -> pd.DataFrame:
    """The coupons as a compact table: ticket, coupon, flight, date, route, cabin, seat, status."""
    cols = [("ticket_number", _label(card, lang, "ticket_number", w("ticket", lang))),
            ("coupon_number", _label(card, lang, "coupon_number", "#")),
            ("flight", w("flight", lang)), ("date", w("date", lang)), ("route", w("route", lang)),
            ("cabin", _label(card, lang, "cabin", "cabin")), ("seat", _label(card, lang, "seat", "seat")),
            ("coupon_status", _label(card, lang, "coupon_status", "status"))]
    if card.get("kind") == "passenger":
        cols.insert(0, ("record_locator", w("booking", lang)))
    rows = []
    for c in card.get("coupons") or []:
        c = {**c, "route": f"{c.get('origin')} → {c.get('destination')}", "coupon_status": human(c.get("coupon_status"))}
        rows.append(["" if c.get(k) is None else str(c.get(k)) for k, _ in cols])
    return pd.DataFrame(rows, columns=[h for _, h in cols])


def load_frame(card: dict, flight: dict, lang: str) -> pd.DataFrame:
    """One row per cabin: coupons per status, their total and, when known, the cabin's seats."""
    statuses = list(dict.fromkeys(x["status"] for x in flight.get("load") or []))
    cabins = list(dict.fromkeys(x["cabin"] for x in flight.get("load") or []))
    rows = []
    for cabin in cabins:
        per = {x["status"]: x["coupons"] for x in flight["load"] if x["cabin"] == cabin}
        seats = flight.get(f"seats_{cabin}")
        rows.append([human(cabin), *(per.get(s, 0) for s in statuses), sum(per.values()),
                     "" if seats is None else seats])
    heads = [_label(card, lang, "cabin", "cabin"), *(human(s) for s in statuses), w("total", lang), w("seats", lang)]
    return pd.DataFrame(rows, columns=heads)


def _booking_caption(card: dict, lang: str) -> None:
    b = card.get("booking") or {}
    if not b or card.get("kind") == "passenger":
        return
    total = f"{b['total_amount']:,.2f} {b.get('booking_currency') or ''}".strip() \
        if isinstance(b.get("total_amount"), (int, float)) else None
    st.caption(_line(f"{w('booking', lang)} {b.get('record_locator')}", human(b.get("booking_status")),
                     human(b.get("channel")), b.get("booking_created_at"), total, b.get("contact_email"),
                     b.get("contact_phone")))


def _passengers(card: dict, lang: str) -> None:
    people = card.get("passengers") or []
    if not people:
        return
    st.markdown(f"**{md_escape(w('passengers', lang))}** ({len(people)})")
    tickets = card.get("tickets") or []
    for row_start in range(0, len(people), 3):
        cells = st.columns(3)
        for cell, p in zip(cells, people[row_start:row_start + 3]):
            with cell.container(border=True):
                st.markdown(f"**{md_escape(full_name(p))}**")
                doc = " ".join(str(x) for x in (human(p.get("document_type")), p.get("document_number")) if x)
                born = f"{w('born', lang)} {p['date_of_birth']}" if p.get("date_of_birth") else None
                st.caption(_line(doc, born, p.get("nationality"), p.get("loyalty_tier"),
                                 p.get("frequent_flyer_number"), p.get("email"), p.get("phone")))
                for t in tickets:
                    if t.get("passenger_id") == p.get("passenger_id"):
                        st.caption(_line(f"{w('ticket', lang)} {t.get('ticket_number')}", human(t.get("ticket_status"))))


def _children(card: dict, lang: str) -> None:
    ssrs, bags = card.get("ssrs") or [], card.get("bags") or []
    coupon = _label(card, lang, "coupon_number", "#")
    if ssrs:
        st.markdown(f"**{md_escape(w('ssrs', lang))}** ({len(ssrs)})")
        cols = [("code", _label(card, lang, "code", "SSR")), ("flight", w("flight", lang)), ("date", w("date", lang)),
                ("ticket_number", _label(card, lang, "ticket_number", w("ticket", lang))), ("coupon_number", coupon)]
        if any("free_text" in r for r in ssrs):
            cols.append(("free_text", _label(card, lang, "free_text", "note")))
        st.dataframe(pd.DataFrame([[r.get(k) for k, _ in cols] for r in ssrs], columns=[h for _, h in cols]),
                     hide_index=True)
    if bags:
        st.markdown(f"**{md_escape(w('bags', lang))}** ({len(bags)})")
        cols = [("bag_tag", _label(card, lang, "bag_tag", w("bag", lang))),
                ("weight_kg", _label(card, lang, "weight_kg", "kg")),
                ("bag_status", _label(card, lang, "bag_status", "status")), ("flight", w("flight", lang)),
                ("date", w("date", lang)), ("ticket_number", _label(card, lang, "ticket_number", w("ticket", lang)))]
        frame = pd.DataFrame([[human(g.get(k)) if k == "bag_status" else g.get(k) for k, _ in cols] for g in bags],
                             columns=[h for _, h in cols])
        st.dataframe(frame, hide_index=True)


def _flight(card: dict, lang: str) -> None:
    for fl in card.get("flights") or []:
        a, b, c = st.columns(3)
        a.metric(_label(card, lang, "flight_status", "status"), human(fl.get("flight_status")) or "—")
        b.metric(_label(card, lang, "gate", "gate"), fl.get("gate") or "—")
        c.metric(_label(card, lang, "aircraft_type", "aircraft"), fl.get("aircraft_type") or "—")
        st.caption(_line(f"{fl.get('origin')} → {fl.get('destination')}", fl.get("aircraft_name")))
        times = pd.DataFrame(
            [[w("departure", lang), fl.get("scheduled_departure"), fl.get("actual_departure")],
             [w("arrival", lang), fl.get("scheduled_arrival"), fl.get("actual_arrival")]],
            columns=["", w("scheduled", lang), w("actual", lang)]).fillna("—")
        st.dataframe(times, hide_index=True)
        st.markdown(f"**{md_escape(w('load', lang))}** · {sum(x['coupons'] for x in fl.get('load') or [])} "
                    f"{md_escape(w('coupons_n', lang))}")
        if fl.get("load"):
            st.dataframe(load_frame(card, fl, lang), hide_index=True)
        else:
            st.caption(md_escape(w("none", lang)))


def show_card(card: dict, ui_lang: str) -> None:
    """Draw one card (a `Card.to_dict()`) inside the current chat message."""
    st.subheader(heading(card, ui_lang), anchor=False)
    if not card.get("found", True):
        st.info(card.get("sentence") or "")
        return
    if card.get("kind") == "flight":
        _flight(card, ui_lang)
    else:
        _booking_caption(card, ui_lang)
        _passengers(card, ui_lang)
        if card.get("kind") == "passenger" and card.get("bookings"):
            st.caption(_line(f"{w('bookings', ui_lang)}:",
                             *(f"{b.get('record_locator')} ({human(b.get('booking_status'))})"
                               for b in card["bookings"])))
        if card.get("coupons"):
            st.markdown(f"**{md_escape(w('coupons', ui_lang))}** ({len(card['coupons'])})")
            st.dataframe(coupon_frame(card, ui_lang), hide_index=True)
        _children(card, ui_lang)
    if card.get("truncated"):
        st.info(w("truncated", ui_lang))
    st.caption(w("direct", ui_lang))
