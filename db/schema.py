"""The passenger schema as SQLAlchemy Core metadata: the one definition the generator, the loaders,
the catalog checks and the tests share.

Names, types and enum values follow ``shared/design/passenger-schema.md`` (a contract: evaluation
questions are written against it). One column is added: ``passengers.search_name``, the full name
lower-cased and stripped of accents, so that name lookups are case- and accent-insensitive on both
engines with a plain index (PostgreSQL's ``unaccent`` is an extension we cannot count on).
Enumerations are CHECK constraints, so a database built here refuses values outside the contract.
"""
from __future__ import annotations

from sqlalchemy import (
    CHAR, REAL, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, MetaData, Numeric,
    Table, Text, UniqueConstraint,
)

ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("flights", "status"): ("scheduled", "boarding", "departed", "arrived", "delayed", "cancelled", "diverted"),
    ("passengers", "gender"): ("F", "M", "X"),
    ("passengers", "document_type"): ("passport", "national_id"),
    ("passengers", "loyalty_tier"): ("classic", "gold", "platinum", "titanium"),
    ("bookings", "channel"): ("web", "app", "call_center", "travel_agency", "airport"),
    ("bookings", "status"): ("confirmed", "ticketed", "cancelled", "refunded"),
    ("bookings", "currency"): ("MXN", "USD", "EUR"),
    ("tickets", "status"): ("open", "used", "void", "refunded", "exchanged"),
    ("tickets", "currency"): ("MXN", "USD", "EUR"),
    ("ticket_segments", "cabin"): ("economy", "premium", "business"),
    ("ticket_segments", "status"): ("booked", "checked_in", "boarded", "flown", "no_show", "cancelled"),
    ("baggage", "status"): ("checked", "loaded", "delivered", "delayed", "lost"),
    ("special_service_requests", "code"): ("WCHR", "WCHC", "VGML", "KSML", "UMNR", "PETC", "BLND", "DEAF", "MAAS"),
}

metadata = MetaData()


def _enum_check(table: str, column: str) -> CheckConstraint:
    values = ", ".join(f"'{v}'" for v in ENUMS[(table, column)])
    return CheckConstraint(f"{column} IN ({values})", name=f"ck_{table}_{column}")


