"""The grammar: the shapes of question staff ask, each built as a (question, gold query) pair from the
database's facts, in Spanish and English.

A shape picks its tables, columns and values from `Facts` (the catalog's words, the stored values,
the foreign keys) and writes the question and the query together, so the two cannot disagree. Dates
are left as a `{DATE}` slot: the generator links the typed question and fills the slot with exactly
the range the linker resolved, the same hint the model sees at inference. Every shape returns None
when this database offers nothing for it, so another catalog simply gets the shapes it supports.

`SHAPES` (here) names every shape and its weight. The shapes live in `counts`, `measures` and
`records`; what they share in `draft` (`Ctx`, `Draft`, the `{DATE}` slot), `wording` (words and
agreement) and `clauses` (filters, periods, group-by targets).
"""
from __future__ import annotations

from collections.abc import Callable

from train.shapes.counts import count_by, count_rows, country, distinct_people, having, rate
from train.shapes.draft import Ctx, Draft
from train.shapes.measures import measure, timing, top_n
from train.shapes.records import lookup, person, refusal

SHAPES: dict[str, tuple[Callable[[Ctx], Draft | None], float]] = {
    "count": (count_rows, 1.6),
    "count_by": (count_by, 1.4),
    "measure": (measure, 1.2),
    "top_n": (top_n, 1.0),
    "distinct": (distinct_people, 0.8),
    "rate": (rate, 0.7),
    "lookup": (lookup, 1.5),
    "person": (person, 1.0),
    "timing": (timing, 0.6),
    "having": (having, 0.5),
    "country": (country, 0.5),
    "refusal": (refusal, 0.08),
}
