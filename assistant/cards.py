"""Record cards: a look-up of one record (a record locator, a ticket number, a bag tag, a flight with
its date, a passenger name that resolves to one person) opens a card with no model call.

Why a card and not a query: staff looking up a record want the whole record (the booking with its
passengers, tickets, coupons, special service requests and bags) in a layout they can read, not the
few columns a model happened to select. The card is still data the role may see: every query goes
through `sql_tools.service.run_checked` (read-only executor, bulk caps, masking per role, one audit
record each), and the columns a role may not read at all are simply not asked for.

Why pre-checked templates: the guard's parse and checks cost 10-20 ms per query while the database
answers in about 1 ms. A card runs fixed queries whose only variable part is one literal, so each
template is checked once per catalog, role and dialect with a placeholder literal of the exact shape,
and later runs reuse that `GuardResult` with the real literal put in its place. The literal is accepted
only when it matches its exact pattern (`[A-Z2-9]{6}`, `\\d{13}`, `\\d{10}`, a bounded integer, an
ISO date), so it cannot change what the checked statement means.

Only a *pure* look-up opens a card ("QX7K2M", "reserva qx7k2m", "maleta 0139000001", "XA401 de hoy",
"pasajero José Pérez García"): once the identifier and look-up words are removed nothing may remain,
as in `assistant.fastpath`. Anything more specific goes to the model.

This is the one module that holds record templates (the tables a booking, a ticket, a bag, a flight
and a passenger are read from). They are keyed on the catalog: a card kind exists only where the
catalog declares the identifier the card is opened by (`Catalog.identifiers`; the passenger card: its
`subject`) on the column the template reads it from, and exposes every table the card needs; any other
catalog opens no card, and its look-ups go to the model.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from assistant.lang import detect_language, fold
from sql_tools.errors import SqlToolError

KINDS = ("booking", "ticket", "bag", "flight", "passenger")
# The card each kind of linker hint opens: the catalog's identifier kinds, and a resolved person.
_HINT_KIND = {"locator": "booking", "ticket": "ticket", "bag": "bag", "flight": "flight", "passenger": "passenger"}
# What the catalog must declare for each card: the identifier it is opened by (the passenger card: the
# catalog's subject) on the table and columns the template reads it from.
_KEYED_BY = {"booking": ("locator", ("bookings", "record_locator")),
             "ticket": ("ticket", ("tickets", "ticket_number")),
             "bag": ("bag", ("baggage", "bag_tag")),
             "flight": ("flight", ("flights", "carrier_code", "flight_number")),
             "passenger": ("subject", ("passengers", "passenger_id"))}

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


class CardError(SqlToolError):
    """A card could not be opened (an identifier of the wrong shape, a catalog without the card's
    tables). Shown like any other SqlToolError."""

    code = "card_error"


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


# --------------------------------------------------------------------------------------------------
# The queries: column lists per table alias, and the FROM clause of each card kind.

@dataclass(frozen=True)
class _Col:
    alias: str
    table: str
    column: str
    out: str
    required: bool = False


def _cols(alias: str, table: str, spec: str) -> tuple[_Col, ...]:
    """'column[:out][!]' items: out defaults to the column, '!' marks a column the card cannot do without."""
    out = []
    for item in spec.split():
        req = item.endswith("!")
        item = item.rstrip("!")
        column, _, name = item.partition(":")
        out.append(_Col(alias, table, column, name or column, req))
    return tuple(out)


_BOOKING = _cols("b", "bookings", "booking_id! record_locator! status:booking_status channel "
                 "created_at:booking_created_at total_amount currency:booking_currency contact_email contact_phone")
_PERSON = _cols("p", "passengers", "passenger_id! first_name! last_name! second_last_name gender date_of_birth "
                "nationality email phone document_type document_number frequent_flyer_number loyalty_tier")
_TICKET = _cols("t", "tickets", "ticket_number! status:ticket_status issued_at fare_amount taxes_amount "
                "currency:ticket_currency")
_COUPON = _cols("s", "ticket_segments", "segment_id! coupon_number! cabin! fare_class seat! status:coupon_status! "
                "checked_in_at boarding_group")
_COUPON_FLIGHT = _cols("f", "flights", "flight_id! carrier_code! flight_number! origin! destination! "
                       "scheduled_departure! status:flight_status gate")
_BAG = _cols("g", "baggage", "bag_tag! weight_kg status:bag_status")
_SSR = _cols("r", "special_service_requests", "ssr_id! code! free_text")
_FLIGHT = _cols("f", "flights", "flight_id! carrier_code! flight_number! origin! destination! scheduled_departure! "
                "scheduled_arrival actual_departure actual_arrival status:flight_status! gate aircraft_type")
_AIRCRAFT = _cols("a", "aircraft_types", "name:aircraft_name seats_economy seats_premium seats_business")

_COUPONS_JOIN = ("LEFT JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
                 "LEFT JOIN flights f ON f.flight_id = s.flight_id")
_BAGS_JOIN = "LEFT JOIN baggage g ON g.segment_id = s.segment_id"
_SSRS_JOIN = "LEFT JOIN special_service_requests r ON r.segment_id = s.segment_id"


@dataclass(frozen=True)
class _Template:
    """One card query: its columns, FROM clause and WHERE with `{name}` placeholders; `optional` are
    (columns, join) pairs kept only when the catalog exposes that table to the role."""
    name: str
    columns: tuple[_Col, ...]
    from_: str
    where: str
    params: tuple[tuple[str, str], ...]          # (placeholder, value kind)
    optional: tuple[tuple[tuple[_Col, ...], str], ...] = ()


_RECORD_COLUMNS = _BOOKING + _PERSON + _TICKET + _COUPON + _COUPON_FLIGHT
_RECORD_OPTIONAL = ((_BAG, _BAGS_JOIN), (_SSR, _SSRS_JOIN))
# No ORDER BY: the guard always adds a LIMIT, and PostgreSQL plans an ORDER BY ... LIMIT over seven
# tables in twice the time it runs the query; the card sorts its few rows itself. For the same reason
# the bag card stays on the bag's own coupon (ten tables took 6 ms to plan, seven take 2).
_TEMPLATES = {
    "booking": _Template(
        "booking", _RECORD_COLUMNS,
        "bookings b LEFT JOIN tickets t ON t.booking_id = b.booking_id "
        "LEFT JOIN passengers p ON p.passenger_id = t.passenger_id " + _COUPONS_JOIN,
        "b.record_locator = {locator}", (("locator", "locator"),), _RECORD_OPTIONAL),
    "ticket": _Template(
        "ticket", _RECORD_COLUMNS,
        "tickets t JOIN bookings b ON b.booking_id = t.booking_id "
        "JOIN passengers p ON p.passenger_id = t.passenger_id " + _COUPONS_JOIN,
        "t.ticket_number = {ticket}", (("ticket", "ticket"),), _RECORD_OPTIONAL),
    "bag": _Template(
        "bag", _RECORD_COLUMNS + _BAG,
        "baggage g JOIN ticket_segments s ON s.segment_id = g.segment_id "
        "JOIN tickets t ON t.ticket_number = s.ticket_number JOIN bookings b ON b.booking_id = t.booking_id "
        "JOIN passengers p ON p.passenger_id = t.passenger_id JOIN flights f ON f.flight_id = s.flight_id",
        "g.bag_tag = {bag}", (("bag", "bag"),), ((_SSR, _SSRS_JOIN),)),
    "passenger": _Template(
        "passenger", _PERSON + _cols("b", "bookings", "booking_id record_locator status:booking_status")
        + _TICKET + _COUPON + _COUPON_FLIGHT,
        "passengers p LEFT JOIN tickets t ON t.passenger_id = p.passenger_id "
        "LEFT JOIN bookings b ON b.booking_id = t.booking_id " + _COUPONS_JOIN,
        "p.passenger_id = {pid}", (("pid", "id"),)),
}
# The flight card: the flight and its load by cabin and coupon status (counts, never a manifest).
_FLIGHT_TEMPLATE = _Template(
    "flight", _FLIGHT,
    "flights f LEFT JOIN ticket_segments s ON s.flight_id = f.flight_id",
    "f.carrier_code = {carrier} AND f.flight_number = {number} "
    "AND f.scheduled_departure >= {day} AND f.scheduled_departure < {next_day}",
    (("carrier", "carrier"), ("number", "flight_number"), ("day", "date"), ("next_day", "date")),
    ((_AIRCRAFT, "LEFT JOIN aircraft_types a ON a.code = f.aircraft_type"),))
_TEMPLATES["flight"] = _FLIGHT_TEMPLATE

_REQUIRED_TABLES = {
    "booking": ("bookings", "tickets", "passengers", "ticket_segments", "flights"),
    "ticket": ("bookings", "tickets", "passengers", "ticket_segments", "flights"),
    "bag": ("bookings", "tickets", "passengers", "ticket_segments", "flights", "baggage"),
    "flight": ("flights", "ticket_segments"),
    "passenger": ("bookings", "tickets", "passengers", "ticket_segments", "flights"),
}


def _catalog_has(catalog, kind: str) -> bool:
    """The catalog declares the card's identifier where the template reads it (`_KEYED_BY`), and every
    required column of the card's queries is an exposed catalog column."""
    t = _TEMPLATES[kind]
    key, where = _KEYED_BY[kind]
    declared = ((catalog.subject_table, catalog.subject_key) if key == "subject" else catalog.identifier(key))
    if tuple(declared or ()) != where:
        return False
    tables = catalog.exposed_tables
    if not all(name in tables for name in _REQUIRED_TABLES[kind]):
        return False
    return all(c.column in tables[c.table].columns for c in t.columns if c.required)


