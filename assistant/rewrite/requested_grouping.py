"""A grand total asked 'por canal' grouped by that column: `SELECT COUNT(*) FROM special_service_requests`
for '¿cuántas solicitudes hay por código?' becomes a count per code."""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.rewrite.common import bare_columns, column_named, fixed_columns
from assistant.rewrite.context import Context


def requested_grouping(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """The total grouped by the column the question asked it per, which becomes the first output; None
    when nothing changes.

    Only when every output is an aggregate and there is no GROUP BY or DISTINCT, and the words after
    'por'/'by'/'per' (`ctx.asked.groupings`) name exactly one candidate column of the tables the query
    already reads (`ctx.grouping_words`: categorical, non-personal columns). The words after the
    marker that follow the first must narrow the choice, never contradict it: 'por aeropuerto de
    destino' is flights.destination, not origin."""
    if not isinstance(tree, exp.Select) or any(tree.args.get(k) for k in ("group", "distinct", "having")):
        return None
    outputs = tree.expressions
    if not outputs or any(isinstance(e, exp.Star) or e.find(exp.Window) or e.find(exp.Subquery)
                          or not e.find(exp.AggFunc) or bare_columns(e) for e in outputs):
        return None
    tables = query_tables(tree)
    fixed = fixed_columns(tree)
    chosen: list[tuple[str, str]] = []
    for parts in ctx.asked.groupings:
        for phrase in parts:
            found = column_named(phrase, tables, ctx.grouping_words)
            if found is None or (tables[found[0]], found[1].lower()) in fixed:
                break                                    # 'routes by American Airlines' filters, not groups
            if found not in chosen:
                chosen.append(found)
    if not chosen:
        return None
    columns = [exp.column(c, table=a) for a, c in chosen]
    tree.set("expressions", [*columns, *outputs])
    tree.set("group", exp.Group(expressions=[c.copy() for c in columns]))
    return tree
