"""Deterministic repair of the commonest small-model join mistake: a column read from the wrong table.

Measured on the dev set, most failed questions were not misunderstood, they were mis-joined: the
model writes ``ticket_segments.passenger_id`` or ``baggage.record_locator`` because it skips a bridge
table (``tickets``) that carries the column. A repair call costs a second generation (seconds on two
cores) and often repeats the mistake. The schema's foreign keys already say how the tables connect,
so this module rewrites the query instead:

- *re-point*: the column exists on exactly one other table of the query, and the mistaken reference is
  not half of a join condition with that table → read it from there (``t.coupon_number`` → ``s.``);
- *bridge*: otherwise follow the shortest foreign-key path (at most three hops, referencing table to
  referenced table only, and only when it is the only shortest path) from the table the model named to
  a table that has the column, join the bridge tables right after it and read the column from the
  last one. A join condition that used the
  bridged column moves into the bridge's ON, so every ON only names tables joined before it;
- *key name*: no table of the query has the column, but it is the name of a foreign key elsewhere
  that references the table the model read it from (``aircraft_types.aircraft_type`` is what flights
  call ``aircraft_types.code``) → read that key;
- *junction*: the mistaken column is half of a join condition with a table that does have it
  (``tickets t JOIN flights f ON f.flight_id = t.flight_id``): the model joined two tables that meet
  only through a third (a ticket reaches its flights through its coupons). The unique shortest
  foreign-key path between them, through at most two tables and ending on the column the condition
  names, replaces the condition. This one may follow a key from the referenced side (one ticket, its
  many coupons): that is what "the tickets on this flight" means.

Only inner joins of plain tables are rewritten; anything else is left to the repair call. Nothing
here knows a table name: the schema (columns and foreign keys) is passed in, so it works on any
database the catalog describes. The rewritten SQL still goes through the guard like any other.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlglot
from sqlglot import exp

MAX_HOPS = 3
MAX_JUNCTION_TABLES = 2
Edge = tuple[str, str, str, str]     # (table, column, other table, other column): table.column = other.column


class JoinGraph:
    """The tables' columns and their foreign keys, followed from the referencing table to the referenced
    one only: such a join finds at most one row per row, so a bridge never multiplies the rows the
    model's query counts or sums (the other direction, one booking to its many tickets, would)."""

    def __init__(self, columns: Mapping[str, Iterable[str]], foreign_keys: Mapping[str, Mapping[str, str]]):
        self.columns = {t: {c.lower() for c in cols} for t, cols in columns.items()}
        self.edges: dict[str, list[Edge]] = {t: [] for t in self.columns}
        self.links: dict[str, list[Edge]] = {t: [] for t in self.columns}   # both directions
        for table, fks in foreign_keys.items():
            for col, ref in fks.items():
                other, _, other_col = ref.partition(".")
                if table in self.columns and other in self.columns:
                    self.edges[table].append((table, col, other, other_col))
                    self.links[table].append((table, col, other, other_col))
                    self.links[other].append((other, other_col, table, col))

    def has(self, table: str, column: str) -> bool:
        return column.lower() in self.columns.get(table, ())

    def reference(self, table: str | None, column: str) -> tuple[str, str] | None:
        """(table, column) that `table.column` references as a foreign key, if it is one."""
        return next(((other, other_col) for _t, col, other, other_col in self.edges.get(table or "", ())
                     if col.lower() == column.lower()), None)

    def referenced_key(self, table: str, column: str) -> str | None:
        """The key of `table` that a foreign-key column called `column` elsewhere references
        (`aircraft_type` -> aircraft_types.code), if there is exactly one."""
        keys = {other_col for edges in self.edges.values() for _t, col, other, other_col in edges
                if other == table and col.lower() == column.lower()}
        return next(iter(keys)) if len(keys) == 1 else None

    def path_to_column(self, start: str, column: str) -> list[Edge] | None:
        """The foreign-key path from `start` to a table holding `column`, if the shortest is unique
        (two routes of the same length, e.g. origin and destination airports, are not guessed)."""
        level: list[tuple[str, list[Edge]]] = [(start, [])]
        for _ in range(MAX_HOPS):
            level = [(edge[2], [*path, edge]) for table, path in level for edge in self.edges.get(table, ())]
            found = [path for table, path in level if self.has(table, column)]
            if found:
                return found[0] if len(found) == 1 else None
        return None

    def junction_path(self, start: str, end: str, end_column: str) -> list[Edge] | None:
        """The unique shortest path of keys from `start` to `end` through one or two other tables, whose
        last step lands on `end.end_column`; keys are followed in either direction."""
        level: list[tuple[str, list[Edge]]] = [(start, [])]
        for _ in range(MAX_JUNCTION_TABLES):
            level = [(edge[2], [*path, edge]) for table, path in level for edge in self.links.get(table, ())
                     if edge[2] not in (start, end) and all(edge[2] != e[0] for e in path)]
            found = [[*path, edge] for table, path in level for edge in self.links.get(table, ())
                     if edge[2] == end and edge[3].lower() == end_column.lower()]
            if found:
                return found[0] if len(found) == 1 else None
        return None


