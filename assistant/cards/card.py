"""The card: one opened record, already masked for the role that asked, as plain data, and how it reads
(one sentence, plain text, the coupon and load tables, JSON).
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

# The columns of each kind of card's rows (`Card.rows`).
BOOKING_ROW_COLUMNS = ("record_locator", "first_name", "last_name", "ticket_number", "coupon_number", "carrier_code",
                       "flight_number", "origin", "destination", "scheduled_departure", "cabin", "seat", "status")
TICKET_ROW_COLUMNS = ("ticket_number", "first_name", "last_name", "record_locator", "coupon_number", "carrier_code",
                      "flight_number", "origin", "destination", "scheduled_departure", "cabin", "seat", "status")
BAG_ROW_COLUMNS = ("bag_tag", "weight_kg", "bag_status", "ticket_number", "first_name", "last_name", "coupon_number",
                   "carrier_code", "flight_number", "origin", "destination", "scheduled_departure")
PASSENGER_ROW_COLUMNS = ("record_locator", "ticket_number", "coupon_number", "carrier_code", "flight_number",
                         "origin",
                         "destination", "scheduled_departure", "cabin", "seat", "status")
FLIGHT_ROW_COLUMNS = ("cabin", "status", "coupons")


@dataclass
class Card:
    """One opened record, already masked for the role that asked. Plain data: the UI, the CLI's --json
    and follow-ups read it without touching the database again."""
    kind: str
    lang: str
    key: dict                                   # what was looked up: {'record_locator': 'QX7K2M'}, ...
    found: bool = True
    booking: dict | None = None
    passengers: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)
    coupons: list[dict] = field(default_factory=list)
    ssrs: list[dict] = field(default_factory=list)
    bags: list[dict] = field(default_factory=list)
    flights: list[dict] = field(default_factory=list)      # flight card: each with its 'load'
    bookings: list[dict] = field(default_factory=list)     # passenger card: each with its coupons
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    sql: list[str] = field(default_factory=list)
    subject: dict = field(default_factory=dict)
    truncated: bool = False
    labels: dict = field(default_factory=dict)             # {'es': {field: label}, 'en': {...}} from the catalog
    audit_ids: list[int] = field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def title(self) -> str:
        return self.heading(self.lang)

    def heading(self, lang: str) -> str:
        """'Reserva QX7K2M', 'Vuelo XA401 · 2026-06-15', a person's (masked) name."""
        w = _w(lang)
        k = self.key
        if self.kind == "booking":
            return f"{w['booking']} {k['record_locator']}"
        if self.kind == "ticket":
            return f"{w['ticket']} {k['ticket_number']}"
        if self.kind == "bag":
            return f"{w['bag']} {k['bag_tag']}"
        if self.kind == "flight":
            return f"{w['flight']} {k['flight']} · {k['date']}"
        if self.found and self.passengers:
            return _full_name(self.passengers[0])
        return f"{w['passenger']} {k['passenger_id']}"

    # ---- one line -------------------------------------------------------------------------------

    def sentence(self, lang: str | None = None) -> str:
        """One exact line built from the card's own data («Reserva QX7K2M: 2 pasajeros, 3 cupones,
        1 maleta.»). Agents' notes are never retold."""
        lang = lang or self.lang
        w = _w(lang)
        if not self.found:
            return w["not_found"][self.kind].format(**{k: v for k, v in self.key.items()})
        if self.kind == "flight":
            return self._flight_sentence(lang)
        if self.kind == "bag":
            return self._bag_sentence(lang)
        counts = []
        if self.kind == "booking":
            counts.append(_count(len(self.passengers), "passenger", lang))
        if self.kind == "passenger":
            counts.append(_count(len(self.bookings), "booking", lang))
        counts.append(_count(len(self.coupons), "coupon", lang))
        if self.kind != "passenger":
            counts.append(_count(len(self.bags), "bag", lang))   # booking and ticket cards
        if self.ssrs:
            counts.append(_count(len(self.ssrs), "ssr", lang))
        head = self.heading(lang)
        if self.kind == "ticket" and self.passengers:
            head += w["of"].format(who=_full_name(self.passengers[0]),
                                   locator=(self.booking or {}).get("record_locator", ""))
        return f"{head}: {', '.join(counts)}." + (" " + w["truncated"] if self.truncated else "")

    def _bag_sentence(self, lang: str) -> str:
        """«Maleta 0139000001 (delivered, 12.2 kg) de Jorge Velázquez en el XA401 del 2026-06-15, MEX→CUN
        (reserva IXY7AO).»"""
        w = _w(lang)
        bag = self._the_bag() or {}
        weight = f", {_num(bag['weight_kg'])} kg" if bag.get("weight_kg") is not None else ""
        coupon = next((c for c in self.coupons if c["segment_id"] == bag.get("segment_id")), {})
        who = _full_name(self.passengers[0]) if self.passengers else ""
        return (f"{self.heading(lang)} ({_human(bag.get('bag_status'))}{weight})"
                + w["bag_on"].format(who=who, flight=coupon.get("flight"), date=coupon.get("date"),
                                     route=f"{coupon.get('origin')}→{coupon.get('destination')}",
                                     locator=(self.booking or {}).get("record_locator", "")) + ".")

    def _flight_sentence(self, lang: str) -> str:
        """«Vuelo XA401 · 2026-06-15: MEX→CUN, arrived, 142 cupones (130 flown, 12 no show), puerta A12.»"""
        w = _w(lang)
        parts = []
        for fl in self.flights:
            by_status = _totals(fl["load"], "status")
            detail = ", ".join(f"{n} {_human(s)}" for s, n in by_status.items())
            parts.append(f"{fl['origin']}→{fl['destination']}, {_human(fl.get('flight_status'))}, "
                         f"{_count(sum(by_status.values()), 'coupon', lang)}" + (f" ({detail})" if detail else "")
                         + (f", {w['gate']} {fl['gate']}" if fl.get("gate") else ""))
        return f"{self.heading(lang)}: " + "; ".join(parts) + "."

    def _the_bag(self) -> dict | None:
        tag = self.key.get("bag_tag")
        return next((b for b in self.bags if b.get("bag_tag") == tag), None)

    # ---- plain text -----------------------------------------------------------------------------

    def text(self, lang: str | None = None) -> str:
        """The card as plain text for the terminal: header, passengers, coupons, SSRs, bags."""
        lang = lang or self.lang
        if not self.found:
            return self.sentence(lang)
        w = _w(lang)
        lab = self.labels.get(lang) or self.labels.get("en") or {}
        out = [self.heading(lang)]
        if self.kind == "flight":
            out += self._flight_text(lang)
        else:
            if self.booking and self.kind != "passenger":
                out.append("  " + _booking_line(self.booking, lab))
            if self.passengers:
                out.append("")
                out.append(f"{w['passengers']} ({len(self.passengers)})")
                for p in self.passengers:
                    out.append("  " + _person_line(p, lab, w))
                    for t in self.tickets:
                        if t.get("passenger_id") == p.get("passenger_id"):
                            out.append("    " + _ticket_line(t, lab, w))
            if self.kind == "passenger" and self.bookings:
                out.append("")
                out.append(f"{w['bookings']} ({len(self.bookings)})")
                for b in self.bookings:
                    bits = (b.get("record_locator"), _human(b.get("booking_status")))
                    out.append("  " + " · ".join(str(x) for x in bits if x))
            if self.coupons:
                out.append("")
                out.append(f"{w['coupons']} ({len(self.coupons)})")
                out += ["  " + line for line in _table(self.coupon_table(lang))]
            if self.ssrs:
                out.append("")
                out.append(f"{w['ssrs']} ({len(self.ssrs)})")
                for r in self.ssrs:
                    note = f" · {lab.get('free_text', 'note')}: {r['free_text']}" if r.get("free_text") else ""
                    out.append(f"  {r.get('code')} · {r.get('flight', '')} {r.get('date', '')} "
                               f"({w['ticket'].lower()} {r.get('ticket_number')}){note}")
            if self.bags:
                out.append("")
                out.append(f"{w['bags']} ({len(self.bags)})")
                for g in self.bags:
                    weight = f" · {_num(g['weight_kg'])} kg" if g.get("weight_kg") is not None else ""
                    out.append(f"  {g.get('bag_tag')}{weight} · {_human(g.get('bag_status'))} · "
                               f"{g.get('flight', '')} {g.get('date', '')} "
                               f"({w['ticket'].lower()} {g.get('ticket_number')})")
        if self.truncated:
            out += ["", w["truncated"]]
        return "\n".join(_printable(line) for line in out)

    def _flight_text(self, lang: str) -> list[str]:
        w = _w(lang)
        lab = self.labels.get(lang) or {}
        out = []
        for fl in self.flights:
            out.append(f"  {fl['origin']} → {fl['destination']} · {_human(fl.get('flight_status'))}"
                       + (f" · {lab.get('gate', 'gate')} {fl['gate']}" if fl.get("gate") else "")
                       + (f" · {fl.get('aircraft_name') or fl.get('aircraft_type')}"
                          if fl.get("aircraft_name") or fl.get("aircraft_type") else ""))
            for label, sched, actual in ((w["departure"], "scheduled_departure", "actual_departure"),
                                         (w["arrival"], "scheduled_arrival", "actual_arrival")):
                if fl.get(sched) or fl.get(actual):
                    out.append(f"  {label}: {fl.get(sched) or '—'} ({w['scheduled']})"
                               + (f", {fl[actual]} ({w['actual']})" if fl.get(actual) else "") + " UTC")
            out.append("")
            out.append(w["load"])
            out += ["  " + line for line in _table(self.load_table(fl, lang))]
        return out

    def coupon_table(self, lang: str) -> tuple[list[str], list[list[str]]]:
        """Headers and rows of the compact coupon table (text and UI share it)."""
        lab = self.labels.get(lang) or {}
        w = _w(lang)
        heads = [lab.get("ticket_number", w["ticket"]), lab.get("coupon_number", "#"), w["flight"], w["date"],
                 w["route"], lab.get("cabin", "cabin"), lab.get("seat", "seat"), lab.get("coupon_status", "status")]
        if self.kind == "passenger":
            heads.insert(0, w["booking"])
        rows = []
        for c in self.coupons:
            row = [c.get("ticket_number"), c.get("coupon_number"), c.get("flight"), c.get("date"),
                   f"{c.get('origin')}→{c.get('destination')}", c.get("cabin"), c.get("seat"),
                   _human(c.get("coupon_status"))]
            if self.kind == "passenger":
                row.insert(0, c.get("record_locator"))
            rows.append(["" if v is None else str(v) for v in row])
        return heads, rows

    def load_table(self, fl: dict, lang: str) -> tuple[list[str], list[list[str]]]:
        """A flight's load: one row per cabin with its coupons per status and, when known, its seats."""
        lab = self.labels.get(lang) or {}
        w = _w(lang)
        statuses = list(_totals(fl["load"], "status"))
        heads = [lab.get("cabin", "cabin"), *(_human(s) for s in statuses), w["total"], w["seats"]]
        rows = []
        for cabin in _totals(fl["load"], "cabin"):
            per = {x["status"]: x["coupons"] for x in fl["load"] if x["cabin"] == cabin}
            seats = fl.get(f"seats_{cabin}")
            rows.append([str(cabin), *(str(per.get(s, 0)) for s in statuses), str(sum(per.values())),
                         "" if seats is None else str(seats)])
        return heads, rows

    # ---- JSON -----------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-safe: dates as ISO text, numbers as numbers, NaN as null."""
        return {
            "kind": self.kind, "lang": self.lang, "title": self.title, "found": self.found, "key": _safe(self.key),
            "sentence": self.sentence(), "booking": _safe(self.booking), "passengers": _safe(self.passengers),
            "tickets": _safe(self.tickets), "coupons": _safe(self.coupons), "ssrs": _safe(self.ssrs),
            "bags": _safe(self.bags), "flights": _safe(self.flights), "bookings": _safe(self.bookings),
            "columns": [str(c) for c in self.rows.columns],
            "rows": [[_safe(v) for v in r] for r in self.rows.itertuples(index=False, name=None)],
            "sql": list(self.sql), "subject": _safe(self.subject), "truncated": self.truncated,
            "labels": self.labels, "audit_ids": list(self.audit_ids), "elapsed_ms": round(self.elapsed_ms, 2),
        }

    def subject_line(self) -> str:
        """One English line for a follow-up's prompt, in the linker's style: which record the
        conversation is on, as the filter that selects it ('' for a card that found nothing)."""
        s = self.subject
        if not s:
            return ""
        value = f"'{s['value']}'" if isinstance(s["value"], str) else s["value"]
        names = {"booking": f"booking {self.key.get('record_locator')}",
                 "ticket": f"ticket {self.key.get('ticket_number')}", "bag": f"bag {self.key.get('bag_tag')}",
                 "flight": f"flight {self.key.get('flight')} on {self.key.get('date')}",
                 "passenger": f"passenger {s['value']}"}
        also = "".join(f", {k} = {v!r}" if isinstance(v, str) else f", {k} = {v}"
                       for k, v in s.items() if k not in ("table", "key", "value") and v is not None)
        return f"the record on screen is {names[self.kind]} ({s['table']}.{s['key']} = {value}{also})"


