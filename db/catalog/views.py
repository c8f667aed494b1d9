"""Semantic views: one per grain, every column reachable along the foreign keys joined and named once.

A small model writes good SQL over one well-named table and bad SQL when it has to compose joins
(issue 25's probes: 51/100 on nine views against 0/7 on multi-table joins over the tables). A view is
what it queries instead: its `table` says what one row is (a coupon, a bag, a flight), its `joins`
walk the foreign keys from that table to its parents (many rows to one, so a join never multiplies
rows), and its `columns` name every column of the table and of the joined parents so that no two
names mean different things (`coupon_status`, `flight_status`, `origin_city`, `destination_city`).
Derived columns (a delay in minutes, a flight's date) are defined once, per dialect where SQL differs.

Views are not created in the database. The compiler (`assistant/plan/`) expands a query over a view
into the base tables and the joins it uses, so the guard, the column grants, masking and the audit
see base tables and columns as before: a role that may not read a column cannot read it through a view.

In the catalog file:

    views:
      coupons:
        table: ticket_segments
        noun: {en: coupons, es: cupones}
        description: {en: ..., es: ...}
        joins:                                   # name: [parent.]column -> table.key
          ticket: ticket_number -> tickets.ticket_number
          flight: flight_id -> flights.flight_id
          origin: {fk: flight.origin -> airports.iata_code, label: {en: origin, es: origen}}
        include: {ticket: ticket_, flight: flight_, origin: origin_}
        columns:                                 # renames and derived columns
          coupon_status: status
          origin: flight.origin
          departure_delay_min: {sql: {sqlite: "...", postgresql: "..."}, description: ...}

The view's own table's columns are in the view under their own names unless `columns` renames them;
an `include`d join brings every column of its table as prefix + name (a name that already starts
with the prefix keeps it; the join's key, equal to the column it was reached by, is left out); a
column that `columns` maps explicitly is not included a second time; `omit` leaves names out.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from db.errors import CatalogError

DIALECTS = ("sqlite", "postgresql")
_JOIN = re.compile(r"^\s*(?:(?P<parent>\w+)\.)?(?P<column>\w+)\s*->\s*(?P<table>\w+)\.(?P<key>\w+)\s*$")
_SOURCE = re.compile(r"^(?:(?P<join>\w+)\.)?(?P<column>\w+)$")
# 'join.column' inside a derived column's SQL: the columns it reads.
_REFERENCE = re.compile(r"\b(?P<join>[a-z_]\w*)\.(?P<column>[a-z_]\w*)\b", re.I)
BASE = ""          # the join name of the view's own table


@dataclass(frozen=True)
class ViewJoin:
    """One foreign key walked from the view's table (parent BASE) or from another join, to a parent table."""
    name: str
    parent: str
    column: str
    table: str
    key: str
    label: object = None             # Text2: what the join's columns are of ('origen' / 'origin')


@dataclass(frozen=True)
class ViewColumn:
    """One column of a view: a column of the view's table or of a join (`source`, `column`), or
    derived (`sql`: per dialect, over 'join.column' references, `self.column` for the view's table)."""
    name: str
    source: str = BASE
    column: str | None = None
    sql: dict[str, str] = field(default_factory=dict)
    description: object = None       # Text2
    label: object = None             # Text2

    @property
    def derived(self) -> bool:
        return self.column is None

    def expression(self, dialect: str) -> str:
        """The derived column's SQL for `dialect` ('sqlite', or 'postgres'/'postgresql': the catalog's
        `postgresql` text), else the text written for any dialect."""
        dialect = "postgresql" if dialect in ("postgres", "postgresql") else dialect
        return self.sql.get(dialect) or self.sql.get("any") or next(iter(self.sql.values()))

    def reads(self) -> set[tuple[str, str]]:
        """(join, column) pairs this column reads: one for a plain column, every reference for a derived one."""
        if not self.derived:
            return {(self.source, self.column)}
        out = set()
        for text in self.sql.values():
            for m in _REFERENCE.finditer(_without_strings(text)):
                out.add((BASE if m["join"] == "self" else m["join"], m["column"]))
        return out


