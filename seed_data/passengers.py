"""Passengers: names by nationality and culture, households sharing surnames, documents, contact
details and loyalty, with fixed shared names and accent-only near duplicates among them."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from random import Random

from seed_data import names as N
from seed_data.draws import LOCATOR_ALPHABET, fast_ints, pick, timestamp, weighted
from seed_data.sizes import Counts

#: Fixed names placed among the passengers: shared full names and accent-only near duplicates.
_SPECIAL_NAMES: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("José", "Pérez", "García", "M", "MX"), ("Jose", "Perez", "Garcia", "M", "MX"),
    ("María", "Hernández", None, "F", "US"), ("Maria", "Hernandez", None, "F", "US"),
    ("Sofía", "Ramírez", "Núñez", "F", "MX"), ("Sofia", "Ramirez", "Nunez", "F", "MX"),
    ("María Guadalupe", "Hernández", "López", "F", "MX"), ("María Guadalupe", "Hernández", "López", "F", "MX"),
    ("María Guadalupe", "Hernández", "López", "F", "MX"),
    ("Juan Carlos", "de la Cruz", "Martínez", "M", "MX"), ("Juan Carlos", "de la Cruz", "Martínez", "M", "MX"),
    ("Luis", "Del Río", "Sánchez", "M", "MX"), ("Luis", "Del Río", "Sánchez", "M", "MX"),
    ("Andrés", "Muñoz", None, "M", "CO"), ("Andres", "Munoz", None, "M", "CO"),
)

_CULTURE_NAMES = {
    "es_mx": (N.FEMALE_ES, N.MALE_ES, N.SURNAMES_ES), "es": (N.FEMALE_ES, N.MALE_ES, N.SURNAMES_ES),
    "en": (N.FEMALE_EN, N.MALE_EN, N.SURNAMES_EN), "fr": (N.FEMALE_FR, N.MALE_FR, N.SURNAMES_FR),
    "pt": (N.FEMALE_PT, N.MALE_PT, N.SURNAMES_PT), "ea": (N.FEMALE_EA, N.MALE_EA, N.SURNAMES_EA),
}


class PassengerInfo:
    """What the booking pass needs from passengers: their contact details."""

    def __init__(self) -> None:
        self.email: list[str] = [""]
        self.phone: list[str] = [""]


def _special_positions(n: int) -> dict[int, int]:
    count = len(_SPECIAL_NAMES)
    if n < count:
        return {}
    step = max(1, n // (count + 1))
    return {1 + j * step: j for j in range(count)}


def passenger_rows(seed: int, n: int, today: date, info: PassengerInfo, counts: Counts) -> Iterator[tuple]:
    rng = Random(f"abordo-passengers-{seed}")
    rand = rng.random
    randint, randrange = fast_ints(rand)
    nat_values, nat_cum = weighted(((code, culture), w) for code, w, culture in N.NATIONALITIES)
    tier_values, tier_cum = weighted((("classic", 55), ("gold", 25), ("platinum", 14), ("titanium", 6)))
    fold_cache: dict[str, str] = {}

    def fold(s: str) -> str:
        v = fold_cache.get(s)
        if v is None:
            v = fold_cache[s] = N.fold(s)
        return v

    specials = _special_positions(n)
    created_lo = datetime(2019, 1, 1)
    created_span = int((datetime.combine(today, datetime.min.time()) - created_lo).total_seconds()) // 60 - 1440
    today_ord = today.toordinal()
    household_left = 0
    hh = None
    for pid in range(1, n + 1):
        if household_left > 0:
            household_left -= 1
            nat, culture, last, second, domain = hh
            adult = rand() < 0.45
        else:
            nat, culture = pick(rand, nat_values, nat_cum)
            fem, male, surnames = _CULTURE_NAMES[culture]
            last = N.SURNAMES_PARTICLE[randrange(len(N.SURNAMES_PARTICLE))] if (
                culture[:2] == "es" and rand() < 0.07) else surnames[randrange(len(surnames))]
            if culture == "es_mx" or (culture == "es" and rand() < 0.3):
                second = N.SURNAMES_ES[randrange(len(N.SURNAMES_ES))] if rand() > 0.03 else \
                    N.SURNAMES_PARTICLE[randrange(len(N.SURNAMES_PARTICLE))]
            else:
                second = None
            domain = N.EMAIL_DOMAINS[randrange(len(N.EMAIL_DOMAINS))]
            adult = True
            if rand() < 0.22:
                household_left = randint(1, 3)
                hh = (nat, culture, last, second, domain)
        fem, male, _ = _CULTURE_NAMES[culture]
        g = rand()
        gender = "F" if g < 0.495 else "M" if g < 0.995 else "X"
        pool = fem if gender == "F" or (gender == "X" and g < 0.9975) else male
        first = pool[randrange(len(pool))]
        if pid in specials:
            first, last_s, second_s, gender, nat = _SPECIAL_NAMES[specials[pid]]
            pid_last, pid_second = last_s, second_s
            adult = True
        else:
            pid_last, pid_second = last, second
        age = randint(18, 84) if adult else randint(1, 17)
        dob = date.fromordinal(today_ord - age * 365 - randrange(365)).isoformat()
        local = fold(first.split()[0] + "." + pid_last).replace(" ", "").replace("'", "")
        email = f"{local}{randrange(1, 999) if rand() < 0.7 else ''}@{domain}"
        prefix, digits = N.PHONE_PREFIX[nat]
        phone = f"{prefix}{randrange(2 * 10 ** (digits - 1), 10 ** digits)}"
        if nat == "MX" and rand() < 0.3:
            doc_type = "national_id"
            doc = (fold(pid_last)[:2].upper().replace(" ", "X") + fold(pid_second or "x")[:1].upper()
                   + fold(first)[:1].upper() + dob[2:4] + dob[5:7] + dob[8:10] + ("M" if gender == "F" else "H")
                   + "DF" + "".join(LOCATOR_ALPHABET[randrange(26)] for _ in range(3)) + f"{randrange(100):02d}")
        elif nat in ("CO", "AR", "PE", "CL") and rand() < 0.15:
            doc_type = "national_id"
            doc = str(randrange(10 ** 7, 10 ** 10))
        else:
            doc_type = "passport"
            if nat == "MX":
                doc = f"G{randrange(10 ** 7, 10 ** 8)}"
            elif nat == "US":
                doc = str(randrange(10 ** 8, 10 ** 9))
            else:
                doc = f"{LOCATOR_ALPHABET[randrange(26)]}{LOCATOR_ALPHABET[randrange(26)]}{randrange(10 ** 6, 10 ** 7)}"
        if rand() < 0.4:
            ffn = str(100_000_000 + (pid * 48_271 + 12_345) % 899_999_999)
            tier = pick(rand, tier_values, tier_cum) if rand() < 0.9 else None
        else:
            ffn = tier = None
        created = timestamp(created_lo + timedelta(minutes=randrange(created_span)))
        full = f"{first} {pid_last} {pid_second}" if pid_second else f"{first} {pid_last}"
        search = " ".join(fold(part) for part in full.split())
        info.email.append(email)
        info.phone.append(phone)
        counts.rows["passengers"] += 1
        yield (pid, first, pid_last, pid_second, gender, dob, nat, email, phone, doc_type, doc, ffn, tier,
               created, search)
