"""Deterministic demo data for the passenger schema (``db.schema``).

``generate()`` yields ``(table_name, rows)`` in ``TABLE_ORDER``; rows are tuples in the table's column
order, already rendered the way both engines accept them (timestamps 'YYYY-MM-DD HH:MM:SS' in naive UTC,
dates 'YYYY-MM-DD', money as '123.45' strings). Why strings: they are exact, they are what a COPY stream
needs anyway, and they make "same seed, same bytes" trivially true.

Determinism: every random choice comes from ``random.Random`` instances seeded from (seed, purpose)
strings (string seeds are hashed with SHA-512 by the stdlib, not with ``hash()``); no set or dict
iteration order decides anything; unique codes (record locators, ticket numbers, tags) come from
bijections of a running counter, not from retry loops.

Streaming: passengers are produced lazily; the booking pass produces each booking together with its
tickets, coupons, bags and SSRs, yields the booking row and spools the children to temporary files
(marshal batches) that are replayed afterwards. Memory stays small at a million passengers.
Consume each table's rows completely before asking for the next table (the loaders do).

The passes, each its own module: `flights`, `passengers`, `bookings` (tickets, coupons, bags, SSRs),
`staff`; the period and sizes are in `sizes`, the shared draws in `draws`, the SSR notes in `notes`,
airports and the schedule in `reference`, names in `names`.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from seed_data.bookings import BookingPass
from seed_data.flights import make_flights
from seed_data.passengers import PassengerInfo, passenger_rows
from seed_data.reference import AIRCRAFT_TYPES, airports
from seed_data.sizes import DEFAULT_TODAY, Counts, check_size, check_today
from seed_data.staff import staff_rows


def generate(passengers: int = 5000, seed: int = 42, today: date = DEFAULT_TODAY,
             counts: Counts | None = None) -> Iterator[tuple[str, Iterable[tuple]]]:
    """Yield ``(table, rows)`` for every table of ``db.schema.TABLE_ORDER``, parents first.

    Same (passengers, seed, today) -> the same rows, byte for byte. ``counts`` (optional) is filled
    with the number of rows produced per table as they are consumed.
    """
    check_size(passengers)
    check_today(today)
    counts = counts if counts is not None else Counts()

    def counted(table: str, rows: Iterable[tuple]) -> Iterator[tuple]:
        for row in rows:
            counts.rows[table] += 1
            yield row

    yield "airports", counted("airports", [a.row() for a in airports()])
    yield "aircraft_types", counted("aircraft_types", list(AIRCRAFT_TYPES))
    fl = make_flights(seed, passengers, today)
    yield "flights", counted("flights", fl.rows)
    info = PassengerInfo()
    people = passenger_rows(seed, passengers, today, info, counts)
    yield "passengers", people
    for _ in people:  # drain what the consumer left, so contact details are complete
        pass
    bp = BookingPass(seed, passengers, today, fl, info, counts)
    bookings = bp.run()
    yield "bookings", bookings
    for _ in bookings:
        pass
    for table in ("tickets", "ticket_segments", "baggage", "special_service_requests"):
        yield table, counted(table, bp.spools[table].replay())
    yield "staff_accounts", counted("staff_accounts", staff_rows(seed))
