"""The count asked beside another aggregate: 'cuántas hay y peso promedio', 'how many bags and their
total weight' answered without the count gets `COUNT(*)` where the question puts it."""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import query_tables
from assistant.rewrite.common import same_column, table_named
from assistant.rewrite.context import Context

# Words after 'cuántos' that are no noun: 'cuántos son', 'how many are there'.
_NO_NOUN = {"son", "hay", "fueron", "eran", "habia", "hubo", "are", "were", "there", "y", "and", "en", "in"}


def requested_count(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """None when nothing changes.

    Only when the question asks for exactly one count of rows (its noun names a table the query reads,
    or it has no noun: 'cuantos son', 'how many are there'), not of distinct things, and also for
    another aggregate; the query aggregates, has no COUNT and no conditional sum (a count written as
    `SUM(CASE ...)`), and every plain output is a grouping column. Then the query's rows are the groups
    the question counts, and `COUNT(*)` counts what it asked."""
    asked = ctx.asked
    if asked.distinct:
        return None
    if not isinstance(tree, exp.Select) or tree.find(exp.Count) or any(
            s.find(exp.Case, exp.Literal) for s in tree.find_all(exp.Sum)):
        return None
    outputs = tree.expressions
    aggregates = [i for i, e in enumerate(outputs) if e.find(exp.AggFunc)]
    group = tree.args["group"].expressions if tree.args.get("group") else []
    if not aggregates or any(isinstance(e, exp.Star) or (i not in aggregates and not any(
            same_column(e.this if isinstance(e, exp.Alias) else e, g) for g in group))
            for i, e in enumerate(outputs)):
        return None
    tables = set(query_tables(tree).values())
    counts = [c.pos for c in asked.counts
              if c.noun is None or c.noun in _NO_NOUN or table_named(c.noun, ctx.table_names) in tables]
    others = asked.other_aggregates
    if len(counts) != 1 or not others:
        return None
    at = aggregates[0] if counts[0] < min(others) else len(outputs)
    tree.set("expressions", [*outputs[:at], exp.Count(this=exp.Star()), *outputs[at:]])
    return tree
