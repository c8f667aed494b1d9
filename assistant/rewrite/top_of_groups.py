"""The top group(s) of a 'which X has the most Y' question: '¿qué vuelo tiene más maletas?' answered with
every flight's count is ordered by that count and cut to the one (or the N the question names)."""
from __future__ import annotations

from sqlglot import exp

from assistant.rewrite.context import Context


def top_of_groups(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """None when nothing changes.

    Only when the query groups, has exactly one aggregate output and no ORDER BY or LIMIT, and the
    question says 'the most' without asking for an ordering of all groups ('de más a menos') or
    comparing two quantities ('más maletas que asientos')."""
    if not ctx.asked.most:
        return None
    if not isinstance(tree, exp.Select) or not tree.args.get("group") \
            or any(tree.args.get(k) for k in ("order", "limit", "having")):
        return None
    aggregates = [e for e in tree.expressions if e.find(exp.AggFunc)]
    if len(aggregates) != 1:
        return None
    numbers = ctx.asked.top_numbers
    if len(set(numbers)) > 1:
        return None
    inner = aggregates[0].this if isinstance(aggregates[0], exp.Alias) else aggregates[0]
    tree.set("order", exp.Order(expressions=[exp.Ordered(this=inner.copy(), desc=True)]))
    tree.set("limit", exp.Limit(expression=exp.Literal.number(numbers[0] if numbers else 1)))
    return tree
