"""Deterministic repair of a value compared with the wrong column of a reference table.

A foreign-key column holds the referenced table's key: `flights.destination` holds airport codes. A
small model asked about "flights to Spain" writes `f.destination = 'ES'`, a country code, and gets an
empty answer that looks like a real one. When the literal is no key of the referenced table but is
the value of exactly one other (non-personal, text) column there, the comparison is rewritten to
say what the model meant: `f.destination IN (SELECT iata_code FROM airports WHERE country_code = 'ES')`.

Nothing here knows a table: the foreign keys and column types come from the database, the values
are checked with the caller's read-only `fetch` (indexed key lookups; reference tables are small).
A literal that is a key, or matches no column, or several, is left alone. The rewritten SQL still
goes through the guard.
"""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import JoinGraph, query_tables
from assistant.rewrite.context import Context, Fetch
from sql_tools.errors import SqlToolError


def repoint_values(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """The query with such comparisons rewritten, or None when there is nothing to rewrite."""
    graph, text_columns, fetch = ctx.graph, ctx.text_columns, ctx.fetch
    if graph is None:
        return None
    changed = False
    for eq, col, lit in column_equals_string(tree):
        table = _table_of(col, eq.find_ancestor(exp.Select), graph)
        ref = graph.reference(table, col.name)
        if ref is None:
            continue
        ref_table, ref_key = ref
        value = lit.this
        if exists(fetch, ref_table, ref_key, value):
            continue
        matches = [c for c in text_columns.get(ref_table, ()) if c != ref_key and exists(fetch, ref_table, c, value)]
        if len(matches) != 1:
            continue
        sub = exp.select(exp.column(ref_key)).from_(ref_table).where(
            exp.EQ(this=exp.column(matches[0]), expression=exp.Literal.string(value)))
        eq.replace(exp.In(this=col.copy(), query=exp.Subquery(this=sub)))
        changed = True
    return tree if changed else None


def column_equals_string(tree: exp.Expression) -> list[tuple[exp.EQ, exp.Column, exp.Literal]]:
    """Every `column = 'text'` comparison (either side first), as (comparison, column, literal)."""
    out = []
    for eq in tree.find_all(exp.EQ):
        col, lit = eq.this, eq.expression
        if isinstance(lit, exp.Column) and isinstance(col, exp.Literal):
            col, lit = lit, col
        if isinstance(col, exp.Column) and isinstance(lit, exp.Literal) and lit.is_string:
            out.append((eq, col, lit))
    return out


def _table_of(col: exp.Column, select: exp.Select | None, graph: JoinGraph) -> str | None:
    """The table a column reads from: its alias's table, or the one table of the SELECT that has it."""
    if select is None:
        return None
    tables = query_tables(select)
    if col.table:
        return tables.get(col.table)
    holders = [t for t in tables.values() if graph.has(t, col.name)]
    return holders[0] if len(holders) == 1 else None


def exists(fetch: Fetch, table: str, column: str, value: str) -> bool:
    try:
        return bool(fetch(f'SELECT 1 FROM "{table}" WHERE "{column}" = :v LIMIT 1', {"v": value}))
    except SqlToolError:                    # a column the reader may not see, a type mismatch: no evidence
        return False