# --------------------------------------------------------------------------------------------------
# Words and formatting

_WORDS = {
    "es": {"booking": "Reserva", "ticket": "Boleto", "bag": "Maleta", "flight": "Vuelo", "passenger": "Pasajero",
           "passengers": "Pasajeros", "coupons": "Cupones", "ssrs": "Servicios especiales", "bags": "Maletas",
           "bookings": "Reservas", "date": "Fecha", "route": "Ruta",
           "load": "Ocupación por cabina y estado del cupón",
           "total": "Total", "seats": "Asientos", "departure": "Salida", "arrival": "Llegada",
           "scheduled": "programada", "actual": "real", "gate": "puerta", "born": "nacido/a en",
           "of": " de {who} (reserva {locator})",
           "bag_on": " de {who} en el {flight} del {date}, {route} (reserva {locator})",
           "truncated": "La ficha está incompleta: se alcanzó el límite de filas de tu rol.",
           "not_found": {"booking": "No encontré la reserva {record_locator}.",
                         "ticket": "No encontré el boleto {ticket_number}.",
                         "bag": "No encontré la maleta {bag_tag}.",
                         "flight": "No encontré el vuelo {flight} del {date}.",
                         "passenger": "No encontré al pasajero {passenger_id}."},
           "nouns": {"passenger": ("pasajero", "pasajeros"), "coupon": ("cupón", "cupones"),
                     "bag": ("maleta", "maletas"), "booking": ("reserva", "reservas"),
                     "ssr": ("servicio especial", "servicios especiales")}},
    "en": {"booking": "Booking", "ticket": "Ticket", "bag": "Bag", "flight": "Flight", "passenger": "Passenger",
           "passengers": "Passengers", "coupons": "Coupons", "ssrs": "Special service requests", "bags": "Bags",
           "bookings": "Bookings", "date": "Date", "route": "Route", "load": "Load by cabin and coupon status",
           "total": "Total", "seats": "Seats", "departure": "Departure", "arrival": "Arrival",
           "scheduled": "scheduled", "actual": "actual", "gate": "gate", "born": "born",
           "of": " of {who} (booking {locator})",
           "bag_on": " of {who} on {flight} on {date}, {route} (booking {locator})",
           "truncated": "The card is incomplete: your role's row limit was reached.",
           "not_found": {"booking": "No booking {record_locator} was found.",
                         "ticket": "No ticket {ticket_number} was found.", "bag": "No bag {bag_tag} was found.",
                         "flight": "No flight {flight} on {date} was found.",
                         "passenger": "No passenger {passenger_id} was found."},
           "nouns": {"passenger": ("passenger", "passengers"), "coupon": ("coupon", "coupons"),
                     "bag": ("bag", "bags"), "booking": ("booking", "bookings"),
                     "ssr": ("special service request", "special service requests")}},
}


