"""An entity list read through joins made DISTINCT: `SELECT b.record_locator FROM bookings b JOIN tickets t
... JOIN flights f ... WHERE f.destination = 'NRT'` lists a booking once per matching coupon. The
prompt asks for DISTINCT; a small model often forgets it."""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.rewrite.context import Context


def distinct_entity_list(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """The list made DISTINCT, or None.

    Only when every output column comes from the same table, one of them is that table's key
    (`ctx.entity_keys`: primary or unique keys, so a repeated row is the same entity, never two people
    who share a name), the query joins, and it has no aggregate, GROUP BY, DISTINCT, ORDER BY or set
    operation (where duplicates may mean something or DISTINCT would change the order's meaning)."""
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
    if not names & {k.lower() for k in ctx.entity_keys.get(table, ())}:
        return None
    tree.set("distinct", exp.Distinct())
    return tree
