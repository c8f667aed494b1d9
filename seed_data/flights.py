"""Flights: the schedule of `seed_data.reference` operated day by day over the period, each with a status
and actual times consistent with "now", plus the cases the demo's questions depend on."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from random import Random

from seed_data.draws import timestamp
from seed_data.reference import AIRCRAFT_TYPES, HUB, airport_map, services
from seed_data.sizes import NOW_MINUTE_UTC, PERIOD_END, PERIOD_START, flight_target


@dataclass
class Flights:
    """The generated flights plus what the booking pass needs to fill them (parallel lists, compact)."""
    rows: list[tuple]
    origin: list[str]
    dest: list[str]
    dep: list[datetime]
    arr: list[datetime]
    phase: list[str]          # cancelled, flown, boarding, checkin, future
    past: list[bool]          # departed before today (bags delivered by now)
    cap: list[tuple[int, int, int]]
    load: list[int]
    seats_used: list[list[int]]
    distance: list[float]
    currency: list[str]
    by_route: dict[tuple[str, str], tuple[list[datetime], list[int]]]
    hub_departures: tuple[list[datetime], list[int]]
    to_hub: list[int]
    index: dict[tuple[str, int, date], int]


def make_flights(seed: int, passengers: int, today: date) -> Flights:
    rng = Random(f"abordo-flights-{seed}")
    amap = airport_map()
    seats = {a[0]: (a[2], a[3], a[4]) for a in AIRCRAFT_TYPES}
    sched = services()
    now = datetime.combine(today, datetime.min.time()) + timedelta(minutes=NOW_MINUTE_UTC)
    window = {today - timedelta(days=1), today, today + timedelta(days=1)}
    n_days = (PERIOD_END - PERIOD_START).days + 1
    window_flights = len(sched) * sum(1 for d in window if PERIOD_START <= d <= PERIOD_END)
    p_operate = min(1.0, max(0.0, flight_target(passengers) - window_flights) / (len(sched) * (n_days - len(window))))
    eur = {"ES", "FR", "NL"}
    usd = {"US", "CA"}

    fl = Flights([], [], [], [], [], [], [], [], [], [], [], [], {}, ([], []), [], {})
    day = PERIOD_START
    one_day = timedelta(days=1)
    while day <= PERIOD_END:
        in_window = day in window
        midnight = datetime.combine(day, datetime.min.time())
        for s in sched:
            if not in_window and rng.random() >= p_operate:
                continue
            dep = midnight + timedelta(minutes=s.dep_minute_utc)
            arr = dep + timedelta(minutes=s.block_minutes)
            aircraft = s.aircraft[rng.randrange(len(s.aircraft))]
            fl.index[(s.carrier, s.number, day)] = len(fl.rows)
            status, adep, aarr, phase = _flight_status(rng, dep, arr, today, now)
            if dep > now + timedelta(days=2):
                gate = None
            elif s.origin == HUB:
                gate = f"{'AB'[rng.randrange(2)]}{rng.randint(1, 36)}"
            else:
                gate = f"{'ABCD'[rng.randrange(4)]}{rng.randint(1, 24)}"
            fid = len(fl.rows) + 1
            fl.rows.append([fid, s.carrier, s.number, s.origin, s.destination, timestamp(dep), timestamp(arr),
                            adep and timestamp(adep), aarr and timestamp(aarr), status, aircraft, gate])
            fl.origin.append(s.origin)
            fl.dest.append(s.destination)
            fl.dep.append(dep)
            fl.arr.append(arr)
            fl.phase.append(phase)
            fl.past.append(day < today)
            fl.cap.append(seats[aircraft])
            fl.load.append(0)
            fl.seats_used.append([0, 0, 0])
            fl.distance.append(s.distance_km)
            cc = amap[s.origin].country_code
            fl.currency.append("MXN" if cc == "MX" else "EUR" if cc in eur else "USD")
        day += one_day

    _force_demo_cases(fl, today, now)
    # flights sorted by departure within each route, for returns and connections
    order = sorted(range(len(fl.rows)), key=lambda i: (fl.dep[i], i))
    for i in order:
        deps, ids = fl.by_route.setdefault((fl.origin[i], fl.dest[i]), ([], []))
        deps.append(fl.dep[i])
        ids.append(i)
        if fl.origin[i] == HUB:
            fl.hub_departures[0].append(fl.dep[i])
            fl.hub_departures[1].append(i)
        elif fl.dest[i] == HUB:
            fl.to_hub.append(i)
    fl.rows = [tuple(r) for r in fl.rows]
    return fl


def _flight_status(rng: Random, dep: datetime, arr: datetime, today: date, now: datetime):
    """Status, actual times and booking phase of one flight, consistent with 'now'."""
    r = rng.random()
    day = dep.date()
    if day < today:
        if r < 0.03:
            return "cancelled", None, None, "cancelled"
        if r < 0.036:
            delay = rng.randint(10, 90)
            return "diverted", dep + timedelta(minutes=delay), arr + timedelta(minutes=delay + rng.randint(20, 90)), "flown"
        if r < 0.126:
            delay = rng.randint(35, 240)
            return ("delayed", dep + timedelta(minutes=delay),
                    arr + timedelta(minutes=delay + rng.randint(-10, 15)), "flown")
        delay = rng.randint(-8, 25)
        return "arrived", dep + timedelta(minutes=delay), arr + timedelta(minutes=delay + rng.randint(-15, 10)), "flown"
    if day == today:
        if r < 0.06:
            return "cancelled", None, None, "cancelled"
        delayed = r < 0.21
        delay = rng.randint(30, 180) if delayed else rng.randint(-5, 12)
        adep = dep + timedelta(minutes=delay)
        aarr = arr + timedelta(minutes=delay + rng.randint(-10, 10))
        if aarr <= now:
            return ("delayed" if delayed else "arrived"), adep, aarr, "flown"
        if adep <= now:
            return "departed", adep, None, "flown"
        if not delayed and dep - timedelta(minutes=45) <= now:
            return "boarding", None, None, "boarding"
        return ("delayed" if delayed else "scheduled"), None, None, "checkin"
    if r < 0.015:
        return "cancelled", None, None, "cancelled"
    return "scheduled", None, None, ("checkin" if dep <= now + timedelta(hours=24) else "future")


def _force_demo_cases(fl: Flights, today: date, now: datetime) -> None:
    """Guarantee the cases questions depend on, whatever the random draws were: yesterday's MEX->CUN
    flights operated; today has boarding, departed, delayed and cancelled flights."""
    yesterday = today - timedelta(days=1)
    for number in (401, 403, 405, 407):
        i = fl.index.get(("XA", number, yesterday))
        if i is not None and fl.rows[i][9] not in ("arrived", "delayed"):
            dep, arr = fl.dep[i], fl.arr[i]
            fl.rows[i][7:10] = [timestamp(dep + timedelta(minutes=4)), timestamp(arr - timedelta(minutes=3)), "arrived"]
            fl.phase[i] = "flown"
    todays = sorted((i for (c, n, d), i in fl.index.items() if d == today), key=lambda i: (fl.dep[i], i))
    later = [i for i in todays if fl.dep[i] > now + timedelta(hours=1) and fl.rows[i][2] not in (401, 403)]
    statuses = {fl.rows[i][9] for i in todays}
    if later and "cancelled" not in statuses:
        i = later[0]
        fl.rows[i][7:10] = [None, None, "cancelled"]
        fl.phase[i] = "cancelled"
    if len(later) > 1 and "delayed" not in statuses:
        i = later[1]
        fl.rows[i][7:10] = [None, None, "delayed"]
        fl.phase[i] = "checkin"
    if "boarding" not in statuses:
        soon = [i for i in todays if now < fl.dep[i] <= now + timedelta(minutes=45)]
        for i in soon[:1]:
            fl.rows[i][7:10] = [None, None, "boarding"]
            fl.phase[i] = "boarding"
    if "departed" not in statuses:
        airborne = [i for i in todays if fl.dep[i] < now < fl.arr[i] and fl.rows[i][9] != "cancelled"]
        for i in airborne[:1]:
            fl.rows[i][7:10] = [timestamp(fl.dep[i]), None, "departed"]
            fl.phase[i] = "flown"
