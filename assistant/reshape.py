"""Reshape a model query without changing what it means: grouping columns first
(`SELECT SUM(fare), currency ... GROUP BY currency` becomes `SELECT currency, SUM(fare) ...`), and a
list of one table's entities read through fanning-out joins made DISTINCT.

Staff read a per-currency table by its currency column, and the prompt asks for grouping columns first;
a small model often writes the aggregate first anyway. Moving output columns changes no value and no
row, only their order, so this is done deterministically instead of spending a model call.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping

import sqlglot
from sqlglot import exp

from assistant.joinfix import query_tables


def grouping_columns_first(sql: str, dialect: str) -> str | None:
    """The query with its grouping columns moved to the front, or None when nothing moves."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:          # ParseError, or TokenError for an unterminated string
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("group"):
        return None
    order = tree.args.get("order")
    if order is not None and any(isinstance(o.this, exp.Literal) for o in order.expressions):
        return None                                   # ORDER BY 2 would then sort by another column
    keys = {g.sql(dialect=dialect).lower() for g in tree.args["group"].expressions}
    outputs = tree.expressions
    if any(isinstance(e, exp.Star) for e in outputs):
        return None

    def is_key(e: exp.Expression) -> bool:
        inner = e.this if isinstance(e, exp.Alias) else e
        return inner.sql(dialect=dialect).lower() in keys or (e.alias and e.alias.lower() in keys)

    first = [e for e in outputs if is_key(e)]
    rest = [e for e in outputs if not is_key(e)]
    if not first or not rest or outputs[:len(first)] == first:
        return None
    tree.set("expressions", first + rest)
    return tree.sql(dialect=dialect)


def distinct_entity_list(sql: str, dialect: str, keys: Mapping[str, Collection[str]]) -> str | None:
    """A plain list of one table's rows, read through joins, made DISTINCT: `SELECT b.record_locator
    FROM bookings b JOIN tickets t ... JOIN flights f ... WHERE f.destination = 'NRT'` lists a booking
    once per matching coupon. The prompt asks for DISTINCT; a small model often forgets it.

    Only when every output column comes from the same table, one of them is that table's key (so a
    repeated row is the same entity, never two people who share a name), the query joins, and it has
    no aggregate, GROUP BY, DISTINCT, ORDER BY or set operation (where duplicates may mean something
    or DISTINCT would change the order's meaning). `keys` maps a table to its key columns (primary or
    unique)."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("joins"):
        return None
    if any(tree.args.get(k) for k in ("distinct", "group", "order", "having")):
        return None
    if any(e.find(exp.AggFunc) for e in tree.expressions):
        return None
    tables = query_tables(tree)
    owners, names = set(), set()
    for e in tree.expressions:
        inner = e.this if isinstance(e, exp.Alias) else e
        if not isinstance(inner, exp.Column) or not inner.table or inner.table not in tables:
            return None
        owners.add(inner.table)
        names.add(inner.name.lower())
    if len(owners) != 1:
        return None
    table = tables[next(iter(owners))]
    if not names & {k.lower() for k in keys.get(table, ())}:
        return None
    tree.set("distinct", exp.Distinct())
    return tree.sql(dialect=dialect)