def _w(lang: str) -> dict:
    return _WORDS["es" if lang == "es" else "en"]


def _count(n: int, noun: str, lang: str) -> str:
    one, many = _w(lang)["nouns"][noun]
    return f"{n} {one if n == 1 else many}"


def _human(code) -> str:
    """A stored code as people read it ('checked_in' -> 'checked in'); the codes stay the schema's."""
    return "" if code is None else str(code).replace("_", " ")


def _printable(line: str) -> str:
    """A line safe for a terminal: control and format characters from the data (an escape sequence in
    an agent's note) become '?'."""
    return "".join("?" if unicodedata.category(ch)[0] == "C" else ch for ch in line)


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _money(v) -> str:
    return f"{v:,.2f}" if isinstance(v, (int, float)) else str(v)


def _full_name(p: dict) -> str:
    return " ".join(str(p[k]) for k in ("first_name", "last_name", "second_last_name") if p.get(k))


def _booking_line(b: dict, lab: dict) -> str:
    bits = [_human(b.get("booking_status")), _human(b.get("channel")), b.get("booking_created_at")]
    if b.get("total_amount") is not None:
        bits.append(f"{_money(b['total_amount'])} {b.get('booking_currency') or ''}".strip())
    contact = [b.get(k) for k in ("contact_email", "contact_phone") if b.get(k)]
    line = " · ".join(str(x) for x in bits if x)
    return line + (f" · {' · '.join(map(str, contact))}" if contact else "")


