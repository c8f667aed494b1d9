"""Edits of a plan: staff remove or change a filter, change the grouping, the measure, the order or the
limit, and the query over the view is rewritten to match, with no model call (issue 27).

An edit works on the plan's own SQL (the query over ONE view, as `read_plan` read it), never on the
expanded base-table SQL: the edited query is read into a new plan, expanded by the same compiler and
run through the same guard, masking and audit as any answer, so an edit can reach nothing a question
could not. Every column an edit names must be a column of the plan's view; every value is a literal.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from assistant.plan.compile import SQLGLOT_DIALECT, parse
from assistant.plan.errors import PlanError
from assistant.plan.plan import _aggregate, _conjuncts, read_plan
from db.catalog.views import SemanticView

OPERATORS = ("=", "<>", ">", ">=", "<", "<=", "IN", "NOT IN", "BETWEEN", "IS NULL", "IS NOT NULL")
FUNCTIONS = ("COUNT", "SUM", "AVG", "MIN", "MAX")
KINDS = ("remove_filter", "set_filter", "add_filter", "set_grouping", "set_measure", "set_order", "set_limit")


class EditError(PlanError):
    """An edit that cannot apply: the plan is not editable, a column the view does not have, an index
    out of range, a value that is not a plain literal. The message says which."""


@dataclass(frozen=True)
class Edit:
    """One change to a plan. `index` counts the plan's filters or measures from 0, as `Plan.as_dict`
    lists them. `columns` is the new grouping (empty: no grouping) or, for a filter or a measure, the
    one column; `values` the filter's literals; `function` a measure's aggregate; `limit` None drops it."""
    kind: str
    index: int | None = None
    columns: tuple[str, ...] = ()
    operator: str = "="
    values: tuple = ()
    function: str = ""
    distinct: bool = False
    descending: bool = True
    limit: int | None = None

    @classmethod
    def from_dict(cls, d: dict) -> Edit:
        """The API's and the UI's form (`{"kind": "remove_filter", "index": 1}`), checked."""
        if not isinstance(d, dict) or d.get("kind") not in KINDS:
            raise EditError(f"an edit needs a kind, one of {', '.join(KINDS)}")
        column = d.get("column")
        columns = tuple(d.get("columns") or ((column,) if column else ()))
        values = d.get("values", ())
        if not isinstance(values, (list, tuple)):
            values = (values,)
        try:
            return cls(kind=d["kind"], index=None if d.get("index") is None else int(d["index"]),
                       columns=tuple(str(c) for c in columns), operator=str(d.get("operator") or "=").upper(),
                       values=tuple(values), function=str(d.get("function") or "").upper(),
                       distinct=bool(d.get("distinct")), descending=bool(d.get("descending", True)),
                       limit=None if d.get("limit") is None else int(d["limit"]))
        except (TypeError, ValueError) as exc:
            raise EditError(f"the edit is malformed: {exc}") from None

    def describe(self) -> str:
        """A line for the audit trace and the answer: 'remove_filter 1', 'set_grouping origin_city'."""
        parts = [self.kind]
        if self.index is not None:
            parts.append(str(self.index))
        parts += list(self.columns)
        if self.kind in ("set_filter", "add_filter"):
            parts.append(self.operator)
            parts += [repr(v) for v in self.values]
        if self.kind == "set_measure":
            parts.append(self.function + (" DISTINCT" if self.distinct else ""))
        if self.kind == "set_limit":
            parts.append(str(self.limit))
        if self.kind == "set_order":
            parts.append("DESC" if self.descending else "ASC")
        return " ".join(parts)


def apply_edit(sql: str, edit: Edit, views: dict[str, SemanticView], dialect: str) -> str:
    """The plan's query over its view (`Plan.sql`) with `edit` applied, in `dialect`. Raises EditError."""
    return edited(sql, edit, views, dialect)[0]


def edited(sql: str, edit: Edit, views: dict[str, SemanticView], dialect: str):
    """`apply_edit`'s query, with its tree read back from that text and the plan read from the tree:
    (sql, tree, plan), what the caller expands and shows, read once."""
    d = SQLGLOT_DIALECT[dialect]
    tree = parse(sql, dialect)
    plan = read_plan(tree, views, dialect)
    if not plan.editable:
        raise EditError(f"this query cannot be edited ({plan.reason}); ask again instead")
    view = views[plan.view]
    handler = _HANDLERS.get(edit.kind)
    if handler is None:
        raise EditError(f"unknown edit {edit.kind!r}; one of {', '.join(KINDS)}")
    handler(tree, edit, view)
    out = tree.sql(dialect=d)
    tree = parse(out, dialect)
    return out, tree, read_plan(tree, views, dialect)    # still one view, still readable: the edit made a plan


def _column(view: SemanticView, name: str) -> exp.Column:
    col = view.column(name)
    if col is None:
        raise EditError(f"the view {view.name} has no column {name!r}")
    return exp.column(col.name)


def _literal(value) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise EditError(f"a filter value must be text or a number, not {type(value).__name__}")


