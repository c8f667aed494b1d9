"""The demo's period and size: the dates it spans, the minute that is "now", how many rows each table
gets, and the checks on what a caller asks for."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from db.schema import TABLE_ORDER
from seed_data.errors import InvalidSizeError
from seed_data.reference import AIRCRAFT_TYPES, airports
from seed_data.staff import STAFF

PERIOD_START = date(2025, 1, 1)
PERIOD_END = date(2026, 12, 31)
DEFAULT_TODAY = date(2026, 6, 15)
MAX_PASSENGERS = 5_000_000
#: "Now" on the demo's today: 17:30 UTC, late morning in Mexico City.
NOW_MINUTE_UTC = 17 * 60 + 30
TICKETS_PER_PASSENGER = 1.8


@dataclass
class Counts:
    """Rows produced per table (filled while generating)."""
    rows: dict[str, int] = field(default_factory=lambda: {t: 0 for t in TABLE_ORDER})


def check_size(passengers: int) -> int:
    """Validate the requested size; a clear error instead of a run that never ends."""
    if isinstance(passengers, bool) or not isinstance(passengers, int):
        raise InvalidSizeError(f"the number of passengers must be a whole number, not {passengers!r}")
    if not 1 <= passengers <= MAX_PASSENGERS:
        raise InvalidSizeError(f"the number of passengers must be between 1 and {MAX_PASSENGERS:,}, "
                               f"not {passengers:,}")
    return passengers


def check_today(today: date) -> date:
    if not PERIOD_START <= today <= PERIOD_END:
        raise InvalidSizeError(f"today ({today.isoformat()}) must fall inside the reference period "
                               f"{PERIOD_START.isoformat()}..{PERIOD_END.isoformat()}")
    return today


def flight_target(passengers: int) -> int:
    """About 2,000 flights for the demo; more at scale so that no flight is over-sold."""
    return max(2000, int(passengers * 0.04))


def estimate_counts(passengers: int) -> dict[str, int]:
    """Approximate rows per table, for progress bars and the benchmark's expectations."""
    tickets = int(passengers * TICKETS_PER_PASSENGER)
    segments = int(tickets * 1.55)
    return {
        "airports": len(airports()), "aircraft_types": len(AIRCRAFT_TYPES), "flights": flight_target(passengers),
        "passengers": passengers, "bookings": int(tickets / 1.7), "tickets": tickets,
        "ticket_segments": segments, "baggage": int(segments * 0.6), "special_service_requests": int(tickets * 0.07),
        "staff_accounts": len(STAFF),
    }
