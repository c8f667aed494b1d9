"""Day comparisons on a timestamp, `date(col) = '2026-06-15'`, rewritten as half-open ranges on the
column itself: `col >= '2026-06-15' AND col < '2026-06-16'`.

Why the model is asked for the short form: on 2 CPU cores every generated token costs ~0.1 s, and
Qwen's tokenizer spells each digit of a date as its own token. A day written as a range costs 37
tokens, as `date(col) = '...'` 20; date filters were over a quarter of all generated tokens on the
development questions. Why the database gets the long form: a function of the column hides it from
an index (`bookings.created_at` on a million passengers), while a range on the bare column can use
one. Both forms select the same rows for the ISO timestamps both engines store ('YYYY-MM-DD
HH:MM:SS' text in SQLite, TIMESTAMP in PostgreSQL), so only columns the schema types as timestamps or
dates are rewritten; on any other column the query runs as written.

Handled: `=`, `BETWEEN`, `>=`, `>`, `<`, `<=` between `date(col)` (or `CAST(col AS DATE)`) and a
'YYYY-MM-DD' literal, either side. Also the model's shorthands for the hint it was given, on a bare
timestamp: `col = 'day'` (read literally, only midnight of that day: nothing in SQLite, whose
timestamps are text) and `col BETWEEN 'first day' AND 'last day'` (read literally, it stops at the
midnight starting the last day and drops that day's flights). Nobody who writes either means that.
On a DATE column both rewrites select exactly the rows they did.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.rewrite.context import Context

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ}


def day_ranges(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """The query with its day comparisons on timestamp columns turned into ranges, or None if none.

    `ctx.timestamp_columns` maps a table to its TIMESTAMP/DATE columns (lower case)."""
    changed = False
    for node in list(tree.find_all(exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)):
        replacement = _as_range(node, ctx.timestamp_columns)
        if replacement is not None:
            node.replace(replacement)
            changed = True
    return tree if changed else None


def _as_range(node: exp.Expression, timestamp_columns) -> exp.Expression | None:
    if isinstance(node, exp.Between):
        col = _day_of(node.this, timestamp_columns) or timestamp_column(node.this, timestamp_columns)
        low, high = _literal_day(node.args.get("low")), _literal_day(node.args.get("high"))
        if col is None or low is None or high is None:
            return None
        return _days(col, low, high)
    op, left, right = type(node), node.this, node.expression
    col, day = _day_of(left, timestamp_columns), _literal_day(right)
    if col is None:                                   # '2026-06-15' <= date(col)
        col, day, op = _day_of(right, timestamp_columns), _literal_day(left), _FLIP[op]
    if col is None and op is exp.EQ:                  # the bare timestamp: col = '2026-06-15'
        col, day = timestamp_column(left, timestamp_columns), _literal_day(right)
        if col is None:
            col, day = timestamp_column(right, timestamp_columns), _literal_day(left)
    if col is None or day is None:
        return None
    next_day = _lit(day + timedelta(days=1))
    if op is exp.EQ:
        return _days(col, day, day)
    if op is exp.GTE:
        return exp.GTE(this=col.copy(), expression=_lit(day))
    if op is exp.GT:
        return exp.GTE(this=col.copy(), expression=next_day)
    if op is exp.LT:
        return exp.LT(this=col.copy(), expression=_lit(day))
    return exp.LT(this=col.copy(), expression=next_day)      # <=


def _days(col: exp.Column, first: date, last: date) -> exp.Expression:
    """(col >= 'first' AND col < 'the day after last')."""
    return exp.paren(exp.and_(exp.GTE(this=col.copy(), expression=_lit(first)),
                              exp.LT(this=col.copy(), expression=_lit(last + timedelta(days=1)))), copy=False)


def _day_of(e: exp.Expression | None, timestamp_columns) -> exp.Column | None:
    """The column of `date(col)` / `CAST(col AS DATE)` when it is a timestamp or date column."""
    if isinstance(e, exp.Date) and not e.expressions or isinstance(e, (exp.Cast, exp.TsOrDsToDate)) and (
            not isinstance(e, exp.Cast) or e.to.is_type(exp.DataType.Type.DATE)):
        inner = e.this
    else:
        return None
    return timestamp_column(inner, timestamp_columns)


def timestamp_column(inner: exp.Expression | None, timestamp_columns) -> exp.Column | None:
    """`inner` when it is a column the schema types as a timestamp or date (and it resolves to one table)."""
    if not isinstance(inner, exp.Column):
        return None
    select = inner.find_ancestor(exp.Select)
    tables = query_tables(select) if select else {}
    if inner.table:
        candidates = [tables.get(inner.table)]
    else:
        candidates = list(dict.fromkeys(tables.values()))
    name = inner.name.lower()
    owners = [t for t in candidates if t and name in timestamp_columns.get(t.lower(), ())]
    return inner if len(owners) == 1 or (inner.table and owners) else None


def _literal_day(e: exp.Expression | None) -> date | None:
    if isinstance(e, exp.Literal) and e.is_string and _DAY.fullmatch(e.this):
        try:
            return date.fromisoformat(e.this)
        except ValueError:
            return None
    return None


def _lit(d: date) -> exp.Literal:
    return exp.Literal.string(d.isoformat())
