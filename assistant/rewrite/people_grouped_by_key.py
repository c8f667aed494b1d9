"""A person grouped by name is grouped by key too: `GROUP BY p.first_name, p.last_name` gets
`p.passenger_id`, the outputs unchanged. Names are not unique: the demo has namesakes, a real airline has
thousands of José Hernández, and a query grouped by names adds different people's tickets into one row."""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.rewrite.context import Context


def people_grouped_by_key(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """None when nothing changes.

    Only when at least two of the grouping columns are name columns of one table (`ctx.name_columns`:
    the catalog's personal identifier columns per table) and that table's key (`ctx.row_keys`: its
    one-column primary key) is not grouped: a grouping by one name column ('pasajeros por apellido')
    counts a name, and is left alone."""
    changed = False
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if not group:
            continue
        tables = {a.lower(): t for a, t in query_tables(select).items()}
        only = next(iter(tables.values())) if len(set(tables.values())) == 1 else None
        grouped: dict[str, tuple[str, list[str]]] = {}   # qualifier (lower case) -> (as written, columns)
        for g in group.expressions:
            if isinstance(g, exp.Column):
                grouped.setdefault(g.table.lower(), (g.table, []))[1].append(g.name.lower())
        for qualifier, (written, columns) in grouped.items():
            table = tables.get(qualifier) if qualifier else only
            key = ctx.row_keys.get(table or "")
            person = {c.lower() for c in ctx.name_columns.get(table or "", ())}
            if key and key.lower() not in columns and sum(c in person for c in columns) >= 2:
                group.set("expressions", [exp.column(key, table=written or None), *group.expressions])
                changed = True
    return tree if changed else None
