"""The plan: a query over one semantic view, read by sqlglot into its parts (view, fields, measures,
groupings, filters, order, limit), which is what staff see and (next) edit and verify.

There is no second syntax for the model to learn (a JSON plan got 11/100 in issue 25's probe): the
model writes SQL over one view and the plan is that SQL, parsed. A query the parts cannot hold (a join
of views, a subquery, a UNION, an OR of filters) is still a plan, with `editable` False and the reason,
and runs where the guard accepts it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from assistant.plan.compile import SQLGLOT_DIALECT, parse, views_in
from assistant.plan.errors import PlanError
from db.catalog.views import SemanticView

_OPS = {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
        exp.Like: "LIKE", exp.ILike: "ILIKE"}


@dataclass(frozen=True)
class Filter:
    """One condition of the WHERE (they are ANDed): `column op value`, `column IN (values)`,
    `column BETWEEN low AND high`, `column IS [NOT] NULL`; `sql` is how it reads."""
    column: str | None
    op: str
    values: tuple = ()
    sql: str = ""


@dataclass(frozen=True)
class Measure:
    """An aggregate in the SELECT list: function, the column it reads (None: rows), DISTINCT."""
    function: str
    column: str | None
    distinct: bool = False
    name: str = ""
    sql: str = ""


@dataclass(frozen=True)
class Plan:
    view: str | None
    fields: tuple[str, ...] = ()              # what is shown per row (non-aggregates), as written
    measures: tuple[Measure, ...] = ()
    groupings: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    having: tuple[str, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()  # (expression, descending)
    limit: int | None = None
    distinct: bool = False
    editable: bool = True
    reason: str = ""                          # why it is not editable
    sql: str = ""                             # the query over the view, as the model wrote it
    views: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        """What the answer, the audit record and the API carry."""
        return {"view": self.view, "fields": list(self.fields),
                "measures": [m.__dict__ for m in self.measures], "groupings": list(self.groupings),
                "filters": [f.__dict__ | {"values": list(f.values)} for f in self.filters],
                "having": list(self.having), "order": [list(o) for o in self.order], "limit": self.limit,
                "distinct": self.distinct, "editable": self.editable, "reason": self.reason, "sql": self.sql}


def read_plan(sql: str | exp.Expression, views: dict[str, SemanticView], dialect: str) -> Plan:
    """The plan of a query over the views. Raises PlanError when the text is not one SELECT or
    names no view."""
    d = SQLGLOT_DIALECT[dialect]
    tree = parse(sql, dialect) if isinstance(sql, str) else sql
    text = tree.sql(dialect=d)
    named = tuple(dict.fromkeys(views_in(tree, views)))
    if not named:
        raise PlanError("the query names none of the catalog's views")
    if not isinstance(tree, exp.Select):
        return Plan(view=named[0], editable=False, reason="not a single SELECT", sql=text, views=named)
    filters = _filters(tree.args.get("where"), d)
    reason = _not_editable(tree, named, filters)
    return Plan(view=named[0], fields=tuple(p.sql(dialect=d) for p in tree.expressions if not _aggregate(p)),
                measures=tuple(_measure(p, d) for p in tree.expressions if _aggregate(p)),
                groupings=tuple(g.sql(dialect=d) for g in (tree.args.get("group") or exp.Group()).expressions),
                filters=filters,
                having=(tree.args["having"].this.sql(dialect=d),) if tree.args.get("having") else (),
                order=tuple((o.this.sql(dialect=d), bool(o.args.get("desc")))
                            for o in (tree.args.get("order") or exp.Order()).expressions),
                limit=_limit(tree), distinct=bool(tree.args.get("distinct")),
                editable=not reason, reason=reason, sql=text, views=named)


def _not_editable(tree: exp.Select, named: tuple[str, ...], filters: tuple[Filter, ...]) -> str:
    if tree.args.get("with") or any(s is not tree for s in tree.find_all(exp.Select)):
        return "has a subquery"
    if len(named) > 1 or tree.args.get("joins"):
        return "joins more than one view"
    if any(f.column is None for f in filters):
        return "a condition is not a simple filter"
    return ""


def _aggregate(p: exp.Expression) -> bool:
    return p.find(exp.AggFunc) is not None


def _measure(p: exp.Expression, d: str) -> Measure:
    agg = p.find(exp.AggFunc)
    arg = agg.this
    distinct = isinstance(arg, exp.Distinct)
    if distinct:
        arg = arg.expressions[0] if arg.expressions else None
    column = arg.name if isinstance(arg, exp.Column) else (None if isinstance(arg, exp.Star) or arg is None
                                                          else arg.sql(dialect=d))
    return Measure(function=agg.key.upper(), column=column, distinct=distinct, name=p.alias_or_name,
                   sql=p.sql(dialect=d))


def _conjuncts(e: exp.Expression) -> list[exp.Expression]:
    e = e.unnest()
    if isinstance(e, exp.And):
        return _conjuncts(e.this) + _conjuncts(e.expression)
    return [e]


def _value(e: exp.Expression):
    if isinstance(e, exp.Literal):
        return e.to_py()
    if isinstance(e, exp.Null):
        return None
    if isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal):
        return -e.this.to_py()
    return e.sql()


def _filter(c: exp.Expression, d: str) -> Filter | None:
    """The condition as a Filter when it is `column op constant` (or IN, BETWEEN, IS NULL), else None."""
    negated = isinstance(c, exp.Not)
    inner = c.this if negated else c
    col = inner.this if isinstance(inner, (exp.In, exp.Between, exp.Is, *_OPS)) else None
    if not isinstance(col, exp.Column):
        return None
    if isinstance(inner, exp.In) and not inner.args.get("query"):
        if not all(isinstance(v, (exp.Literal, exp.Neg)) for v in inner.expressions):
            return None
        return Filter(col.name, "NOT IN" if negated else "IN", tuple(_value(v) for v in inner.expressions),
                      c.sql(dialect=d))
    if isinstance(inner, exp.Between):
        return Filter(col.name, "BETWEEN", (_value(inner.args["low"]), _value(inner.args["high"])), c.sql(dialect=d))
    if isinstance(inner, exp.Is):
        return Filter(col.name, "IS NOT NULL" if negated else "IS NULL", (), c.sql(dialect=d))
    op = _OPS.get(type(inner))
    if op and isinstance(inner.expression, (exp.Literal, exp.Neg, exp.Boolean)) and not negated:
        return Filter(col.name, op, (_value(inner.expression),), c.sql(dialect=d))
    return None


def _filters(where, d: str) -> tuple[Filter, ...]:
    if not where:
        return ()
    out = []
    for c in _conjuncts(where.this):
        f = _filter(c, d)
        out.append(f if f is not None else Filter(None, "SQL", (), c.sql(dialect=d)))
    return tuple(out)


def _limit(tree: exp.Select) -> int | None:
    limit = tree.args.get("limit")
    if limit is None:
        return None
    e = limit.expression
    return int(e.to_py()) if isinstance(e, exp.Literal) and e.is_int else None