def _condition(view: SemanticView, edit: Edit) -> exp.Expression:
    if len(edit.columns) != 1:
        raise EditError("a filter names exactly one column")
    col = _column(view, edit.columns[0])
    op, values = edit.operator, [_literal(v) for v in edit.values]
    if op not in OPERATORS:
        raise EditError(f"unknown operator {op!r}; one of {', '.join(OPERATORS)}")
    if op in ("IS NULL", "IS NOT NULL"):
        cond = exp.Is(this=col, expression=exp.null())
        return exp.Not(this=cond) if op == "IS NOT NULL" else cond
    if op in ("IN", "NOT IN"):
        if not values:
            raise EditError(f"{op} needs at least one value")
        cond = exp.In(this=col, expressions=values)
        return exp.Not(this=cond) if op == "NOT IN" else cond
    if op == "BETWEEN":
        if len(values) != 2:
            raise EditError("BETWEEN needs two values")
        return exp.Between(this=col, low=values[0], high=values[1])
    if len(values) != 1:
        raise EditError(f"{op} needs one value")
    cls = {"=": exp.EQ, "<>": exp.NEQ, ">": exp.GT, ">=": exp.GTE, "<": exp.LT, "<=": exp.LTE}[op]
    return cls(this=col, expression=values[0])


def _where(tree: exp.Select) -> list[exp.Expression]:
    where = tree.args.get("where")
    return [c.copy() for c in _conjuncts(where.this)] if where else []


def _set_where(tree: exp.Select, conditions: list[exp.Expression]) -> None:
    tree.set("where", exp.Where(this=exp.and_(*conditions)) if conditions else None)


def _filter_index(edit: Edit, conditions: list) -> int:
    if edit.index is None or not 0 <= edit.index < len(conditions):
        raise EditError(f"there is no filter {edit.index} (the plan has {len(conditions)})")
    return edit.index


def _remove_filter(tree, edit, view) -> None:
    conditions = _where(tree)
    del conditions[_filter_index(edit, conditions)]
    _set_where(tree, conditions)


def _set_filter(tree, edit, view) -> None:
    conditions = _where(tree)
    i = _filter_index(edit, conditions)
    if not edit.columns:            # the same column, new values: read it from the condition itself
        col = next(iter(conditions[i].find_all(exp.Column)), None)
        edit = Edit(**{**edit.__dict__, "columns": (col.name,) if col is not None else ()})
    conditions[i] = _condition(view, edit)
    _set_where(tree, conditions)


def _add_filter(tree, edit, view) -> None:
    _set_where(tree, [*_where(tree), _condition(view, edit)])


def _set_grouping(tree, edit, view) -> None:
    """The new grouping columns replace the old ones in GROUP BY and at the head of the SELECT list
    (a grouped answer shows what it is grouped by, first); the measures stay."""
    new = [_column(view, c) for c in edit.columns]
    if not any(_aggregate(p) for p in tree.expressions):
        raise EditError("only a query with a count, sum or other measure can be grouped")
    old = {g.sql() for g in (tree.args.get("group") or exp.Group()).expressions}
    kept = [p for p in tree.expressions if _aggregate(p) or p.unalias().sql() not in old]
    tree.set("expressions", [*new, *kept])
    tree.set("group", exp.Group(expressions=[c.copy() for c in new]) if new else None)
    order = tree.args.get("order")
    if order is not None:           # an order by a grouping that is gone would fail: drop it
        keep = [o for o in order.expressions if o.this.sql() not in old or o.this.sql() in {c.sql() for c in new}]
        tree.set("order", exp.Order(expressions=keep) if keep else None)


def _set_measure(tree, edit, view) -> None:
    measures = [i for i, p in enumerate(tree.expressions) if _aggregate(p)]
    if edit.index is None or not 0 <= edit.index < len(measures):
        raise EditError(f"there is no measure {edit.index} (the plan has {len(measures)})")
    if edit.function not in FUNCTIONS:
        raise EditError(f"unknown measure {edit.function!r}; one of {', '.join(FUNCTIONS)}")
    if edit.function != "COUNT" and len(edit.columns) != 1:
        raise EditError(f"{edit.function} needs one column")
    arg = _column(view, edit.columns[0]) if edit.columns else exp.Star()
    if edit.distinct:
        if not edit.columns:
            raise EditError("a distinct count needs a column")
        arg = exp.Distinct(expressions=[arg])
    agg = {"COUNT": exp.Count, "SUM": exp.Sum, "AVG": exp.Avg, "MIN": exp.Min, "MAX": exp.Max}[edit.function](this=arg)
    position = measures[edit.index]
    old = tree.expressions[position]
    new = exp.alias_(agg, old.alias) if old.alias else agg
    expressions = list(tree.expressions)
    expressions[position] = new
    tree.set("expressions", expressions)
    order = tree.args.get("order")
    if order is not None and not old.alias:      # ORDER BY the old aggregate written out: order by the new
        for o in order.expressions:
            if o.this.sql() == old.sql():
                o.set("this", agg.copy())


def _set_order(tree, edit, view) -> None:
    """Order by one column or by a measure (`columns` empty: by the first measure); `limit` kept."""
    if edit.columns:
        target = _column(view, edit.columns[0])
    else:
        measures = [p for p in tree.expressions if _aggregate(p)]
        if not measures:
            raise EditError("order by what? name a column (the query has no measure)")
        target = exp.column(measures[0].alias) if measures[0].alias else measures[0].unalias().copy()
    tree.set("order", exp.Order(expressions=[exp.Ordered(this=target, desc=edit.descending)]))


def _set_limit(tree, edit, view) -> None:
    if edit.limit is not None and edit.limit < 1:
        raise EditError("a limit is a whole number of rows, 1 or more")
    tree.set("limit", exp.Limit(expression=exp.Literal.number(edit.limit)) if edit.limit is not None else None)


_HANDLERS = {"remove_filter": _remove_filter, "set_filter": _set_filter, "add_filter": _add_filter,
             "set_grouping": _set_grouping, "set_measure": _set_measure, "set_order": _set_order,
             "set_limit": _set_limit}
