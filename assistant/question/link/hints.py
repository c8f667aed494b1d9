"""What the value linker finds: a `Hint` (one value of the question resolved to its stored form, with its
one-line English `line` for the prompt), a `Denied` look-up (one the asker's role may not make), the
`LinkResult` of one question, and the spans of the question the hints have already claimed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Fetch = Callable[[str, dict], list[tuple]]

MAX_HINTS = 12


@dataclass(frozen=True)
class Hint:
    # 'locator' | 'ticket' | 'bag' | 'flight' (the catalog's identifier kinds) | 'date' | 'date_range' |
    # 'airport' | 'route' | 'country' | 'passenger' | 'term' | 'value'
    kind: str
    text: str          # the span as typed
    value: object      # resolved stored value(s)
    line: str          # one English line for the prompt
    found: bool = True  # verified against the database (False: looks like one but no row matches)
    pos: int = field(default=-1, compare=False)
    matches: int = field(default=0, compare=False)   # passengers a name matched (`value` holds the first 5)
    via: tuple[str, ...] = field(default=(), compare=False)  # 'table.column's the value was looked up by


@dataclass(frozen=True)
class Denied:
    """A look-up the question asks for that the role may not make (`RolePolicy.may_look_up`): found by
    its shape alone ('Silvia Cortés', a passport number after 'pasaporte', an e-mail address); no
    query ran for it."""
    kind: str                  # 'name' | 'email' | 'phone' | 'document'
    text: str
    pos: int
    columns: tuple[str, ...]   # the 'table.column's it would be looked up by


@dataclass(frozen=True)
class LinkResult:
    lang: str
    hints: tuple[Hint, ...]
    denied: tuple[Denied, ...] = ()     # look-ups the role may not make: the question is to be refused

    def prompt_lines(self) -> list[str]:
        """The hint lines in question order, at most MAX_HINTS (the prompt has a token budget)."""
        return [h.line for h in self.hints[:MAX_HINTS]]


# Spans already claimed by a hint are not looked at again (a date inside a ticket number, a country
# inside a place name, a linked word inside a name).

class _Claims:
    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def free(self, s: int, e: int) -> bool:
        return not any(s < te and ts < e for ts, te in self.spans)

    def take(self, s: int, e: int) -> None:
        self.spans.append((s, e))