airports = Table(
    "airports", metadata,
    Column("iata_code", CHAR(3), primary_key=True),
    Column("name", Text, nullable=False),
    Column("city", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("country_code", CHAR(2), nullable=False),
    Column("timezone", Text, nullable=False),
    Column("latitude", REAL, nullable=False),
    Column("longitude", REAL, nullable=False),
)

aircraft_types = Table(
    "aircraft_types", metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("seats_economy", Integer, nullable=False),
    Column("seats_premium", Integer, nullable=False),
    Column("seats_business", Integer, nullable=False),
)

flights = Table(
    "flights", metadata,
    Column("flight_id", Integer, primary_key=True, autoincrement=False),
    Column("carrier_code", CHAR(2), nullable=False),
    Column("flight_number", Integer, nullable=False),
    Column("origin", CHAR(3), ForeignKey("airports.iata_code"), nullable=False),
    Column("destination", CHAR(3), ForeignKey("airports.iata_code"), nullable=False),
    Column("scheduled_departure", DateTime, nullable=False),
    Column("scheduled_arrival", DateTime, nullable=False),
    Column("actual_departure", DateTime),
    Column("actual_arrival", DateTime),
    Column("status", Text, nullable=False),
    Column("aircraft_type", Text, ForeignKey("aircraft_types.code"), nullable=False),
    Column("gate", Text),
    _enum_check("flights", "status"),
    CheckConstraint("flight_number BETWEEN 1 AND 9999", name="ck_flights_flight_number"),
)

passengers = Table(
    "passengers", metadata,
    Column("passenger_id", Integer, primary_key=True, autoincrement=False),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("second_last_name", Text),
    Column("gender", CHAR(1), nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("nationality", CHAR(2), nullable=False),
    Column("email", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("document_type", Text, nullable=False),
    Column("document_number", Text, nullable=False),
    Column("frequent_flyer_number", Text),
    Column("loyalty_tier", Text),
    Column("created_at", DateTime, nullable=False),
    Column("search_name", Text, nullable=False),
    _enum_check("passengers", "gender"),
    _enum_check("passengers", "document_type"),
    _enum_check("passengers", "loyalty_tier"),
)

bookings = Table(
    "bookings", metadata,
    Column("booking_id", Integer, primary_key=True, autoincrement=False),
    Column("record_locator", CHAR(6), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("total_amount", Numeric(10, 2), nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("contact_email", Text),
    Column("contact_phone", Text),
    UniqueConstraint("record_locator", name="uq_bookings_record_locator"),
    _enum_check("bookings", "channel"),
    _enum_check("bookings", "status"),
    _enum_check("bookings", "currency"),
)

tickets = Table(
    "tickets", metadata,
    Column("ticket_number", CHAR(13), primary_key=True),
    Column("booking_id", Integer, ForeignKey("bookings.booking_id"), nullable=False),
    Column("passenger_id", Integer, ForeignKey("passengers.passenger_id"), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("fare_amount", Numeric(10, 2), nullable=False),
    Column("taxes_amount", Numeric(10, 2), nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("status", Text, nullable=False),
    _enum_check("tickets", "status"),
    _enum_check("tickets", "currency"),
)

ticket_segments = Table(
    "ticket_segments", metadata,
    Column("segment_id", Integer, primary_key=True, autoincrement=False),
    Column("ticket_number", CHAR(13), ForeignKey("tickets.ticket_number"), nullable=False),
    Column("flight_id", Integer, ForeignKey("flights.flight_id"), nullable=False),
    Column("coupon_number", Integer, nullable=False),
    Column("cabin", Text, nullable=False),
    Column("fare_class", CHAR(1), nullable=False),
    Column("seat", Text),
    Column("status", Text, nullable=False),
    Column("checked_in_at", DateTime),
    Column("boarding_group", Integer),
    _enum_check("ticket_segments", "cabin"),
    _enum_check("ticket_segments", "status"),
    CheckConstraint("coupon_number BETWEEN 1 AND 4", name="ck_ticket_segments_coupon_number"),
)

baggage = Table(
    "baggage", metadata,
    Column("bag_tag", Text, primary_key=True),
    Column("segment_id", Integer, ForeignKey("ticket_segments.segment_id"), nullable=False),
    Column("weight_kg", Numeric(4, 1), nullable=False),
    Column("status", Text, nullable=False),
    _enum_check("baggage", "status"),
)

special_service_requests = Table(
    "special_service_requests", metadata,
    Column("ssr_id", Integer, primary_key=True, autoincrement=False),
    Column("segment_id", Integer, ForeignKey("ticket_segments.segment_id"), nullable=False),
    Column("code", Text, nullable=False),
    Column("free_text", Text),
    _enum_check("special_service_requests", "code"),
)

staff_accounts = Table(
    "staff_accounts", metadata,
    Column("username", Text, primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
)

#: Tables in load order (parents before children).
TABLE_ORDER: tuple[str, ...] = (
    "airports", "aircraft_types", "flights", "passengers", "bookings", "tickets",
    "ticket_segments", "baggage", "special_service_requests", "staff_accounts",
)

#: Tables the assistant may ever see. ``staff_accounts`` is deliberately absent.
EXPOSED_TABLES: tuple[str, ...] = TABLE_ORDER[:-1]

# Indexes the lookups need. Created after loading (faster bulk loads).
INDEXES: tuple[Index, ...] = (
    Index("ix_flights_designator_departure", flights.c.carrier_code, flights.c.flight_number,
          flights.c.scheduled_departure),
    Index("ix_flights_departure", flights.c.scheduled_departure),
    Index("ix_flights_route", flights.c.origin, flights.c.destination, flights.c.scheduled_departure),
    Index("ix_passengers_search_name", passengers.c.search_name),
    Index("ix_passengers_last_name", passengers.c.last_name),
    Index("ix_tickets_booking", tickets.c.booking_id),
    Index("ix_tickets_passenger", tickets.c.passenger_id),
    Index("ix_segments_ticket", ticket_segments.c.ticket_number),
    Index("ix_segments_flight", ticket_segments.c.flight_id),
    Index("ix_baggage_segment", baggage.c.segment_id),
    Index("ix_ssr_segment", special_service_requests.c.segment_id),
)
# Detach from the tables so metadata.create_all() does not create them before the load.
for _ix in INDEXES:
    _ix.table.indexes.discard(_ix)
