"""A sum multiplied by an unused one-to-many join loses the join: `SELECT p.last_name, SUM(t.fare_amount)
FROM passengers p JOIN tickets t ON ... JOIN ticket_segments s ON s.ticket_number = t.ticket_number GROUP
BY ...` adds each ticket's fare once per coupon although nothing reads the coupons."""
from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from assistant.joinfix import JoinGraph, table_instances
from assistant.rewrite.common import conjuncts
from assistant.rewrite.context import Context


def fanned_out_totals(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """None when nothing changes.

    Dropped only: a joined table that no column outside its own ON reads (nor an unqualified column it
    could own), whose ON is nothing but equalities of its foreign keys to the table it joins (so each of
    that table's rows meets many of it: the fan-out), and only while the query totals with SUM or AVG
    the columns of other tables, counts nothing (a COUNT may mean the joined rows) and is not DISTINCT.
    Repeated while such a leaf remains."""
    graph = ctx.graph
    instances = table_instances(tree) if isinstance(tree, exp.Select) and graph is not None else None
    if not instances or len(instances) == 1 or tree.find(exp.Count) or tree.args.get("distinct"):
        return None
    totals = [a for a in tree.find_all(exp.Sum, exp.Avg) if a.find_ancestor(exp.Select) is tree]
    if not totals or any(a.find(exp.Distinct) for a in totals):
        return None
    tables = {alias: table for alias, table, _ in instances}
    if len(tables) != len(instances):
        return None                                   # an alias used twice: not worth reading
    measured = {c.table for a in totals for c in a.find_all(exp.Column)}
    unqualified = {c.name.lower() for c in tree.find_all(exp.Column) if not c.table}
    changed = False
    while True:
        leaf = next((j for j in reversed(tree.args.get("joins") or [])
                     if _fanning_leaf(tree, j, tables, measured, unqualified, graph)), None)
        if leaf is None:
            break
        tree.set("joins", [j for j in tree.args["joins"] if j is not leaf])
        changed = True
    return tree if changed else None


def _fanning_leaf(tree: exp.Select, join: exp.Join, tables: Mapping[str, str], measured: set[str],
                  unqualified: set[str], graph: JoinGraph) -> bool:
    alias = join.this.alias_or_name
    table = tables[alias]
    if alias in measured or any(graph.has(table, name) for name in unqualified) or join.args.get("using"):
        return False
    if any(c.table == alias for c in tree.find_all(exp.Column) if c.find_ancestor(exp.Join) is not join):
        return False
    conditions = conjuncts(join.args.get("on"))
    if not conditions:
        return False
    for cond in conditions:
        if not (isinstance(cond, exp.EQ) and isinstance(cond.this, exp.Column)
                and isinstance(cond.expression, exp.Column)):
            return False
        mine, other = (cond.this, cond.expression) if cond.this.table == alias else (cond.expression, cond.this)
        if mine.table != alias or other.table not in tables or other.table == alias:
            return False
        if graph.reference(table, mine.name) != (tables[other.table], other.name.lower()):
            return False
    return True