def _sql_text(t: _Template, catalog, role: str) -> str:
    """The template's SQL for `role`: columns the role may not read at all are left out (the guard
    would refuse them), optional tables the catalog does not expose are not joined."""
    policy = catalog.role(role)

    def readable(c: _Col) -> bool:
        info = catalog.column(c.table, c.column)
        return info is not None and policy.action(info.pii) != "hide"

    missing = [f"{c.table}.{c.column}" for c in t.columns if c.required and not readable(c)]
    if missing:
        raise CardError(f"this card needs {', '.join(missing)}, which the {role} role cannot read",
                        code="card_unavailable",
                        message_es=f"esta ficha necesita {', '.join(missing)}, que el rol {role} no puede leer")
    cols = [c for c in t.columns if readable(c)]
    joins = []
    for group, join in t.optional:
        keep = [c for c in group if readable(c)]
        if keep and all(readable(c) for c in group if c.required):
            cols += keep
            joins.append(join)
    select = ", ".join(f"{c.alias}.{c.column} AS {c.out}" if c.out != c.column else f"{c.alias}.{c.column}"
                       for c in cols)
    from_ = " ".join([t.from_, *joins])
    if t.name == "flight":   # the load: one row per flight, cabin and coupon status
        keys = ", ".join(f"{c.alias}.{c.column}" for c in cols)
        return (f"SELECT {select}, s.cabin, s.status AS coupon_status, COUNT(s.segment_id) AS coupons "
                f"FROM {from_} WHERE {t.where} GROUP BY {keys}, s.cabin, s.status")
    return f"SELECT {select} FROM {from_} WHERE {t.where}"


