"""What every rewrite rule may know: the dialect, the schema's facts, the database's read-only `fetch`,
and what the question asked (`Asked`). Frozen: a rule reads it, never changes it."""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from assistant.joinfix import JoinGraph
from assistant.question.asked import Asked

Fetch = Callable[[str, dict], list[tuple]]


def _no_fetch(_sql: str, _params: dict) -> list[tuple]:
    return []


@dataclass(frozen=True)
class Context:
    dialect: str
    asked: Asked = field(default_factory=Asked)
    graph: JoinGraph | None = None                      # foreign keys between the exposed tables
    # table -> column -> the words naming it, for the columns a total may be asked per ('por canal')
    grouping_words: Mapping[str, Mapping[str, Collection[str]]] = field(default_factory=dict)
    table_names: Mapping[str, str] = field(default_factory=dict)        # word -> the table it names
    name_columns: Mapping[str, Collection[str]] = field(default_factory=dict)   # a person's name columns
    row_keys: Mapping[str, str] = field(default_factory=dict)           # table -> its one-column key
    entity_keys: Mapping[str, Collection[str]] = field(default_factory=dict)    # table -> unique keys
    text_columns: Mapping[str, Sequence[str]] = field(default_factory=dict)
    stored_values: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)
    timestamp_columns: Mapping[str, Collection[str]] = field(default_factory=dict)
    fetch: Fetch = _no_fetch                            # read-only look-ups of stored values