def fix_joins(sql: str, dialect: str, graph: JoinGraph) -> str | None:
    """`sql` with misplaced columns re-pointed or bridged, or None when there is nothing this can fix."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:          # ParseError, or TokenError for an unterminated string
        return None
    changed = False
    for select in list(tree.find_all(exp.Select)):
        result = _fix_select(select, graph)
        if result is None:
            return None
        changed = changed or result
    return tree.sql(dialect=dialect) if changed else None


def table_instances(select: exp.Select) -> list[tuple[str, str, exp.Join | None]] | None:
    """(alias, table, join) for each plain table of the FROM clause, in order; None if not plain."""
    from_ = select.args.get("from") or select.args.get("from_")
    if from_ is None or not isinstance(from_.this, exp.Table):
        return None
    out = [(from_.this.alias_or_name, from_.this.name, None)]
    for join in select.args.get("joins") or []:
        if not isinstance(join.this, exp.Table):
            return None
        out.append((join.this.alias_or_name, join.this.name, join))
    return out


def query_tables(select: exp.Select) -> dict[str, str]:
    """alias -> table for the tables this SELECT reads itself (not those of a nested one)."""
    return {t.alias_or_name: t.name for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select}


def _own_columns(select: exp.Select) -> list[exp.Column]:
    """Columns that belong to this SELECT, not to a nested one."""
    return [c for c in select.find_all(exp.Column) if c.find_ancestor(exp.Select) is select]


def _fix_select(select: exp.Select, graph: JoinGraph) -> bool | None:
    """True if `select` was changed, False if it was fine, None if it has a mistake this cannot fix."""
    instances = table_instances(select)
    if instances is None:
        return False
    if any(j is not None and (j.side or (j.kind or "").upper() not in ("", "INNER")) for _, _, j in instances):
        return None                                   # outer or cross joins: a rewrite could change meaning
    tables = {alias: table for alias, table, _ in instances}
    outputs = {e.alias.lower() for e in select.expressions if e.alias}
    bridges: dict[tuple[str, str], str] = {}     # (alias, column) -> alias of the table that has it
    changed = False
    for col in _own_columns(select):                # qualify first: a bridge may make names ambiguous
        holders = [a for a, t in tables.items() if graph.has(t, col.name)]
        if not col.table and len(holders) == 1 and col.name.lower() not in outputs:
            col.set("table", exp.to_identifier(holders[0]))
    for col in _own_columns(select):
        name, qual = col.name, col.table
        if not qual:
            holders = [a for a, t in tables.items() if graph.has(t, name)]
            if holders or name.lower() in outputs:
                continue
            if len(instances) != 1:
                return None                           # unqualified, nowhere, several tables: ambiguous
            qual = instances[0][0]                    # one table: the model meant it
            col.set("table", exp.to_identifier(qual))
        if qual in tables and graph.has(tables[qual], name):
            continue
        holders = [a for a, t in tables.items() if graph.has(t, name)]
        partner = _equated_alias(col)
        if qual not in tables:
            if len(holders) != 1:
                return None
            col.set("table", exp.to_identifier(holders[0]))
            changed = True
            continue
        if len(holders) == 1 and holders[0] != partner:
            col.set("table", exp.to_identifier(holders[0]))
            changed = True
            continue
        others = [h for h in holders if h != partner]
        key_name = graph.referenced_key(tables[qual], name) if not others else None
        if key_name is not None:                      # aircraft_types.aircraft_type: the code it is known by
            col.set("this", exp.to_identifier(key_name))
            changed = True
            continue
        key = (qual, name.lower())
        if key not in bridges:
            bridge = _add_bridge(select, instances, tables, qual, name, graph)
            if bridge is None:
                if partner in tables and graph.has(tables[partner], name) \
                        and _add_junction(select, col, qual, partner, tables, graph):
                    instances = table_instances(select)
                    changed = True
                    continue
                return None
            bridges[key] = bridge
            instances = table_instances(select)
        col.set("table", exp.to_identifier(bridges[key]))
        _move_condition(select, col, bridges[key])
        changed = True
    return changed


def _equated_alias(col: exp.Column) -> str | None:
    """The table alias on the other side when `col` is one side of `a.x = b.y`."""
    parent = col.parent
    if isinstance(parent, exp.EQ):
        other = parent.expression if parent.this is col else parent.this
        if isinstance(other, exp.Column):
            return other.table or None
    return None


def _add_bridge(select: exp.Select, instances, tables: dict[str, str], alias: str, column: str,
                graph: JoinGraph) -> str | None:
    """Join the foreign-key path from `alias`'s table to a table with `column`; the last alias."""
    path = graph.path_to_column(tables[alias], column)
    if path is None:
        return None
    position = next(i for i, (a, _, _) in enumerate(instances) if a == alias)
    joins = list(select.args.get("joins") or [])
    used = set(tables)
    prev = alias
    new_joins = []
    for _table, col, other, other_col in path:
        name = fresh_alias(other, used)
        used.add(name)
        on = exp.EQ(this=exp.column(other_col, table=name), expression=exp.column(col, table=prev))
        new_joins.append(exp.Join(this=exp.to_table(other).as_(name), on=on))
        prev = name
    joins[position:position] = new_joins            # right after the instance (FROM = position 0)
    select.set("joins", joins)
    tables.update({j.this.alias: j.this.name for j in new_joins})
    return prev


