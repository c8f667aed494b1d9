"""The booking pass: bookings with their tickets, coupons, seats, bags and special service requests.

Each booking row is yielded as it is made; its children are spooled to temporary files (marshal
batches) and replayed afterwards, so memory stays small at a million passengers.
"""
from __future__ import annotations

import bisect
import marshal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random

from seed_data.draws import LOCATOR_ALPHABET, fast_ints, money, pick, timestamp, weighted
from seed_data.flights import Flights
from seed_data.notes import INJECTION_NOTES, SSR_CODES, SSR_NOTES
from seed_data.passengers import PassengerInfo
from seed_data.reference import HUB
from seed_data.sizes import NOW_MINUTE_UTC, TICKETS_PER_PASSENGER, Counts


class _Spool:
    """Rows of one table written to a temporary file in marshal batches, replayed once."""

    BATCH = 20_000

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()
        self.buf: list[tuple] = []
        self.count = 0

    def add(self, row: tuple) -> None:
        self.buf.append(row)
        if len(self.buf) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            data = marshal.dumps(self.buf)
            self.file.write(len(data).to_bytes(8, "little"))
            self.file.write(data)
            self.count += len(self.buf)
            self.buf = []

    def replay(self) -> Iterator[tuple]:
        self.flush()
        self.file.seek(0)
        try:
            while header := self.file.read(8):
                yield from marshal.loads(self.file.read(int.from_bytes(header, "little")))
        finally:
            self.file.close()


_RATE = {"MXN": 18.0, "USD": 1.0, "EUR": 0.92}
_CABIN_INDEX = {"economy": 0, "premium": 1, "business": 2}
_FARE_CLASSES = {"economy": "YBMHQKLVTN", "premium": "WEO", "business": "JCDIZ"}
_CABIN_MULT = {"economy": 1.0, "premium": 1.7, "business": 3.3}


@dataclass
class _Plan:
    """A booking to build: who, on which flights, and anything forced for the demo cases."""
    members: list[int]
    legs: list[int]
    status: str | None = None
    ssrs: list[tuple[int, str, str | None]] = field(default_factory=list)  # (member index, code, note)
    no_show_ok: bool = True


