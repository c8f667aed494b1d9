"""The record templates (the queries a booking, a ticket, a bag, a flight and a passenger card are read
from) and running one through the guarded path with its literal checked.

Why pre-checked templates: the guard's parse and checks cost 10-20 ms per query while the database
answers in about 1 ms. A card runs fixed queries whose only variable part is one literal, so each
template is checked once per catalog, role and dialect with a placeholder literal of the exact shape,
and later runs reuse that `GuardResult` with the real literal put in its place. The literal is accepted
only when it matches its exact pattern (`[A-Z2-9]{6}`, `\\d{13}`, `\\d{10}`, a bounded integer, an
ISO date), so it cannot change what the checked statement means.

This module (with `fastpath`'s two row queries) is the one place that holds record templates (the
tables a booking, a ticket, a bag, a flight and a passenger are read from). They are keyed on the catalog: a card kind exists only where the
catalog declares the identifier the card is opened by (`Catalog.identifiers`; the passenger card: its
`subject`) on the column the template reads it from, and exposes every table the card needs; any other
catalog opens no card, and its look-ups go to the model.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import threading
from dataclasses import dataclass

from sql_tools.errors import SqlToolError

# What the catalog must declare for each card: the identifier it is opened by (the passenger card: the
# catalog's subject) on the table and columns the template reads it from.
_KEYED_BY = {"booking": ("locator", ("bookings", "record_locator")),
             "ticket": ("ticket", ("tickets", "ticket_number")),
             "bag": ("bag", ("baggage", "bag_tag")),
             "flight": ("flight", ("flights", "carrier_code", "flight_number")),
             "passenger": ("subject", ("passengers", "passenger_id"))}


class CardError(SqlToolError):
    """A card could not be opened (an identifier of the wrong shape, a catalog without the card's
    tables). Shown like any other SqlToolError."""

    code = "card_error"


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