@dataclass(frozen=True)
class SemanticView:
    name: str
    table: str
    joins: dict[str, ViewJoin]
    columns: dict[str, ViewColumn]
    noun: object = None               # Text2
    description: object = None        # Text2

    def table_of(self, source: str) -> str:
        return self.table if source == BASE else self.joins[source].table

    def column(self, name: str) -> ViewColumn | None:
        """The column called `name`, in any case (SQL folds unquoted names)."""
        found = self.columns.get(name)
        if found is None:
            found = next((c for n, c in self.columns.items() if n.lower() == name.lower()), None)
        return found


def _without_strings(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def parse_views(raw, tables: dict, source: str, text2) -> dict[str, SemanticView]:
    """The catalog's `views:` section, checked against its `tables` (exposed tables and their columns):
    every join follows a 'column -> table.key' between listed columns, every column comes from a
    listed column, and no two view columns share a name. Foreign keys are checked against the
    database by `check_views_against_database`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CatalogError(f"{source}: views: expected a mapping of view names")
    views = {}
    for vname, vraw in raw.items():
        where = f"{source}: view {vname}"
        if not isinstance(vraw, dict):
            raise CatalogError(f"{where}: expected a mapping")
        unknown = set(vraw) - {"table", "noun", "description", "joins", "include", "columns", "omit"}
        if unknown:
            raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
        base = vraw.get("table")
        if base not in tables or not tables[base].exposed:
            raise CatalogError(f"{where}: table {base!r} is not an exposed table of the catalog")
        joins = _joins(vraw.get("joins") or {}, tables, base, where, text2)
        view = SemanticView(name=str(vname), table=base, joins=joins, columns={},
                            noun=text2(vraw.get("noun"), f"{where} noun"),
                            description=text2(vraw.get("description"), f"{where} description"))
        columns = _columns(view, vraw, tables, where, text2)
        views[str(vname)] = dataclasses.replace(view, columns=columns)
    return views


def _joins(raw, tables, base: str, where: str, text2) -> dict[str, ViewJoin]:
    """The view's joins, each after the join it starts from (whatever order the file lists them in:
    a catalog written back by a YAML tool sorts its keys)."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: joins: expected a mapping of name: [parent.]column -> table.key")
    parsed = {}
    labels = {}
    for name, text in raw.items():
        if isinstance(text, dict):
            if set(text) - {"fk", "label"} or "fk" not in text:
                raise CatalogError(f"{where}: join {name}: a mapping has 'fk' (and optional 'label')")
            labels[str(name)] = text.get("label")
            text = text["fk"]
        m = _JOIN.match(str(text))
        if not m:
            raise CatalogError(f"{where}: join {name}: write it as '[join.]column -> table.key', got {text!r}")
        if name == "self":
            raise CatalogError(f"{where}: join {name}: the name is taken")
        parent = m["parent"] or BASE
        if parent != BASE and parent not in raw:
            raise CatalogError(f"{where}: join {name}: {parent!r} is not a join of the view")
        parsed[str(name)] = (parent, m)
    joins: dict[str, ViewJoin] = {}
    role = lambda n: text2(labels.get(n) or n.replace("_", " "), f"{where}: join {n} label")   # noqa: E731
    while len(joins) < len(parsed):
        ready = [n for n, (parent, _) in parsed.items() if n not in joins and (parent == BASE or parent in joins)]
        if not ready:
            raise CatalogError(f"{where}: joins {', '.join(sorted(set(parsed) - set(joins)))} start from each other")
        for name in ready:
            parent, m = parsed[name]
            from_table = base if parent == BASE else joins[parent].table
            if m["column"] not in tables[from_table].columns:
                raise CatalogError(f"{where}: join {name}: {from_table} has no column {m['column']!r} in the catalog")
            t = tables.get(m["table"])
            if t is None or not t.exposed or m["key"] not in t.columns:
                raise CatalogError(f"{where}: join {name}: {m['table']}.{m['key']} is not an exposed column")
            joins[name] = ViewJoin(name, parent, m["column"], m["table"], m["key"], role(name))
    return joins


