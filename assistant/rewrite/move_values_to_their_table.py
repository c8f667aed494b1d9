"""A value read from the one table of the query whose column holds it: `t.status = 'flown'` where
tickets.status never holds 'flown' but ticket_segments.status, also in the query, does becomes
`s.status = 'flown'`. Several tables share column names (status, currency) and a small model picks the
wrong alias."""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.rewrite.context import Context
from assistant.rewrite.repoint_values import column_equals_string, exists


def move_values_to_their_table(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """None when nothing moves.

    `ctx.stored_values` are the known values of small categorical columns (a sample, so absence is
    confirmed with `ctx.fetch` before anything moves); the value must belong to exactly one other table
    of the query."""
    fetch = ctx.fetch
    known = {(t, c.lower()): set(v) for (t, c), v in ctx.stored_values.items()}
    changed = False
    for eq, col, lit in column_equals_string(tree):
        select = eq.find_ancestor(exp.Select)
        if not col.table or select is None:
            continue
        tables = query_tables(select)
        here, name, value = tables.get(col.table), col.name.lower(), lit.this
        if (here, name) not in known or value in known[(here, name)]:
            continue
        others = [alias for alias, t in tables.items() if alias != col.table and value in known.get((t, name), ())]
        if len(others) != 1 or exists(fetch, here, col.name, value):
            continue
        col.set("table", exp.to_identifier(others[0]))
        changed = True
    return tree if changed else None