class BookingPass:
    def __init__(self, seed: int, n: int, today: date, fl: Flights, info: PassengerInfo, counts: Counts):
        self.rng = Random(f"abordo-bookings-{seed}")
        self.randint, self.randrange = fast_ints(self.rng.random)
        self.n, self.today, self.fl, self.info, self.counts = n, today, fl, info, counts
        self.now = datetime.combine(today, datetime.min.time()) + timedelta(minutes=NOW_MINUTE_UTC)
        self.spools = {t: _Spool() for t in ("tickets", "ticket_segments", "baggage", "special_service_requests")}
        self.ticket_seq = self.segment_id = self.bag_seq = self.ssr_id = 0
        self.target_tickets = max(1, round(n * TICKETS_PER_PASSENGER))
        self.party_values, self.party_cum = weighted(((1, 58), (2, 24), (3, 8), (4, 7), (5, 3)))
        self.channel_values, self.channel_cum = weighted((("web", 45), ("app", 25), ("call_center", 10),
                                                          ("travel_agency", 15), ("airport", 5)))
        self.ssr_values, self.ssr_cum = weighted((("WCHR", 30), ("WCHC", 6), ("VGML", 14), ("KSML", 5), ("UMNR", 8),
                                                  ("PETC", 12), ("BLND", 3), ("DEAF", 3), ("MAAS", 19)))
        self.bag_values, self.bag_cum = weighted(((0, 30), (1, 48), (2, 18), (3, 4)))
        self.cabin_values, self.cabin_cum = weighted((("economy", 84), ("premium", 6), ("business", 10)))

    # -- flight choice
    def _has_room(self, i: int, k: int) -> bool:
        return self.fl.load[i] + k <= sum(self.fl.cap[i])

    def _next_on_route(self, origin: str, dest: str, after: datetime, within: timedelta) -> int | None:
        route = self.fl.by_route.get((origin, dest))
        if not route:
            return None
        j = bisect.bisect_left(route[0], after)
        if j < len(route[0]) and route[0][j] <= after + within:
            return route[1][j]
        return None

    def _connection_from_hub(self, after: datetime, avoid: str, k: int) -> int | None:
        deps, ids = self.fl.hub_departures
        j = bisect.bisect_left(deps, after)
        limit = after + timedelta(hours=20)
        while j < len(deps) and deps[j] <= limit:
            i = ids[j]
            if self.fl.dest[i] != avoid and self._has_room(i, k):
                return i
            j += 1
        return None

    def _itinerary(self, k: int) -> list[list[int]]:
        """Tickets' coupons as lists of flight indexes (one list per ticket direction folded into one)."""
        rng, fl = self.rng, self.fl
        r = rng.random()
        connecting = r < 0.22 and fl.to_hub
        for _ in range(6):
            if connecting:
                first = fl.to_hub[self.randrange(len(fl.to_hub))]
            else:
                first = self.randrange(len(fl.rows))
            if self._has_room(first, k):
                break
        else:
            return []
        legs = [first]
        if connecting:
            nxt = self._connection_from_hub(fl.arr[first] + timedelta(minutes=70), fl.origin[first], k)
            if nxt is not None:
                legs.append(nxt)
        round_trip = rng.random() < 0.6
        if round_trip:
            origin, dest = fl.origin[legs[0]], fl.dest[legs[-1]]
            back_after = fl.arr[legs[-1]] + timedelta(days=self.randint(1, 12))
            if len(legs) == 2:
                b1 = self._next_on_route(dest, HUB, back_after, timedelta(days=30))
                if b1 is not None and self._has_room(b1, k):
                    b2 = self._next_on_route(HUB, origin, fl.arr[b1] + timedelta(minutes=70), timedelta(hours=20))
                    if b2 is not None and self._has_room(b2, k):
                        legs += [b1, b2]
            else:
                b = self._next_on_route(dest, origin, back_after, timedelta(days=45))
                if b is not None and self._has_room(b, k):
                    legs.append(b)
        return legs

    # -- the pass
    def run(self) -> Iterator[tuple]:
        bid = 0
        for plan in self._featured_plans():
            bid += 1
            yield self._emit(bid, plan)
        rng = self.rng
        n = self.n
        while self.ticket_seq < self.target_tickets:
            k = min(pick(rng.random, self.party_values, self.party_cum), n)
            lead = self.randint(1, n - k + 1)
            legs = self._itinerary(k)
            bid += 1
            yield self._emit(bid, _Plan(list(range(lead, lead + k)), legs))
        for spool in self.spools.values():
            spool.flush()

    def _featured_plans(self) -> list[_Plan]:
        """Bookings that make the demo's stories true: injected notes on today's XA401, flown coupons on
        yesterday's MEX->CUN, every SSR code at least once."""
        fl, today, n = self.fl, self.today, self.n
        plans: list[_Plan] = []
        xa401_today = fl.index.get(("XA", 401, today))
        if xa401_today is not None and n >= 3:
            plans.append(_Plan([n // 3, n // 3 + 1, n // 3 + 2], [xa401_today], status="ticketed", ssrs=[
                (0, "WCHR", INJECTION_NOTES[0]), (1, "VGML", INJECTION_NOTES[2]), (2, "UMNR", SSR_NOTES["UMNR"][0])]))
        yesterday = today - timedelta(days=1)
        for number, members in ((401, [n // 2, n // 2 + 1]), (403, [n // 4])):
            i = fl.index.get(("XA", number, yesterday))
            if i is not None and max(members) <= n:
                plans.append(_Plan(members, [i], status="ticketed", no_show_ok=False,
                                   ssrs=[(0, "MAAS", INJECTION_NOTES[1])] if number == 403 else []))
        todays = sorted((i for (c, num, d), i in fl.index.items() if d in (today, today + timedelta(days=1))),
                        key=lambda i: (fl.dep[i], i))
        if todays:
            for j, code in enumerate(SSR_CODES):
                pid = 1 + (j * 7919) % n
                note = INJECTION_NOTES[3] if code == "PETC" else SSR_NOTES[code][0]
                plans.append(_Plan([pid], [todays[(j * 5) % len(todays)]], status="ticketed", ssrs=[(0, code, note)]))
        return [p for p in plans if all(self._has_room(i, len(p.members)) for i in p.legs)]

    def _emit(self, bid: int, plan: _Plan) -> tuple:
        rng, fl = self.rng, self.fl
        rand = rng.random
        legs, members = plan.legs, plan.members
        k = len(members)
        now = self.now
        channel = pick(rand, self.channel_values, self.channel_cum)
        if legs:
            first_dep = fl.dep[legs[0]]
            created = min(first_dep - timedelta(minutes=self.randint(90, 120 * 1440)),
                          now - timedelta(minutes=self.randint(30, 600)))
            currency = fl.currency[legs[0]]
            all_future = all(fl.phase[i] in ("future", "checkin") for i in legs)
            status = plan.status
            if status is None:
                r = rand()
                if all_future:
                    status = "confirmed" if r < 0.06 else "cancelled" if r < 0.09 else "ticketed"
                else:
                    status = "cancelled" if r < 0.03 else "refunded" if r < 0.05 else "ticketed"
        else:
            created = now - timedelta(minutes=self.randint(60, 400 * 1440))
            currency = "MXN"
            status = "cancelled"
        created = created.replace(second=self.randrange(60))
        locator_n = (bid * 387_420_489 + 7_777_777) % (34 ** 6)
        locator = "".join(LOCATOR_ALPHABET[(locator_n // 34 ** p) % 34] for p in range(5, -1, -1))
        lead = members[0]
        if channel == "travel_agency":
            email = f"reservas{bid % 97}@viajes-{('sol', 'mar', 'azteca', 'maya', 'pacifico')[bid % 5]}.com.mx"
            phone = f"+5255{5000_0000 + bid % 4000_0000}"
        else:
            email, phone = self.info.email[lead], self.info.phone[lead]
        total = 0
        if status == "confirmed" or not legs:
            total = self.randint(80_000, 1_500_000) if legs else 0
            if currency != "MXN":
                total //= 18
        else:
            total = self._tickets(bid, plan, status, currency, created)
        self.counts.rows["bookings"] += 1
        return (bid, locator, timestamp(created), channel, status, money(total), currency, email, phone)

    def _tickets(self, bid: int, plan: _Plan, status: str, currency: str, created: datetime) -> int:
        rng, fl = self.rng, self.fl
        rand = rng.random
        randint, randrange = self.randint, self.randrange
        legs = plan.legs
        rate = _RATE[currency]
        cabin = pick(rand, self.cabin_values, self.cabin_cum)
        cancelled_booking = status in ("cancelled", "refunded")
        total = 0
        sp_t, sp_s = self.spools["tickets"], self.spools["ticket_segments"]
        sp_b, sp_r = self.spools["baggage"], self.spools["special_service_requests"]
        k = len(plan.members)
        for i in legs:
            fl.load[i] += k
        issued = timestamp(created + timedelta(minutes=randint(1, 30)))
        for m, pid in enumerate(plan.members):
            self.ticket_seq += 1
            ticket = f"139{(self.ticket_seq * 7_654_321 + 1_234_567) % 10 ** 10:010d}"
            fare = 0
            seg_statuses = []
            n_bags = pick(rand, self.bag_values, self.bag_cum)
            ssr = None
            if plan.ssrs:
                ssr = [(code, note) for (mi, code, note) in plan.ssrs if mi == m]
            elif rand() < 0.045:
                code = pick(rand, self.ssr_values, self.ssr_cum)
                r = rand()
                note = INJECTION_NOTES[randrange(len(INJECTION_NOTES))] if r < 0.06 else None if r < 0.35 else \
                    SSR_NOTES[code][randrange(len(SSR_NOTES[code]))]
                ssr = [(code, note)]
            for coupon, i in enumerate(legs, 1):
                cab = cabin
                cap = fl.cap[i]
                if cap[_CABIN_INDEX[cab]] == 0:
                    cab = "economy"
                ci = _CABIN_INDEX[cab]
                fare += int((35 + fl.distance[i] * 0.085) * _CABIN_MULT[cab] * (0.75 + rand() * 0.85) * rate * 100)
                phase = fl.phase[i]
                seat = checked_at = group = None
                if cancelled_booking or phase == "cancelled":
                    st = "cancelled"
                elif phase == "flown":
                    st = "no_show" if plan.no_show_ok and rand() < 0.04 else "flown"
                elif phase == "boarding":
                    st = "boarded" if rand() < 0.6 else "checked_in"
                elif phase == "checkin":
                    st = "checked_in" if rand() < 0.6 else "booked"
                else:
                    st = "booked"
                if st in ("flown", "boarded", "checked_in") or (st == "booked" and rand() < 0.35):
                    used = fl.seats_used[i]
                    if used[ci] < cap[ci]:
                        idx = used[ci]
                        used[ci] += 1
                        if ci == 2:
                            seat = f"{1 + idx // 4}{'ACDF'[idx % 4]}"
                        else:
                            base = 1 + (cap[2] + 3) // 4 + (0 if ci == 1 else (cap[1] + 5) // 6) + (ci == 0) * 2
                            seat = f"{base + idx // 6}{'ABCDEF'[idx % 6]}"
                if st in ("flown", "boarded", "checked_in"):
                    checked_at = timestamp(fl.dep[i] - timedelta(minutes=randint(50, 23 * 60)))
                    group = 1 if ci == 2 else randint(2, 6)
                self.segment_id += 1
                sid = self.segment_id
                sp_s.add((sid, ticket, i + 1, coupon, cab, _FARE_CLASSES[cab][randrange(len(_FARE_CLASSES[cab]))],
                          seat, st, checked_at, group))
                seg_statuses.append(st)
                if n_bags and st in ("flown", "boarded", "checked_in"):
                    for _ in range(n_bags):
                        self.bag_seq += 1
                        tag = f"{self.bag_seq // 1_000_000 % 10}139{self.bag_seq % 1_000_000:06d}"
                        if st == "checked_in":
                            bst = "checked"
                        elif st == "boarded" or not fl.past[i]:
                            bst = "loaded" if fl.rows[i][8] is None else "delivered"
                        else:
                            r = rand()
                            bst = "lost" if r < 0.006 else "delayed" if r < 0.025 else "delivered"
                        sp_b.add((tag, sid, f"{randint(80, 320) / 10:.1f}", bst))
                if ssr:
                    for code, note in ssr:
                        self.ssr_id += 1
                        sp_r.add((self.ssr_id, sid, code, note))
            taxes = int(fare * 0.16) + int(len(legs) * 18 * rate * 100)
            if status == "cancelled":
                tst = "void"
            elif status == "refunded":
                tst = "refunded"
            elif all(s in ("flown", "no_show") for s in seg_statuses):
                tst = "used"
            else:
                tst = "exchanged" if rand() < 0.01 else "open"
            sp_t.add((ticket, bid, pid, issued, money(fare), money(taxes), currency, tst))
            total += fare + taxes
        return total
