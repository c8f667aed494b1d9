"""Grouping columns first: `SELECT SUM(fare), currency ... GROUP BY currency` becomes `SELECT currency,
SUM(fare) ...`. Staff read a per-currency table by its currency column, and a small model often
writes the aggregate first. Changes no value and no row."""
from __future__ import annotations

from sqlglot import exp

from assistant.rewrite.common import positional_order, same_column
from assistant.rewrite.context import Context


def grouping_columns_first(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """The query with its grouping columns moved to the front, or None when nothing moves."""
    if not isinstance(tree, exp.Select) or not tree.args.get("group") or positional_order(tree):
        return None                                   # ORDER BY 2 would then sort by another column
    group = tree.args["group"].expressions
    keys = {g.sql(dialect=ctx.dialect).lower() for g in group}
    outputs = tree.expressions
    if any(isinstance(e, exp.Star) for e in outputs):
        return None

    def is_key(e: exp.Expression) -> bool:
        inner = e.this if isinstance(e, exp.Alias) else e
        return (inner.sql(dialect=ctx.dialect).lower() in keys or bool(e.alias and e.alias.lower() in keys)
                or any(same_column(inner, g) for g in group))

    first = [e for e in outputs if is_key(e)]
    rest = [e for e in outputs if not is_key(e)]
    if not first or not rest or outputs[:len(first)] == first:
        return None
    tree.set("expressions", first + rest)
    return tree
