"""Random draws and renderings shared by the generator's passes: fast integer draws and weighted picks
from a seeded `random.Random`, timestamps and money rendered as the loaders write them."""
from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime

LOCATOR_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ23456789"  # 34 characters: A-Z and 2-9


def timestamp(dt: datetime) -> str:
    return dt.isoformat(" ")


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def weighted(pairs: Iterable[tuple[object, float]]) -> tuple[list, list[float]]:
    values, cum, total = [], [], 0.0
    for v, w in pairs:
        total += w
        values.append(v)
        cum.append(total)
    return values, [c / total for c in cum]


def fast_ints(rand):
    """randint/randrange built on rng.random(): a few times faster than the stdlib's (which loop over
    getrandbits), still fully determined by the seed. Ranges here are far below 2**53."""
    def randint(a: int, b: int) -> int:
        return a + int(rand() * (b - a + 1))

    def randrange(a: int, b: int | None = None) -> int:
        return int(rand() * a) if b is None else a + int(rand() * (b - a))
    return randint, randrange


def pick(rng_random, values: list, cum: list[float]):
    return values[bisect.bisect_left(cum, rng_random())]
