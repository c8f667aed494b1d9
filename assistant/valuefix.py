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

from collections.abc import Callable, Mapping, Sequence

import sqlglot
from sqlglot import exp

from assistant.joinfix import JoinGraph, query_tables
from sql_tools.errors import SqlToolError

Fetch = Callable[[str, dict], list[tuple]]


def repoint_values(sql: str, dialect: str, graph: JoinGraph, text_columns: Mapping[str, Sequence[str]],
                   fetch: Fetch) -> str | None:
    """`sql` with such comparisons rewritten, or None when there is nothing to rewrite."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:          # ParseError, or TokenError for an unterminated string
        return None
    changed = False
    for eq, col, lit in _column_equals_string(tree):
        table = _table_of(col, eq.find_ancestor(exp.Select), graph)
        ref = graph.reference(table, col.name)
        if ref is None:
            continue
        ref_table, ref_key = ref
        value = lit.this
        if _exists(fetch, ref_table, ref_key, value):
            continue
        matches = [c for c in text_columns.get(ref_table, ()) if c != ref_key and _exists(fetch, ref_table, c, value)]
        if len(matches) != 1:
            continue
        sub = exp.select(exp.column(ref_key)).from_(ref_table).where(
            exp.EQ(this=exp.column(matches[0]), expression=exp.Literal.string(value)))
        eq.replace(exp.In(this=col.copy(), query=exp.Subquery(this=sub)))
        changed = True
    return tree.sql(dialect=dialect) if changed else None


def _column_equals_string(tree: exp.Expression) -> list[tuple[exp.EQ, exp.Column, exp.Literal]]:
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


def _exists(fetch: Fetch, table: str, column: str, value: str) -> bool:
    try:
        return bool(fetch(f'SELECT 1 FROM "{table}" WHERE "{column}" = :v LIMIT 1', {"v": value}))
    except SqlToolError:                    # a column the reader may not see, a type mismatch: no evidence
        return False


def move_values_to_their_table(sql: str, dialect: str, values: Mapping[tuple[str, str], Sequence[str]],
                               fetch: Fetch) -> str | None:
    """`t.status = 'flown'` where tickets.status never holds 'flown' but ticket_segments.status, also
    in the query, does: read the column from that table (`s.status = 'flown'`).

    Several tables share column names (status, currency) and a small model picks the wrong alias.
    `values` are the known values of small categorical columns (a sample, so absence is confirmed with
    `fetch` before anything moves); the value must belong to exactly one other table of the query."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    known = {(t, c.lower()): set(v) for (t, c), v in values.items()}
    changed = False
    for eq, col, lit in _column_equals_string(tree):
        select = eq.find_ancestor(exp.Select)
        if not col.table or select is None:
            continue
        tables = query_tables(select)
        here, name, value = tables.get(col.table), col.name.lower(), lit.this
        if (here, name) not in known or value in known[(here, name)]:
            continue
        others = [alias for alias, t in tables.items() if alias != col.table and value in known.get((t, name), ())]
        if len(others) != 1 or _exists(fetch, here, col.name, value):
            continue
        col.set("table", exp.to_identifier(others[0]))
        changed = True
    return tree.sql(dialect=dialect) if changed else None
