"""What a shape works with and returns: the context it draws from (`Ctx`) and the question and gold
query it writes (`Draft`), with the `{DATE}` slot the generator fills."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from random import Random

from train.facts import Facts

DATE_SLOT = "{DATE}"


@dataclass
class Draft:
    shape: str
    lang: str
    question: str
    sql: dict[str, str] | str          # one query, or one per dialect ('sqlite', 'postgres')
    date_column: str | None = None     # 'alias.column' the {DATE} slot filters
    protect: tuple[str, ...] = ()      # spans noise must not garble (names, codes)
    expect_rows: bool = True
    refusal: bool = False

    def sql_for(self, dialect: str) -> str:
        return self.sql if isinstance(self.sql, str) else self.sql[dialect]


@dataclass
class Ctx:
    facts: Facts
    rng: Random
    lang: str
    today: date
    samples: Callable[[str, str, int], list]   # (table, column, n) -> stored values
    extra: dict = field(default_factory=dict)

    def pick(self, seq):
        return self.rng.choice(list(seq))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p