# --------------------------------------------------------------------------------------------------
# Literals: each value kind has an exact shape, and a placeholder of that shape for the one guard check.

_SHAPES = {
    "locator": re.compile(r"[A-Z2-9]{6}"),
    "ticket": re.compile(r"[0-9]{13}"),
    "bag": re.compile(r"[0-9]{10}"),
    "carrier": re.compile(r"[A-Z0-9]{2}"),
}
_PLACEHOLDERS = {"locator": "'ZZZZZZ'", "ticket": "'0000000000000'", "bag": "'0000000000'",
                 "carrier": "'Z9'", "flight_number": "9871", "id": "987654321987"}
_DATE_PLACEHOLDERS = ("'2099-12-30'", "'2099-12-31'")
_MAX_ID = 2 ** 62


def _literal(kind: str, value) -> str:
    """The SQL literal of `value`, or CardError when it does not have its kind's exact shape."""
    if kind in _SHAPES:
        if isinstance(value, str) and _SHAPES[kind].fullmatch(value):
            return f"'{value}'"
    elif kind in ("id", "flight_number"):
        top = 9999 if kind == "flight_number" else _MAX_ID
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= top:
            return str(value)
    elif kind == "date" and isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return f"'{value.isoformat()}'"
    raise CardError("that identifier does not have the expected shape, so it was not looked up",
                    code="invalid_identifier",
                    message_es="ese identificador no tiene la forma esperada, así que no se buscó")


