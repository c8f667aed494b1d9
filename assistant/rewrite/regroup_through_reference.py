"""A group by a reference replaced by the referenced column the question names: 'por país de destino'
when the model grouped by `f.destination` (an airport code) becomes a join of the airports and a group
by their country."""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.rewrite.common import column_named
from assistant.rewrite.context import Context


def regroup_through_reference(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """None when nothing changes.

    Only when a plain grouped column is a foreign key to a table the query does not read, the
    question's grouping phrase names that column ('destino') and its other words name exactly one
    candidate column of the referenced table ('país' -> airports.country)."""
    group = tree.args.get("group") if isinstance(tree, exp.Select) else None
    if group is None or ctx.graph is None:
        return None
    words = ctx.grouping_words
    tables = query_tables(tree)
    asked = [p for parts in ctx.asked.groupings for p in parts]
    for key in group.expressions:
        if not isinstance(key, exp.Column) or key.table not in tables:
            continue
        table = tables[key.table]
        ref = ctx.graph.reference(table, key.name)
        own = words.get(table, {}).get(key.name.lower())
        if ref is None or own is None or ref[0] in tables.values():
            continue
        for phrase in asked:
            rest = [w for w in phrase if w not in own]
            if len(rest) == len(phrase) or not rest:
                continue                                  # the phrase must name the key and more
            alias = next(f"{ref[0][0]}{n}" for n in range(1, 99) if f"{ref[0][0]}{n}" not in tables)
            found = column_named(rest, {alias: ref[0]}, words)
            if found is None or found[1].lower() == ref[1].lower():
                continue
            old = key.copy()
            new = exp.column(found[1], table=alias)
            tree.append("joins", exp.Join(this=exp.to_table(ref[0]).as_(alias),
                                          on=exp.EQ(this=exp.column(ref[1], table=alias), expression=old.copy())))
            for col in [c for c in tree.find_all(exp.Column) if c == old and c.find_ancestor(exp.Join) is None]:
                parent = col.parent
                if isinstance(parent, exp.Alias) and parent.alias.lower() == old.name.lower():
                    parent.replace(new.copy())
                else:
                    col.replace(new.copy())
            return tree
    return None
