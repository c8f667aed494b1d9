"""Put a grouped query's grouping columns first: `SELECT SUM(fare), currency ... GROUP BY currency`
becomes `SELECT currency, SUM(fare) ...`.

Staff read a per-currency table by its currency column, and the prompt asks for grouping columns first;
a small model often writes the aggregate first anyway. Moving output columns changes no value and no
row, only their order, so this is done deterministically instead of spending a model call.
"""
from __future__ import annotations

import sqlglot
from sqlglot import exp


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
