"""Pure helpers on sqlglot trees that several checks share: the branches and projections of a query,
AND conjuncts, constants and whole-number literals, whether a SELECT aggregates or yields one row."""
from __future__ import annotations

import re

from sqlglot import exp

from sql_tools.guard.results import GuardRejection


def _in_distinct_on(col: exp.Expression, select: exp.Expression) -> bool:
    """Is `col` inside the DISTINCT ON (...) list of `select`?"""
    distinct = select.args.get("distinct")
    on = distinct.args.get("on") if isinstance(distinct, exp.Distinct) else None
    if on is None:
        return False
    node = col
    while node is not None and node is not select:
        if node is on:
            return True
        node = node.parent
    return False


def _conjuncts(e: exp.Expression) -> list[exp.Expression]:
    """Top-level AND terms, looking through parentheses."""
    out, stack = [], [e]
    while stack:
        cur = stack.pop()
        while isinstance(cur, exp.Paren):
            cur = cur.this
        if isinstance(cur, exp.And):
            stack.extend([cur.this, cur.expression])
        else:
            out.append(cur)
    return out


def _is_constant(e: exp.Expression | None) -> bool:
    """An expression of literals only (`upper(trim(' qx7k2m '))`, `replace('139-2', '-', '')`)."""
    if e is None or isinstance(e, exp.Null):
        return False
    for n in e.walk():
        if isinstance(n, (exp.Column, exp.Select, exp.Subquery, exp.AggFunc, exp.Window, exp.Star,
                          exp.Null)):
            return False
    return True


def _int_literal(e: exp.Expression | None) -> int | None:
    if isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal) and not e.this.is_string:
        v = _int_literal(e.this)
        return -v if v is not None else None
    if isinstance(e, exp.Literal) and not e.is_string and re.fullmatch(r"\d{1,12}", e.this):
        return int(e.this)
    return None


def _projections(q: exp.Expression) -> list[exp.Expression]:
    return list(_branches(q)[0].expressions)


def _projections_named(q: exp.Expression, name: str) -> list[exp.Expression]:
    """Projection called `name` in a SELECT, or the same position in every branch of a set operation."""
    branches = _branches(q)
    idx = next((i for i, p in enumerate(branches[0].expressions) if p.alias_or_name == name), None)
    if idx is None:
        return []
    return [b.expressions[idx] for b in branches if idx < len(b.expressions)]


def _branches(q: exp.Expression) -> list[exp.Select]:
    if isinstance(q, exp.Select):
        return [q]
    if isinstance(q, exp.Subquery):
        return _branches(q.this)
    if isinstance(q, (exp.Union, exp.Intersect, exp.Except)):
        return _branches(q.this) + _branches(q.expression)
    raise GuardRejection("unsupported_syntax", what=type(q).__name__)


def _single_row(q: exp.Expression) -> bool:
    return isinstance(q, exp.Select) and not q.args.get("group") and _is_aggregated(q)


def _is_aggregated(select: exp.Select) -> bool:
    """GROUP BY, or an aggregate in the SELECT list that is not a window function."""
    if select.args.get("group") or select.args.get("having"):
        return True
    for proj in select.expressions:
        for agg in proj.find_all(exp.AggFunc):
            anc = agg.parent
            windowed = False
            while anc is not None and anc is not select:
                if isinstance(anc, exp.Window):
                    windowed = True
                    break
                if isinstance(anc, (exp.Select, exp.Subquery)):
                    windowed = True  # inside a scalar subquery: not this SELECT's aggregate
                    break
                anc = anc.parent
            if not windowed:
                return True
    return False
