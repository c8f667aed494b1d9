"""Check 5: only tables the catalog exposes, in the dialect's own schema, with WITH queries scoped
like PostgreSQL (a name that means a WITH query on one engine and a table on the other is refused); and
recursive WITH only as a bounded counter whose row count is known before the query runs (at most
MAX_RECURSIVE_ROWS), the same on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlglot import exp

from sql_tools.functions import QUERY_ROOTS
from sql_tools.guard.check_state import CheckBase
from sql_tools.guard.constants import ALLOWED_SCHEMAS, MAX_RECURSIVE_ROWS
from sql_tools.guard.results import GuardRejection
from sql_tools.guard.tree_shapes import _conjuncts, _int_literal, _is_constant


class TableChecks(CheckBase):
    """Check 5 on the parsed tree (fills self.tables with the catalog tables the statement reads), and
    the bounded-counter rule for recursive WITH queries."""

    def _check_tables(self, tree: exp.Expression) -> None:
        exposed = self.catalog.exposed_tables
        for with_ in tree.find_all(exp.With):
            names = [self._norm(c.args["alias"].this) for c in with_.expressions]
            if len(set(names)) != len(names):
                raise self.reject("cte_name_conflict", what=", ".join(names))
        for table in tree.find_all(exp.Table):
            this = table.this
            if not isinstance(this, exp.Identifier):
                # pragma_table_info('x'), generate_series(...), dblink(...) in FROM (sql-atk-085/115)
                raise self.reject("unsupported_syntax", what="table function in FROM")
            for key, value in table.args.items():
                if key not in ("this", "db", "catalog", "alias") and value not in (None, [], False):
                    raise self.reject("unsupported_syntax", what=f"table {key}")
            name = self._norm(this)
            db = table.args.get("db")
            if table.args.get("catalog") is not None:
                raise self.reject("table_not_allowed", what=table.sql(dialect=self.dialect),
                                  tables=", ".join(exposed))
            if db is None and self._is_cte_reference(table, name):
                continue
            if db is not None and self._norm(db) != ALLOWED_SCHEMAS[self.dialect]:
                # pg_catalog.pg_class, information_schema.columns, other schemas, attached databases
                raise self.reject("table_not_allowed", what=table.sql(dialect=self.dialect),
                                  tables=", ".join(exposed))
            if name not in exposed:
                # staff_accounts, sqlite_master, pg_class (pg_catalog is always on the search path), ...
                raise self.reject("table_not_allowed", what=name, tables=", ".join(exposed))
            self.tables.add(name)

    def _is_cte_reference(self, table: exp.Table, name: str) -> bool:
        """Does this unqualified name resolve to a WITH query visible at this point?

        Scoped like PostgreSQL: a CTE is visible in the main query and in later CTEs of the same WITH;
        inside its own body only under RECURSIVE. A name that matches a CTE that is *not* visible there
        (forward or non-recursive self reference) is rejected, because SQLite and PostgreSQL disagree
        on what it means.
        """
        child: exp.Expression = table
        node = table.parent
        while node is not None:
            with_ = node.args.get("with_") or node.args.get("with") if isinstance(node, QUERY_ROOTS) else None
            if isinstance(with_, exp.With):
                ctes = list(with_.expressions)
                names = [self._norm(c.args["alias"].this) for c in ctes]
                if name in names:
                    pos = names.index(name)
                    inside = next((i for i, c in enumerate(ctes) if c is child), None)
                    if inside is None or inside > pos:
                        return True
                    if inside == pos and with_.args.get("recursive"):
                        return True
                    raise self.reject("cte_name_conflict", what=name)
            child, node = node, node.parent
        return False

    # ---- recursion -------------------------------------------------------------------------------

    def _check_recursion(self, tree: exp.Expression) -> None:
        """Recursive WITH only as a bounded counter, the same on SQLite and PostgreSQL (benign sql-ok-021:
        `WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 6)`).

        Accepted shape: an anchor that is one row of constants (no FROM), `UNION [ALL]`, and one recursive
        part that reads only the WITH query itself (no joins, subqueries, grouping or ordering), adds a
        positive whole-number literal to a counter column that starts at a whole-number literal, and has a
        top-level WHERE conjunct `counter < literal` (or <=, or the mirrored >, >=). So the number of rows is
        known before the query runs, and it may be at most MAX_RECURSIVE_ROWS. Other columns may be computed
        from the counter only: a column computed from its own previous value (`s || s`) doubles every step.
        Everything else is refused here with `recursive_cte` (sql-atk-146's unbounded counter, a bound of
        a hundred million, a self-feeding string, an anchor reading a table) rather than left to the engines'
        time limits, so both engines answer the same way.
        """
        for with_ in tree.find_all(exp.With):
            for cte in with_.expressions:
                name = self._norm(cte.args["alias"].this)
                body = cte.this
                refs = [t for t in body.find_all(exp.Table) if t.args.get("db") is None
                        and self._norm(t.this) == name]
                if not refs:
                    continue
                if not with_.args.get("recursive"):
                    raise self.reject("cte_name_conflict", what=name)
                if not isinstance(body, exp.Union) or not isinstance(body.this, exp.Select) \
                        or not isinstance(body.expression, exp.Select):
                    raise self._recursion("not anchor UNION recursive member")
                anchor, member = body.this, body.expression
                if any(self._norm(t.this) == name for t in anchor.find_all(exp.Table)):
                    raise self._recursion("the anchor refers to itself")
                tables = list(member.find_all(exp.Table))
                if len(tables) != 1 or member.args.get("joins") or member.find(exp.Subquery):
                    raise self._recursion("the recursive part may read only itself")
                self._check_counter(cte, name, anchor, member, tables[0])

    def _recursion(self, what: str) -> GuardRejection:
        return self.reject("recursive_cte", what=what, max_rows=MAX_RECURSIVE_ROWS)

    def _check_counter(self, cte: exp.CTE, name: str, anchor: exp.Select, member: exp.Select,
                       source: exp.Table) -> None:
        """The counter rule of _check_recursion, for one recursive WITH query."""
        if any(v not in (None, [], False) for k, v in anchor.args.items() if k != "expressions") \
                or not all(_is_constant(p) for p in anchor.expressions):
            raise self._recursion("the first part must be one row of constants, without FROM")
        if any(v not in (None, [], False) for k, v in member.args.items()
               if k not in ("expressions", "from", "from_", "where")):
            raise self._recursion("the recursive part may not group, sort, limit or de-duplicate")
        names = [self._norm(c) for c in cte.args["alias"].args.get("columns") or []] \
            or [self._norm(p.args["alias"]) if isinstance(p, exp.Alias)
                else self._norm(p.this) if isinstance(p, exp.Column) else "" for p in anchor.expressions]
        if not (len(names) == len(anchor.expressions) == len(member.expressions)):
            raise self._recursion("both parts must give the same columns")
        own = {"", name, self._norm(source.args["alias"].this) if source.args.get("alias") else name}

        def counter_col(e: exp.Expression) -> int | None:
            """Position of the WITH query's column that `e` is (a bare reference), else None."""
            if isinstance(e, exp.Column) and self._norm(e.args.get("table")) in own \
                    and self._norm(e.this) in names:
                return names.index(self._norm(e.this))
            return None

        def unalias(e: exp.Expression) -> exp.Expression:
            return e.this if isinstance(e, exp.Alias) else e

        where = member.args.get("where")
        best: int | None = None
        for c in _conjuncts(where.this) if where is not None else []:
            if isinstance(c, (exp.LT, exp.LTE)):
                col, bound = c.this, c.expression
            elif isinstance(c, (exp.GT, exp.GTE)):
                col, bound = c.expression, c.this
            else:
                continue
            i, limit = counter_col(col), _int_literal(bound)
            if i is None or limit is None:
                continue
            start = _int_literal(unalias(anchor.expressions[i]))
            step_expr = unalias(member.expressions[i])
            if start is None or not isinstance(step_expr, exp.Add):
                continue
            step = None
            for a, b in ((step_expr.this, step_expr.expression), (step_expr.expression, step_expr.this)):
                if counter_col(a) == i:
                    step = _int_literal(b)
            if not step or step <= 0:
                continue
            # rows: the anchor, plus one more for every value that still passes the bound
            inclusive = isinstance(c, (exp.LTE, exp.GTE))
            span = limit - start + (1 if inclusive else 0)
            rows = 1 + (max(span, 0) + step - 1) // step
            if rows > MAX_RECURSIVE_ROWS:
                raise self._recursion(f"it would make {rows} rows")
            for j, proj in enumerate(member.expressions):
                if j != i and any(counter_col(x) != i for x in proj.find_all(exp.Column)):
                    raise self._recursion("other columns may be computed from the counter only")
                if j != i and proj.find(exp.AggFunc, exp.Window):
                    raise self._recursion("no aggregates or window functions in the recursive part")
            best = rows
            break
        if best is None:
            raise self._recursion("no WHERE bound on the recursive part: add `counter + <step>` and "
                                  "`WHERE counter < <end>` with whole numbers")
