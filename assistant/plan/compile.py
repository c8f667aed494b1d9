"""Expand SQL over the catalog's semantic views into SQL over the base tables.

The model writes `SELECT origin_city, COUNT(*) FROM coupons WHERE coupon_status = 'no_show' GROUP BY
origin_city`; the database has no `coupons`. Each view named in a FROM or JOIN becomes its table, and
each view column the query uses becomes the base column (or the derived expression) it stands for, with
only the joins those columns need, written LEFT JOIN along the view's foreign keys: every join goes from
a row to its parent, so no join adds or drops a row of the view's table and a COUNT over the view
counts what it did before. The result names base tables and columns only, so the guard, the column
grants, masking and the audit see what they always saw: a role that may not read a column cannot read
it through a view.

A bare view column in the SELECT list keeps its view name as the output name (`flight.status AS
flight_status`), so the table staff see has the columns they asked for.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot
from sqlglot import exp

from assistant.plan.errors import AmbiguousViewColumn, PlanError, UnknownViewColumn
from db.catalog.views import BASE, SemanticView

SQLGLOT_DIALECT = {"sqlite": "sqlite", "postgres": "postgres", "postgresql": "postgres"}


@dataclass
class _Use:
    """One view named in one SELECT: its alias there and the joins its columns need."""
    view: SemanticView
    alias: str
    table: exp.Table
    sources: set[str] = field(default_factory=set)
    join_alias: dict[str, str] = field(default_factory=dict)


def parse(sql: str, dialect: str) -> exp.Expression:
    """One parse of a reply, shared by the plan and the expansion. Raises PlanError when it is not SQL."""
    try:
        tree = sqlglot.parse_one(sql, read=SQLGLOT_DIALECT[dialect])
    except sqlglot.errors.ParseError as exc:
        raise PlanError(f"not SQL: {str(exc).splitlines()[0]}") from None
    if tree is None:
        raise PlanError("not SQL: the reply is empty")
    return tree


def _view_of(table: exp.Table, by_lower: dict[str, SemanticView], ctes: set[str]) -> SemanticView | None:
    """The view a table reference names (a CTE of the same name, or a schema-qualified name, is not one)."""
    name = table.name.lower()
    return by_lower.get(name) if name not in ctes and not table.args.get("db") else None


def _lookup(tree: exp.Expression, views: dict[str, SemanticView]) -> tuple[dict[str, SemanticView], set[str]]:
    return {v.lower(): views[v] for v in views}, {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}


def views_in(tree: exp.Expression, views: dict[str, SemanticView]) -> list[str]:
    """The names of the views a query reads, in the order it names them."""
    by_lower, ctes = _lookup(tree, views)
    return [v.name for t in tree.find_all(exp.Table) if (v := _view_of(t, by_lower, ctes))]


def expand(tree: exp.Expression, views: dict[str, SemanticView], dialect: str) -> exp.Expression:
    """A copy of `tree` with every view replaced by its base tables and joins. A query that names no
    view comes back unchanged (copied). Raises UnknownViewColumn for a column no view has."""
    tree = tree.copy()
    by_lower, ctes = _lookup(tree, views)
    taken = {t.alias_or_name.lower() for t in tree.find_all(exp.Table)}
    for select in list(tree.find_all(exp.Select)):
        sources = _sources(select)
        uses = [_Use(v, t.alias_or_name, t) for t in sources if (v := _view_of(t, by_lower, ctes))]
        if uses:
            _expand_select(select, uses, sources, dialect, taken)
    return tree


def _sources(select: exp.Select) -> list[exp.Table]:
    out = []
    from_ = select.args.get("from_") or select.args.get("from")
    if from_:
        out.append(from_.this)
    out += [j.this for j in select.args.get("joins") or ()]
    return [t for t in out if isinstance(t, exp.Table)]


def _expand_select(select: exp.Select, uses: list[_Use], sources: list[exp.Table], dialect: str,
                   taken: set[str]) -> None:
    aliases = {u.alias.lower(): u for u in uses}
    others = {t.alias_or_name.lower() for t in sources} - set(aliases)
    outputs = {p.alias.lower() for p in select.expressions if isinstance(p, exp.Alias)}
    _expand_stars(select, uses, sources)
    for col in list(_scope_columns(select, aliases)):
        use = _owner(col, uses, aliases, others)
        if use is None:
            continue
        name = col.name.lower()
        if isinstance(col.parent, exp.Ordered) and not col.table and name in outputs:
            continue                 # ORDER BY an output name: the projection's alias
        vcol = use.view.column(col.name)
        if vcol is None:
            if not col.table and (name in outputs or others):
                continue             # an output alias (HAVING n > 5), or a column of another source
            raise UnknownViewColumn(use.view, col.name)
        replacement = _column_sql(use, vcol, dialect, taken)
        if (isinstance(col.parent, exp.Select) and col.arg_key == "expressions"
                and vcol.name.lower() != _base_name(replacement)):
            replacement = exp.alias_(replacement, vcol.name, quoted=False)
        elif isinstance(replacement, (exp.Binary, exp.Unary)) and isinstance(col.parent, (exp.Binary, exp.Unary)):
            replacement = exp.Paren(this=replacement)      # (a - b) / 60.0 > 15, not a - b / 60.0 > 15
        col.replace(replacement)
    for use in uses:
        _write_joins(select, use, taken)


def _scope_columns(select: exp.Select, aliases: dict[str, _Use]):
    """Columns this SELECT resolves: its own (not those of a nested SELECT), and qualified ones in
    nested SELECTs that name one of this SELECT's views (a correlated subquery)."""
    for col in select.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            continue
        nearest = col.find_ancestor(exp.Select)
        if nearest is select:
            yield col
        elif col.table and col.table.lower() in aliases and col.table.lower() not in {
                t.alias_or_name.lower() for t in _sources(nearest)}:
            yield col


