"""Join conditions from the schema: a model query that writes `JOIN tickets t` without `ON` gets the
condition from the foreign keys, instead of a cartesian-product rejection and a repair call.

A join condition says nothing the schema does not already say (`ON t.ticket_number =
s.ticket_number` is the foreign key, spelled out). The model sometimes leaves it out, or skips a
bridge table (`FROM baggage b JOIN flights f`, whose rows meet only through the bags' coupons); both
are completed here. Measured, and why the prompt does not ask for it: told to write joins without
ON (with worked examples doing so), the 1.5B model still wrote ON in 26 of its 27 join queries on
the development questions, so the ~13 tokens per join were not saved and the changed prompt moved
other answers; the prompt asks for joins on the listed references.

- A table joined without a condition is linked to the tables before it by every foreign key between
  them (`tickets` after `passengers` and `bookings` gets both keys).
- When all joins of a query are plain inner joins without conditions, their order is free: a table
  with no key to the ones before it waits until one that links it has been joined.
- A table no key links to the others is reached through the unique shortest path of keys (through at
  most two tables the query does not name); those bridge tables are joined before it.
- Two keys between the same two tables (flights to airports: origin or destination), or two equally
  short bridges, are not guessed: `JoinUnclear` says which choice the model has to write as `ON`.

Joins the model wrote with `ON`/`USING`, `CROSS JOIN` and comma joins are left as written. The result
still goes through the join repair and the guard like any other query.
"""
from __future__ import annotations

from sqlglot import exp

from assistant.joinfix import Edge, JoinGraph, fresh_alias
from assistant.rewrite.context import Context

MAX_BRIDGE_TABLES = 2


class JoinUnclear(ValueError):
    """The schema allows more than one join here; the message says what the query has to spell out."""


def complete_joins(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """The query with its condition-less joins completed from the foreign keys (`ctx.graph`), or None if
    there were none.

    Raises `JoinUnclear` when a missing condition has more than one reading."""
    if ctx.graph is None:
        return None
    changed = False
    for select in list(tree.find_all(exp.Select)):
        changed = _complete(select, ctx.graph) or changed
    return tree if changed else None


def _is_open(join: exp.Join) -> bool:
    """A join the model wrote without a condition (`JOIN t`; sqlglot reads the missing ON as TRUE)."""
    on = join.args.get("on")
    return (not join.args.get("using") and (join.kind or "").upper() != "CROSS"
            and (on is None or (isinstance(on, exp.Boolean) and on.this is True)))


def _complete(select: exp.Select, graph: JoinGraph) -> bool:
    from_ = select.args.get("from") or select.args.get("from_")
    joins = list(select.args.get("joins") or [])
    if from_ is None or not isinstance(from_.this, exp.Table) or not any(_is_open(j) for j in joins):
        return False
    if not all(isinstance(j.this, exp.Table) for j in joins):
        return False
    done = [_instance(from_)]
    used = {a for a, _ in done} | {j.this.alias_or_name for j in joins}   # a bridge's alias must be new
    out: list[exp.Join] = []
    if all(_is_open(j) and not j.side and (j.kind or "").upper() in ("", "INNER") for j in joins):
        waiting = joins                  # inner joins commute: take first whichever links to the joined
        while waiting:
            found = next(((j, c) for j in waiting if (c := _conditions(_instance(j), done, graph))), None)
            join, conditions = found or (waiting[0], [])
            waiting = [j for j in waiting if j is not join]
            _attach(join, conditions, done, out, graph, used)
    else:
        for join in joins:
            if _is_open(join):
                _attach(join, _conditions(_instance(join), done, graph), done, out, graph, used)
            else:
                out.append(join)
                done.append(_instance(join))
    select.set("joins", out)
    return True


def _instance(node: exp.From | exp.Join) -> tuple[str, str]:
    """(alias, table) of the plain table a FROM or JOIN reads."""
    return node.this.alias_or_name, node.this.name


def _attach(join: exp.Join, conditions: list[exp.EQ], done: list[tuple[str, str]], out: list[exp.Join],
            graph: JoinGraph, used: set[str]) -> None:
    """Give `join` its conditions, bridging it first when no key links it to the tables before it,
    and append it (and any bridge) to `out`."""
    me = _instance(join)
    if not conditions:
        bridges, conditions = _bridge(me, done, graph, used)
        out += bridges
        done += [_instance(b) for b in bridges]
    join.set("on", exp.and_(*conditions))
    out.append(join)
    done.append(me)


def _conditions(me: tuple[str, str], done: list[tuple[str, str]], graph: JoinGraph) -> list[exp.EQ]:
    """`me.col = other.col` for every key between `me` and the tables joined before it."""
    alias, table = me
    out = []
    for other_alias, other in done:
        edges = [e for e in graph.links.get(table, ()) if e[2] == other]
        if len({(e[1], e[3]) for e in edges}) > 1:
            choices = " or ".join(f"ON {alias}.{c} = {other_alias}.{oc}" for _, c, _, oc in edges)
            raise JoinUnclear(f"{table} {alias} can be joined to {other} {other_alias} in more than one way: "
                              f"write the condition the question means ({choices})")
        out += [_eq(alias, e[1], other_alias, e[3]) for e in edges[:1]]
    return out


def _bridge(me: tuple[str, str], done: list[tuple[str, str]], graph: JoinGraph,
            used: set[str]) -> tuple[list[exp.Join], list[exp.EQ]]:
    """Joins of the tables on the unique shortest key path from a joined table to `me`, and the
    condition that then links `me`."""
    alias, table = me
    paths = []
    for other_alias, other in done:
        paths += [(other_alias, p) for p in _paths(graph, other, table)]
    if not paths:
        raise JoinUnclear(f"no reference links {table} {alias} to the other tables of the query: "
                          "join it through the tables that reference it, with ON conditions")
    shortest = min(len(p) for _, p in paths)
    paths = [(a, p) for a, p in paths if len(p) == shortest]
    if len(paths) > 1:
        tables = dict(done)
        routes = "; ".join(" -> ".join([tables[a], *(e[2] for e in p)]) for a, p in paths)
        raise JoinUnclear(f"{table} {alias} can be reached in more than one way ({routes}): "
                          "join the tables in between with ON conditions")
    start, path = paths[0]
    joins, prev = [], start
    for _t, col, other, other_col in path[:-1]:
        name = fresh_alias(other, used)
        used.add(name)
        joins.append(exp.Join(this=exp.to_table(other).as_(name), on=_eq(name, other_col, prev, col)))
        prev = name
    _t, col, _other, other_col = path[-1]
    return joins, [_eq(alias, other_col, prev, col)]


def _paths(graph: JoinGraph, start: str, end: str) -> list[list[Edge]]:
    """Every shortest path of keys (either direction) from `start` to `end` through at most
    MAX_BRIDGE_TABLES other tables, none of them `start` or `end` or visited twice."""
    level: list[list[Edge]] = [[]]
    for _ in range(MAX_BRIDGE_TABLES + 1):
        nxt = []
        for path in level:
            here = path[-1][2] if path else start
            seen = {start, *(e[2] for e in path)}
            nxt += [[*path, edge] for edge in graph.links.get(here, ()) if edge[2] not in seen]
        found = [p for p in nxt if p[-1][2] == end]
        if found:
            return found
        level = [p for p in nxt if p[-1][2] != end]
    return []


def _eq(alias: str, column: str, other_alias: str, other_column: str) -> exp.EQ:
    return exp.EQ(this=exp.column(column, table=alias), expression=exp.column(other_column, table=other_alias))