def _add_junction(select: exp.Select, col: exp.Column, alias: str, partner: str, tables: dict[str, str],
                  graph: JoinGraph) -> bool:
    """Replace the condition `partner.c = alias.c` (`alias`'s table has no `c`) by the junction path.

    The condition must sit in the ON of the later of the two tables; the junction tables are joined
    right before it, so every ON still names only tables joined before it."""
    joins = list(select.args.get("joins") or [])
    join = col.find_ancestor(exp.Join)
    if join is None or join not in joins or join.this.alias_or_name not in (alias, partner):
        return False
    later = join.this.alias_or_name
    earlier = partner if later == alias else alias
    path = graph.junction_path(tables[alias], tables[partner], col.name)
    if path is None:
        return False
    if later == alias:                                   # walk from the earlier table, the partner
        path = [(b, bc, a, ac) for a, ac, b, bc in reversed(path)]
    conjunct = col.parent                                # the EQ, checked by _equated_alias
    on = join.args["on"]
    remaining = [c for c in on.flatten() if c is not conjunct] if isinstance(on, exp.And) else []
    used = set(tables)
    prev = earlier
    new_joins = []
    for _table, c, other, other_col in path[:-1]:
        name = fresh_alias(other, used)
        used.add(name)
        new_joins.append(exp.Join(this=exp.to_table(other).as_(name),
                                  on=exp.EQ(this=exp.column(other_col, table=name), expression=exp.column(c, table=prev))))
        prev = name
    _table, c, _other, other_col = path[-1]
    link = exp.EQ(this=exp.column(other_col, table=later), expression=exp.column(c, table=prev))
    join.set("on", exp.and_(link, *remaining))
    position = joins.index(join)
    joins[position:position] = new_joins
    select.set("joins", joins)
    tables.update({j.this.alias: j.this.name for j in new_joins})
    return True


def fresh_alias(table: str, used: set[str]) -> str:
    base = "".join(w[0] for w in table.split("_") if w) or "j"
    n = 1
    while f"{base}{n}" in used:
        n += 1
    return f"{base}{n}"


def _move_condition(select: exp.Select, col: exp.Column, bridge_alias: str) -> None:
    """If `col` sits in an earlier join's ON, move that conjunct into the bridge's ON.

    Inner joins only (checked by the caller), where a condition means the same in any ON or WHERE."""
    join = col.find_ancestor(exp.Join)
    if join is None or join.args.get("on") is None:
        return
    joins = select.args.get("joins") or []
    bridge_join = next(j for j in joins if j.this.alias_or_name == bridge_alias)
    if joins.index(join) >= joins.index(bridge_join):
        return
    conjunct = col
    while not isinstance(conjunct.parent, exp.Join) and not isinstance(conjunct.parent, exp.And):
        conjunct = conjunct.parent
    while isinstance(conjunct.parent, exp.Paren):
        conjunct = conjunct.parent
    remaining = [c for c in join.args["on"].flatten() if c is not conjunct] \
        if isinstance(join.args["on"], exp.And) else []
    join.set("on", exp.and_(*remaining) if remaining else None)
    if not remaining:
        join.set("kind", "CROSS")
    bridge_join.set("on", exp.and_(bridge_join.args["on"], conjunct.copy()))
