"""A column the WHERE fixes that the question never names leaves the output: 'vuelos de Cancún a Tijuana:
salida programada y estatus' asks for two columns; a small model also returns `f.origin, f.destination`,
which are 'CUN' and 'TIJ' on every row."""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.rewrite.common import fixed_columns, positional_order, same_column
from assistant.rewrite.context import Context


def unasked_constant_columns(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """The outputs (and grouping columns) dropped; None when nothing changes.

    Only a bare column set by a top-level `col = literal` conjunct, whose words (`ctx.grouping_words`)
    appear nowhere in the question (`ctx.asked.words`), and only while another output remains; a query
    ordered by output position is left alone."""
    if not isinstance(tree, exp.Select) or not tree.args.get("where") or positional_order(tree):
        return None
    tables = query_tables(tree)
    only = next(iter(tables.values())) if len(set(tables.values())) == 1 else None
    fixed = fixed_columns(tree, top_level=True)
    asked = ctx.asked.words
    keep, dropped = [], []
    for e in tree.expressions:
        col = e.this if isinstance(e, exp.Alias) else e
        table = (tables.get(col.table) if col.table else only) if isinstance(col, exp.Column) else None
        names = ctx.grouping_words.get(table or "", {}).get(col.name) if table else None
        if table and (table, col.name.lower()) in fixed and names and not (names & asked):
            dropped.append(col)
        else:
            keep.append(e)
    if not dropped or not keep:
        return None
    tree.set("expressions", keep)
    group = tree.args.get("group")
    if group is not None:
        rest = [g for g in group.expressions if not any(same_column(g, d) for d in dropped)]
        tree.set("group", exp.Group(expressions=rest) if rest else None)
    return tree
