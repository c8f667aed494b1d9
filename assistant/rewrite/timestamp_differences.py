"""SQLite: the difference of two timestamp columns read as the seconds between them. SQLite stores
timestamps as text and subtracts text as the numbers its leading digits spell: the difference of two
timestamps is the difference of their years, 0 for a delay of 45 minutes. A small model writes
`AVG(actual_departure - scheduled_departure) / 60` anyway, and the answer looks like a real one."""
from __future__ import annotations

import sqlglot
from sqlglot import exp

from assistant.rewrite.context import Context
from assistant.rewrite.day_ranges import timestamp_column


def timestamp_differences(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """`a - b` of two timestamp columns rewritten as `(strftime('%s', a) - strftime('%s', b))`. None when
    there is none, or on another dialect: seconds is what every other engine's reading converts to and
    what the dialect line of the prompt asks for, and PostgreSQL subtracts timestamps into an interval,
    which means what the model meant, so its queries run as written."""
    dialect = ctx.dialect
    if dialect != "sqlite":
        return None
    changed = False
    for sub in list(tree.find_all(exp.Sub)):
        a, b = timestamp_column(sub.this, ctx.timestamp_columns), timestamp_column(sub.expression, ctx.timestamp_columns)
        if a is None or b is None:
            continue
        seconds = sqlglot.parse_one(f"(strftime('%s', {a.sql(dialect=dialect)}) - "
                                    f"strftime('%s', {b.sql(dialect=dialect)}))", read=dialect)
        sub.replace(seconds)
        changed = True
    return tree if changed else None
