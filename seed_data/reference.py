"""Reference data the generator builds on: the real airports (an OpenFlights subset shipped in
``seed_data/reference/``), the aircraft types and the route network of the fictional carrier XA.

Kept apart from the generator so the network can be read (and tested) without generating anything.
Flight numbers are fixed per route and direction here, so 'XA401' is always Mexico City -> Cancún.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
HUB = "MEX"


@dataclass(frozen=True)
class Airport:
    iata_code: str
    name: str
    city: str
    country: str
    country_code: str
    timezone: str
    latitude: float
    longitude: float

    def row(self) -> tuple:
        return (self.iata_code, self.name, self.city, self.country, self.country_code, self.timezone,
                self.latitude, self.longitude)


@lru_cache(maxsize=1)
def airports() -> tuple[Airport, ...]:
    """The demo network's airports, in file order (deterministic)."""
    with open(REFERENCE_DIR / "airports.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return tuple(Airport(r["iata_code"], r["name"], r["city"], r["country"], r["country_code"],
                             r["timezone"], float(r["latitude"]), float(r["longitude"])) for r in reader)


def airport_map() -> dict[str, Airport]:
    return {a.iata_code: a for a in airports()}


#: (code, name, seats_economy, seats_premium, seats_business)
AIRCRAFT_TYPES: tuple[tuple[str, str, int, int, int], ...] = (
    ("738", "Boeing 737-800", 144, 0, 16),
    ("7M8", "Boeing 737 MAX 8", 150, 0, 16),
    ("789", "Boeing 787-9 Dreamliner", 211, 27, 36),
    ("788", "Boeing 787-8 Dreamliner", 197, 0, 32),
    ("320", "Airbus A320", 150, 0, 12),
    ("32N", "Airbus A320neo", 144, 18, 12),
    ("E90", "Embraer 190", 88, 0, 11),
)


def distance_km(a: Airport, b: Airport) -> float:
    """Great-circle distance, for block times, aircraft choice and fares."""
    la1, lo1, la2, lo2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class Service:
    """One daily scheduled departure: the same designator, route and UTC time every day it operates."""
    carrier: str
    number: int
    origin: str
    destination: str
    dep_minute_utc: int       # minutes after 00:00 UTC
    block_minutes: int
    aircraft: tuple[str, ...]  # types it may fly with
    distance_km: float


# Spokes of the MEX hub: (airport, first outbound flight number, daily frequencies, first departure UTC hour)
_SPOKES: tuple[tuple[str, int, int, int], ...] = (
    ("CUN", 401, 4, 14), ("GDL", 201, 4, 13), ("MTY", 301, 4, 13), ("TIJ", 501, 2, 15), ("SJD", 521, 2, 16),
    ("PVR", 541, 2, 15), ("MID", 421, 2, 14), ("OAX", 561, 1, 15), ("BJX", 571, 1, 17), ("VER", 581, 1, 14),
    ("CUL", 591, 1, 16), ("HMO", 601, 1, 15), ("CJS", 611, 1, 14), ("MZT", 621, 1, 17), ("ACA", 631, 1, 16),
    ("ZIH", 641, 1, 18), ("QRO", 651, 1, 13),
    ("LAX", 1, 2, 15), ("JFK", 11, 2, 14), ("ORD", 21, 1, 15), ("MIA", 31, 2, 14), ("DFW", 41, 1, 16),
    ("IAH", 51, 1, 15), ("SFO", 61, 1, 16), ("LAS", 71, 1, 17), ("YYZ", 81, 1, 15),
    ("MAD", 1, 1, 0), ("CDG", 3, 1, 0), ("AMS", 5, 1, 0), ("NRT", 57, 1, 6), ("ICN", 91, 1, 7),
    ("BOG", 701, 1, 15), ("LIM", 711, 1, 16), ("SCL", 721, 1, 1), ("GRU", 731, 1, 2), ("EZE", 741, 1, 1),
    ("HAV", 751, 1, 15), ("GUA", 761, 1, 14), ("SJO", 771, 1, 15), ("PTY", 781, 1, 16),
)
# Numbers 1-99 are the USA and Canada; Europe and Asia are moved into the 100s so every designator is unique.
_LONG_HAUL_OFFSET = {"MAD": 100, "CDG": 100, "AMS": 100, "NRT": 100, "ICN": 100}