def _check_value(kind: str, value) -> None:
    """CardError unless `value` has the exact shape of a `kind` card's identifier."""
    if kind == "flight":
        carrier, number = value if isinstance(value, tuple) and len(value) == 2 else (None, None)
        _literal("carrier", carrier)
        _literal("flight_number", number)
    else:
        _literal({"booking": "locator", "ticket": "ticket", "bag": "bag", "passenger": "id"}[kind], value)


# --------------------------------------------------------------------------------------------------
# Running a template: one guard check per (catalog, role, dialect, template), then run_checked.

_PREPARED: dict[tuple, tuple[object, object]] = {}       # key -> (catalog, GuardResult or None)
_PREPARED_LOCK = threading.Lock()


def _placeholders(t: _Template) -> dict[str, str]:
    dates = iter(_DATE_PLACEHOLDERS)
    return {name: next(dates) if kind == "date" else _PLACEHOLDERS[kind] for name, kind in t.params}


def _occurrences(sql: str, literal: str) -> int:
    return len(re.findall(rf"(?<![\w'.]){re.escape(literal)}(?![\w'.])", sql))


def _prepared(t: _Template, catalog, role: str, dialect: str):
    """The GuardResult of `t` checked with its placeholders, or None when it cannot be reused (the
    guard refused it, or a placeholder does not come out exactly once): the caller then runs the
    real SQL through the full guard, which also audits a refusal."""
    from sql_tools.guard import GuardRejection, check_sql

    key = (id(catalog), role, dialect, t.name)
    with _PREPARED_LOCK:
        hit = _PREPARED.get(key)
    if hit is not None and hit[0] is catalog:
        return hit[1]
    text = _sql_text(t, catalog, role)
    marks = _placeholders(t)
    try:
        gr = check_sql(text.format(**marks), catalog=catalog, dialect=dialect, role=role)
    except GuardRejection:
        gr = None
    if gr is not None and not all(_occurrences(gr.sql_out, m) == 1 for m in marks.values()):
        gr = None
    with _PREPARED_LOCK:
        if len(_PREPARED) > 256:
            _PREPARED.clear()
        _PREPARED[key] = (catalog, gr)   # the catalog is kept alive so its id() stays its own
    return gr


def run_template(t: _Template, values: dict, *, settings, catalog, role: str, user: str, question: str | None,
                 describe=None):
    """Run one card query through the guarded path (masking, caps, audit) and return the GuardedResult.

    The values are validated against their exact shapes first; the pre-checked GuardResult then gets
    the real literals in place of its placeholders (sql_in and sql_out both, so the audit record shows
    what ran)."""
    from db.engines import dialect_of
    from sql_tools.service import run_checked, run_guarded

    literals = {name: _literal(kind, values[name]) for name, kind in t.params}
    sql = _sql_text(t, catalog, role).format(**literals)
    gr = _prepared(t, catalog, role, dialect_of(settings.database_url))
    if gr is None:
        return run_guarded(sql, settings=settings, catalog=catalog, role=role, user=user, question=question,
                           describe=describe)
    out = gr.sql_out
    for name, mark in _placeholders(t).items():
        out = re.sub(rf"(?<![\w'.]){re.escape(mark)}(?![\w'.])", lambda _m, v=literals[name]: v, out)
    return run_checked(dataclasses.replace(gr, sql_in=sql, sql_out=out), settings=settings, catalog=catalog,
                       user=user, question=question, describe=describe)


# --------------------------------------------------------------------------------------------------
# The card

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

# The fast path's queries (`assistant.fastpath`): a booking's or a ticket's coupons, the rows of its card
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


_INT_FIELDS = frozenset({"booking_id", "passenger_id", "segment_id", "coupon_number", "flight_id", "flight_number",
                         "boarding_group", "ssr_id", "coupons", "seats_economy", "seats_premium", "seats_business"})


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
# Opening a card

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