def _auto_name(prefix: str, column: str) -> str:
    return column if not prefix or column.startswith(prefix) else prefix + column


def _columns(view: SemanticView, vraw: dict, tables, where: str, text2) -> dict[str, ViewColumn]:
    explicit = vraw.get("columns") or {}
    include = vraw.get("include") or {}
    omit = vraw.get("omit") or []
    if not isinstance(explicit, dict) or not isinstance(include, dict) or not isinstance(omit, list):
        raise CatalogError(f"{where}: columns and include are mappings, omit a list")
    out: dict[str, ViewColumn] = {}
    mapped: set[tuple[str, str]] = set()

    def add(col: ViewColumn, how: str) -> None:
        if col.name in out:
            raise CatalogError(f"{where}: column {col.name} is defined twice ({how}); rename one in `columns`")
        out[col.name] = col

    for name, spec in explicit.items():
        cwhere = f"{where}: column {name}"
        if isinstance(spec, str):
            spec = {"from": spec}
        if not isinstance(spec, dict) or not (("from" in spec) ^ ("sql" in spec)):
            raise CatalogError(f"{cwhere}: give 'from: [join.]column' or 'sql: ...' (not both)")
        unknown = set(spec) - {"from", "sql", "description", "label"}
        if unknown:
            raise CatalogError(f"{cwhere}: unknown keys {sorted(unknown)}")
        if "from" in spec:
            m = _SOURCE.match(str(spec["from"]))
            if not m:
                raise CatalogError(f"{cwhere}: from {spec['from']!r} is not '[join.]column'")
            src = m["join"] or BASE
            if src != BASE and src not in view.joins:
                raise CatalogError(f"{cwhere}: {src!r} is not a join of the view")
            info = tables[view.table_of(src)].columns.get(m["column"])
            if info is None:
                raise CatalogError(f"{cwhere}: {view.table_of(src)} has no column {m['column']!r} in the catalog")
            mapped.add((src, m["column"]))
            add(ViewColumn(str(name), src, m["column"],
                           description=text2(spec.get("description"), cwhere) if spec.get("description")
                           else _described(view, src, info, text2),
                           label=text2(spec.get("label"), cwhere) if spec.get("label")
                           else _labelled(view, src, info, text2)),
                "explicitly")
        else:
            sql = spec["sql"]
            sql = {"any": sql} if isinstance(sql, str) else sql
            if not isinstance(sql, dict) or not sql or not set(sql) <= {*DIALECTS, "any"}:
                raise CatalogError(f"{cwhere}: sql is a string or a mapping with keys {', '.join(DIALECTS)}")
            col = ViewColumn(str(name), sql={str(k): str(v) for k, v in sql.items()},
                             description=text2(spec.get("description"), cwhere),
                             label=text2(spec.get("label"), cwhere))
            for src, c in col.reads():
                if src != BASE and src not in view.joins:
                    raise CatalogError(f"{cwhere}: {src}.{c}: {src!r} is not a join of the view (use self.{c} "
                                       f"for the view's own table)")
                info = tables[view.table_of(src)].columns.get(c)
                if info is None:
                    raise CatalogError(f"{cwhere}: {view.table_of(src)} has no column {c!r} in the catalog")
                if info.pii:
                    raise CatalogError(f"{cwhere}: a derived column may not read personal data ({src}.{c})")
            add(col, "derived")
    keys_of = {(j.name, j.key) for j in view.joins.values()}
    own = [(BASE, "")] + [(str(j), str(p)) for j, p in include.items()]
    for src, prefix in own:
        if src != BASE and src not in view.joins:
            raise CatalogError(f"{where}: include {src}: not a join of the view")
        for cname, info in tables[view.table_of(src)].columns.items():
            if (src, cname) in mapped or (src, cname) in keys_of:
                continue
            add(ViewColumn(_auto_name(prefix, cname), src, cname, description=_described(view, src, info, text2),
                           label=_labelled(view, src, info, text2)), f"included from {src or view.table}")
    for name in omit:
        if name not in out:
            raise CatalogError(f"{where}: omit {name}: the view has no such column")
        del out[name]
    return dict(sorted(out.items(), key=lambda kv: _reading_order(view, tables, kv[1])))