def _owner(col: exp.Column, uses: list[_Use], aliases: dict[str, _Use], others: set[str]) -> _Use | None:
    if col.table:
        return aliases.get(col.table.lower())
    having = [u for u in uses if u.view.column(col.name) is not None]
    if len(having) == 1:
        return having[0]
    if len(having) > 1:
        raise AmbiguousViewColumn(col.name, [u.alias for u in having])
    if not having and len(uses) == 1 and not others:
        return uses[0]               # a name the view lacks: reported, unless it is an output alias
    return None


def _base_name(e: exp.Expression) -> str:
    return e.name.lower() if isinstance(e, exp.Column) else ""


def _alias_for(use: _Use, source: str, taken: set[str]) -> str:
    if source == BASE:
        return use.alias
    if source not in use.join_alias:
        name = source
        if name.lower() in taken:
            name = f"{use.alias}_{source}"
            while name.lower() in taken:
                name += "_"
        taken.add(name.lower())
        use.join_alias[source] = name
    return use.join_alias[source]


def _column_sql(use: _Use, vcol, dialect: str, taken: set[str]) -> exp.Expression:
    if not vcol.derived:
        _need(use, vcol.source)
        return exp.column(vcol.column, table=_alias_for(use, vcol.source, taken))
    tree = _derived(vcol.expression(dialect), dialect).copy()
    for ref in list(tree.find_all(exp.Column)):
        source = BASE if ref.table.lower() == "self" else ref.table
        if source == BASE or source in use.view.joins:
            _need(use, source)
            ref.replace(exp.column(ref.name, table=_alias_for(use, source, taken)))
    return tree


@lru_cache(maxsize=512)
def _derived(sql: str, dialect: str) -> exp.Expression:
    """A derived column's expression, parsed once per process (copied before use)."""
    return sqlglot.parse_one(sql, read=SQLGLOT_DIALECT[dialect])


def compile_sql(sql: str | exp.Expression, views: dict[str, SemanticView], dialect: str) -> str:
    """`sql` (text, or its parse) over the views as base-table SQL for `dialect` ('sqlite' or 'postgres');
    text that names no view is returned as it was. Raises PlanError (not SQL, an unknown or ambiguous
    column)."""
    tree = parse(sql, dialect) if isinstance(sql, str) else sql
    if not views_in(tree, views):
        return sql if isinstance(sql, str) else tree.sql(dialect=SQLGLOT_DIALECT[dialect])
    return expand(tree, views, dialect).sql(dialect=SQLGLOT_DIALECT[dialect])


def _need(use: _Use, source: str) -> None:
    while source != BASE and source not in use.sources:
        use.sources.add(source)
        source = use.view.joins[source].parent


def _expand_stars(select: exp.Select, uses: list[_Use], sources: list[exp.Table]) -> None:
    """`SELECT *` over one view, or `SELECT v.*`: every column of the view, by name."""
    new = []
    for p in select.expressions:
        if isinstance(p, exp.Star) and len(uses) == 1 and len(sources) == 1:
            new += [exp.column(c, table=uses[0].alias) for c in uses[0].view.columns]
        elif isinstance(p, exp.Column) and isinstance(p.this, exp.Star) and p.table.lower() in {
                u.alias.lower() for u in uses}:
            use = next(u for u in uses if u.alias.lower() == p.table.lower())
            new += [exp.column(c, table=use.alias) for c in use.view.columns]
        else:
            new.append(p)
    select.set("expressions", new)


def _write_joins(select: exp.Select, use: _Use, taken: set[str]) -> None:
    """The view's table under the view's alias, then the LEFT JOINs its columns need, in the view's
    order (a parent before its children), right after where the view was named."""
    existing = list(select.args.get("joins") or [])
    at = next((i + 1 for i, jn in enumerate(existing) if jn.this is use.table), 0)
    base = exp.to_table(use.view.table)
    use.table.replace(exp.alias_(base, use.alias, table=True) if use.alias.lower() != use.view.table.lower()
                      else base)
    joins = []
    for j in use.view.joins.values():
        if j.name not in use.sources:
            continue
        alias = _alias_for(use, j.name, taken)
        parent = _alias_for(use, j.parent, taken)
        on = exp.EQ(this=exp.column(j.key, table=alias), expression=exp.column(j.column, table=parent))
        joins.append(exp.Join(this=exp.alias_(exp.to_table(j.table), alias, table=True), side="LEFT", on=on))
    if joins:
        select.set("joins", existing[:at] + joins + existing[at:])