# Point-to-point routes (no hub): (origin, destination, outbound number)
_POINT_TO_POINT: tuple[tuple[str, str, int], ...] = (
    ("GDL", "TIJ", 801), ("MTY", "CUN", 811), ("GDL", "CUN", 821), ("TIJ", "CUN", 831), ("MTY", "GDL", 841),
    ("GDL", "LAX", 851), ("CUN", "MIA", 861), ("MTY", "IAH", 871),
)

# A few codeshare partners marketing their own numbers on hub routes: (carrier, number, origin, destination)
_PARTNERS: tuple[tuple[str, int, str, str], ...] = (
    ("DL", 591, "MEX", "JFK"), ("DL", 590, "JFK", "MEX"), ("AF", 179, "MEX", "CDG"), ("AF", 178, "CDG", "MEX"),
    ("KL", 685, "MEX", "AMS"), ("KL", 686, "AMS", "MEX"), ("AV", 61, "MEX", "BOG"), ("AV", 60, "BOG", "MEX"),
)


def _aircraft_for(distance: float) -> tuple[str, ...]:
    if distance > 5000:
        return ("789", "788")
    if distance > 2600:
        return ("7M8", "738", "32N")
    if distance < 700:
        return ("E90", "320", "738")
    return ("738", "7M8", "320", "32N")


def _block(distance: float) -> int:
    minutes = 35 + distance / 780.0 * 60.0
    return int(round(minutes / 5.0)) * 5


def _service(carrier: str, number: int, origin: str, destination: str, dep_minute: int,
             amap: dict[str, Airport]) -> Service:
    dist = distance_km(amap[origin], amap[destination])
    return Service(carrier, number, origin, destination, dep_minute % 1440, _block(dist), _aircraft_for(dist), dist)


@lru_cache(maxsize=1)
def services() -> tuple[Service, ...]:
    """The daily schedule: each spoke gets consecutive numbers, outbound from the hub then its return (XA401 MEX-CUN, XA402 CUN-MEX)."""
    amap = airport_map()
    out: list[Service] = []
    for spoke, first, freq, hour in _SPOKES:
        first = first + _LONG_HAUL_OFFSET.get(spoke, 0)
        dist = distance_km(amap[HUB], amap[spoke])
        block = _block(dist)
        spacing = (14 * 60) // max(freq, 1)
        for k in range(freq):
            dep = hour * 60 + 20 + k * spacing
            out.append(_service("XA", first + 2 * k, HUB, spoke, dep, amap))
            # the return leaves about an hour after arrival
            out.append(_service("XA", first + 2 * k + 1, spoke, HUB, dep + block + 65, amap))
    for origin, destination, number in _POINT_TO_POINT:
        out.append(_service("XA", number, origin, destination, 15 * 60 + number % 7 * 60, amap))
        dist = distance_km(amap[origin], amap[destination])
        out.append(_service("XA", number + 1, destination, origin, 15 * 60 + number % 7 * 60 + _block(dist) + 60, amap))
    for carrier, number, origin, destination in _PARTNERS:
        out.append(_service(carrier, number, origin, destination, (number * 37) % 1440, amap))
    return tuple(out)


def assert_unique_designators() -> None:
    seen: dict[tuple[str, int], Service] = {}
    for s in services():
        key = (s.carrier, s.number)
        if key in seen:
            raise AssertionError(f"designator {key} used twice: {seen[key]} and {s}")
        seen[key] = s