def _reading_order(view: SemanticView, tables, col: ViewColumn) -> tuple[int, int]:
    """The view's table first, then each join in order, each in its table's column order; derived
    columns last: the order the prompt lists them in."""
    if col.derived:
        return (len(view.joins) + 1, 0)
    sources = [BASE, *view.joins]
    return (sources.index(col.source), list(tables[view.table_of(col.source)].columns).index(col.column))


def _described(view, src, info, text2):
    """A joined column's description, prefixed by the join it comes through ('origin: City as in …')."""
    if src == BASE:
        return info.description
    role = view.joins[src].label
    return text2({"en": f"{role.en}: {info.description.en}", "es": f"{role.es}: {info.description.es}"}, "")


def _labelled(view, src, info, text2):
    """A joined column's label with its join's ('Ciudad (origen)', 'City (origin)')."""
    if src == BASE or not (info.label.en or info.label.es):
        return info.label
    role = view.joins[src].label
    return text2({"en": f"{info.label.en} ({role.en})", "es": f"{info.label.es} ({role.es})"}, "")


def view_select(view: SemanticView, dialect: str, quote=lambda name: f'"{name}"') -> str:
    """The whole view as one SELECT over its base tables: every column, every join, written out by
    hand (no parser). `abordo catalog check --db` runs it with LIMIT 0 to prove each derived column's
    SQL; the compiler's tests compare its pruned expansion against it."""
    alias = {BASE: quote(view.name), **{j: quote(f"{view.name}__{j}") for j in view.joins}}
    parts = []
    for col in view.columns.values():
        if col.derived:
            expr = _REFERENCE.sub(lambda m: f"{alias[BASE if m['join'] == 'self' else m['join']]}.{quote(m['column'])}"
                                  if (m["join"] == "self" or m["join"] in view.joins) else m[0],
                                  col.expression(dialect))
        else:
            expr = f"{alias[col.source]}.{quote(col.column)}"
        parts.append(f"{expr} AS {quote(col.name)}")
    joins = "".join(f" LEFT JOIN {quote(j.table)} AS {alias[j.name]} ON {alias[j.name]}.{quote(j.key)} = "
                    f"{alias[j.parent]}.{quote(j.column)}" for j in view.joins.values())
    return f"SELECT {', '.join(parts)} FROM {quote(view.table)} AS {alias[BASE]}{joins}"


def check_views_against_database(views: dict[str, SemanticView], foreign_keys: dict[str, dict[str, str]],
                                 primary_keys: dict[str, list[str]], source: str) -> None:
    """Every join of every view follows a foreign key of the database, or reaches a one-column primary
    key (a reference the schema does not declare but that cannot multiply rows). `foreign_keys` is
    {table: {column: 'table.column'}}, `primary_keys` {table: [columns]}."""
    for view in views.values():
        for j in view.joins.values():
            child = view.table_of(j.parent)
            declared = foreign_keys.get(child, {}).get(j.column) == f"{j.table}.{j.key}"
            unique = primary_keys.get(j.table) == [j.key]
            if not (declared or unique):
                raise CatalogError(f"{source}: view {view.name}: join {j.name} ({child}.{j.column} -> {j.table}.{j.key}) "
                                   f"follows no foreign key and does not reach {j.table}'s primary key: "
                                   "it could multiply rows")
