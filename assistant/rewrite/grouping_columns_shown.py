"""Grouping columns shown: `SELECT COUNT(*) FROM baggage ... GROUP BY f.destination` returns bare counts
nobody can read (which airport is which?); the missing grouping columns are added in front. Changes no
group and no value, only what the table shows."""
from __future__ import annotations

from sqlglot import exp

from assistant.rewrite.common import positional_order, same_column
from assistant.rewrite.context import Context


def grouping_columns_shown(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """A grouped query whose GROUP BY columns are not all in its SELECT, with the missing ones added in
    front; None when every one is shown (or the query is not a plain grouped SELECT).

    Not for DISTINCT (another column would change which rows are distinct), a star, or positional
    GROUP BY / ORDER BY (their numbers would point at other columns)."""
    if not isinstance(tree, exp.Select) or not tree.args.get("group") or tree.args.get("distinct"):
        return None
    group = tree.args["group"].expressions
    outputs = tree.expressions
    if any(isinstance(e, exp.Star) or isinstance(e, exp.Column) and isinstance(e.this, exp.Star) for e in outputs) \
            or any(isinstance(g, exp.Literal) for g in group) or positional_order(tree):
        return None
    aliases = {e.alias.lower() for e in outputs if e.alias}
    shown = {(e.this if isinstance(e, exp.Alias) else e).sql(dialect=ctx.dialect).lower() for e in outputs}

    def is_shown(g: exp.Expression) -> bool:
        if g.sql(dialect=ctx.dialect).lower() in shown:
            return True
        if isinstance(g, exp.Column) and not g.table and g.name.lower() in aliases:
            return True
        return any(same_column(g, e.this if isinstance(e, exp.Alias) else e) for e in outputs)

    missing = [g.copy() for g in group if not is_shown(g)]
    if not missing:
        return None
    tree.set("expressions", missing + list(outputs))
    return tree
