"""A small builder for the gold queries: tables joined along foreign keys, with stable aliases.

The generator composes questions and queries side by side; this keeps the SQL half readable and
always joined on the real references (the shape a model should learn), never on guessed columns.
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from train.facts import Facts


def join_path(facts: Facts, start: str, goal: str) -> list[tuple[str, str, str, str]] | None:
    """The shortest chain of foreign keys from `start` to `goal` as (from_table, from_col, to_table,
    to_col) steps, walking references in either direction; None when they do not meet."""
    if start == goal:
        return []
    edges: dict[str, list[tuple[str, str, str, str]]] = {}
    for t in facts.tables.values():
        for c in t.columns.values():
            if c.references and c.references[0] in facts.tables:
                rt, rc = c.references
                edges.setdefault(t.name, []).append((t.name, c.name, rt, rc))
                edges.setdefault(rt, []).append((rt, rc, t.name, c.name))
    seen, queue = {start}, deque([(start, [])])
    while queue:
        table, path = queue.popleft()
        for step in sorted(edges.get(table, [])):
            nxt = step[2]
            if nxt in seen:
                continue
            if nxt == goal:
                return path + [step]
            seen.add(nxt)
            queue.append((nxt, path + [step]))
    return None


def fans_out(facts: Facts, path: list[tuple[str, str, str, str]]) -> bool:
    """True when a step goes from a referenced table to the table referencing it (one-to-many)."""
    for frm, col, to, _tcol in path:
        fcol = facts.tables[frm].columns.get(col)
        if not (fcol and fcol.references and fcol.references[0] == to):
            return True
    return False


def _alias_for(table: str, used: set[str]) -> str:
    words = [w for w in table.split("_") if w]
    base = "".join(w[0] for w in words) if len(words) > 1 else table[0]
    alias, n = base, 2
    while alias in used:
        alias, n = f"{base}{n}", n + 1
    used.add(alias)
    return alias


@dataclass
class Query:
    facts: Facts
    base: str
    aliases: dict[str, str] = field(default_factory=dict)
    joins: list[str] = field(default_factory=list)
    select: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    having: list[str] = field(default_factory=list)
    order_by: list[str] = field(default_factory=list)
    limit: int | None = None
    distinct: bool = False

    def __post_init__(self):
        self._used: set[str] = set()
        self.aliases[self.base] = _alias_for(self.base, self._used)

    def a(self, table: str) -> str:
        """The alias of `table`, joining it in along the shortest foreign-key path if needed."""
        if table not in self.aliases:
            path = None
            for have in list(self.aliases):
                candidate = join_path(self.facts, have, table)
                if candidate is not None and (path is None or len(candidate) < len(path)):
                    path = candidate
            if path is None:
                raise ValueError(f"{table} cannot be joined to {self.base}")
            for frm, fcol, to, tcol in path:
                if to in self.aliases:
                    continue
                alias = _alias_for(to, self._used)
                self.aliases[to] = alias
                self.joins.append(f"JOIN {to} {alias} ON {alias}.{tcol} = {self.aliases[frm]}.{fcol}")
        return self.aliases[table]

    def col(self, table: str, column: str) -> str:
        return f"{self.a(table)}.{column}"

    @property
    def single_table(self) -> bool:
        return not self.joins

    def sql(self) -> str:
        def name(expr: str) -> str:   # one table: no aliases, the way people write it
            if self.single_table:
                return re.sub(rf"\b{self.aliases[self.base]}\.(?=\w)", "", expr)
            return expr

        parts = ["SELECT " + ("DISTINCT " if self.distinct else "") + ", ".join(name(s) for s in self.select)]
        parts.append(f"FROM {self.base}" + ("" if self.single_table else f" {self.aliases[self.base]}"))
        parts.extend(self.joins)
        if self.where:
            parts.append("WHERE " + " AND ".join(name(w) for w in self.where))
        if self.group_by:
            parts.append("GROUP BY " + ", ".join(name(g) for g in self.group_by))
        if self.having:
            parts.append("HAVING " + " AND ".join(name(h) for h in self.having))
        if self.order_by:
            parts.append("ORDER BY " + ", ".join(name(o) for o in self.order_by))
        if self.limit is not None:
            parts.append(f"LIMIT {self.limit}")
        return " ".join(parts)