def _person_line(p: dict, lab: dict, w: dict) -> str:
    bits = [_full_name(p)]
    if p.get("document_number") or p.get("document_type"):
        bits.append(" ".join(str(x) for x in (_human(p.get("document_type")), p.get("document_number")) if x))
    if p.get("date_of_birth"):
        bits.append(f"{w['born']} {p['date_of_birth']}")
    for k in ("nationality", "loyalty_tier", "frequent_flyer_number", "email", "phone"):
        if p.get(k):
            bits.append(str(p[k]))
    return " · ".join(bits)


def _ticket_line(t: dict, lab: dict, w: dict) -> str:
    bits = [f"{w['ticket']} {t['ticket_number']}", _human(t.get("ticket_status"))]
    if t.get("fare_amount") is not None:
        taxes = f" + {_money(t['taxes_amount'])}" if t.get("taxes_amount") is not None else ""
        bits.append(f"{_money(t['fare_amount'])}{taxes} {t.get('ticket_currency') or ''}".strip())
    return " · ".join(b for b in bits if b)


def _table(table: tuple[list[str], list[list[str]]]) -> list[str]:
    heads, rows = table
    widths = [max(len(str(x)) for x in col) for col in zip(heads, *rows)]
    fmt = "  ".join(f"{{:<{n}}}" for n in widths)
    return [fmt.format(*heads).rstrip()] + [fmt.format(*r).rstrip() for r in rows]


def _totals(load: list[dict], key: str) -> dict:
    out: dict = {}
    for x in load:
        out[x[key]] = out.get(x[key], 0) + x["coupons"]
    return out


def _day(v) -> str | None:
    if v is None:
        return None
    return v.date().isoformat() if isinstance(v, _dt.datetime) else str(v)[:10]


def _plain(v):
    """Datetimes as 'YYYY-MM-DD HH:MM' (UTC, as stored), dates as ISO, numpy numbers as Python ones."""
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", v):
        return v[:16].replace("T", " ")
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def _safe(v):
    """A JSON-safe copy of card data."""
    if isinstance(v, dict):
        return {str(k): _safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_safe(x) for x in v]
    v = _plain(v)
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return None if not math.isfinite(v) else v
    return str(v)
