"""The SQL guard: decides whether one LLM-written statement may run, and rewrites it into the exact text
that will run.

This is a security boundary and it fails closed: anything it does not positively understand is
rejected. The order of the checks matters and follows the measured bypasses in
shared/research/security-anchors.md (sections 2.4 and 3):

1. size and character checks *before* parsing (3000-deep parentheses, 110 KB IN lists, NBSP tricks);
2. parse with the dialect; every exception (ParseError, RecursionError, ...) rejects;
3. exactly one statement whose root is a SELECT or set operation; write/command nodes anywhere reject
   (`WITH d AS (DELETE ...) SELECT`, `SELECT INTO`, `FOR UPDATE` all have a Select root in sqlglot);
4. an allowlist of node types and of functions per dialect (a denylist missed `U&"pg\\005fsleep"`);
5. table allowlist from the catalog, with CTE scoping, schema qualification and identifier case rules;
6. column policy per role on the *qualified* tree (stars expanded against the role's readable columns);
7. personal-data rules (masked columns only as bare top-level outputs, bulk filters, packing
   aggregates), cartesian products, recursion (a bounded counter only), casts (to an allowed list of
   types only);
8. LIMIT injected or clamped, subject key appended, SQL regenerated from the checked tree and
   re-parsed to make sure the text says what the tree said.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from db.catalog import Catalog, RolePolicy
from sql_tools.errors import SqlToolError
from sql_tools.functions import (
    ANONYMOUS_FUNCS, DIALECTS, PACKING_AGGREGATES, QUERY_ROOTS, STRUCTURAL, TYPED_FUNCS, WRITE_OR_COMMAND,
    function_name,
)
from sql_tools.messages import render

MAX_SQL_CHARS = 20_000
MAX_NODES = 2_000
MAX_DEPTH = 60
MAX_JOINS = 10
MAX_CTES = 8
MAX_SUBQUERIES = 20
MAX_LOOKUP_IN = 20
# A recursive WITH is accepted only as a counter whose row count the guard can work out before it runs
# (start, step and bound are whole-number literals), and only up to this many rows: a calendar of days or
# a small number series. The same rule, so the same behaviour, on SQLite and PostgreSQL.
MAX_RECURSIVE_ROWS = 1000
# Largest length/precision a cast may give (CHAR(10485760) pads every value to 10 MB on PostgreSQL).
MAX_TYPE_PARAM = 1000
SUBJECT_KEY_ALIAS = "abordo_subject_key"
BULK_CLASSES = frozenset({"contact", "document", "date_of_birth"})
MASKED_ACTIONS = frozenset({"partial", "year", "pseudonym"})
ALLOWED_SCHEMAS = {"sqlite": "main", "postgres": "public"}
# PostgreSQL reads these bare words as functions of the session, not as columns (sql-atk: `user`).
PG_SESSION_WORDS = frozenset({"user", "current_user", "session_user", "current_role", "current_catalog",
                              "current_schema", "system_user"})
_ALLOWED_WS = frozenset(" \t\n\r")
_UNICODE_ESCAPE = re.compile(r"(?i)\bu&['\"]")
_FUNC_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _types(*names: str) -> frozenset:
    return frozenset(getattr(exp.DataType.Type, n) for n in names if hasattr(exp.DataType.Type, n))


# The only types a CAST / TRY_CAST / `::` may name: what a reporting query needs to compute and compare
# numbers, text and dates. Not here on purpose: xml (XML parsing on the server, external entities), json and
# jsonb (whole rows packed in one value), bytea/blob, oid and the reg* types (`'pg_class'::regclass` reads the
# system catalogue by name), arrays, tsvector, uuid, money, bit, name, and any user-defined or unknown type.
CAST_TYPES: frozenset = _types(
    "TINYINT", "SMALLINT", "INT", "BIGINT",                       # whole numbers (int2/int4/int8, INTEGER)
    "DECIMAL", "FLOAT", "DOUBLE",                                 # NUMERIC/DECIMAL, REAL/FLOAT4, FLOAT8
    "TEXT", "VARCHAR", "CHAR",                                    # text, character varying, character
    "DATE", "TIME", "TIMETZ", "TIMESTAMP", "TIMESTAMPTZ", "DATETIME",
    "INTERVAL", "BOOLEAN",
)
_TYPE_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}(\.[A-Za-z_][A-Za-z0-9_]{0,39})?")
_TYPE_TEXT = re.compile(r"[A-Za-z0-9_ .,()\[\]]{1,60}")


class GuardRejection(SqlToolError):
    """The guard refused a statement. `code` is stable snake_case; `message`/`message_es` say how to fix it."""

    code = "guard_rejection"

    def __init__(self, code: str, *, sql: str = "", **params: object):
        en, es = render(code, **params)
        super().__init__(en, code=code, message_es=es, sql=sql)


@dataclass(frozen=True)
class OutputColumn:
    name: str
    table: str | None
    column: str | None
    pii: str | None
    # pii classes the value is computed from (for expressions such as first_name || ' ' || last_name)
    derived_pii: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuardResult:
    sql_in: str
    sql_out: str
    dialect: str
    role: str
    tables: tuple[str, ...]
    columns: tuple[OutputColumn, ...]
    subject_key_index: int | None
    limit: int


@dataclass(frozen=True)
class _Base:
    """A catalog column an expression reads; `alias` is set when it is read straight from a table of
    the top-level FROM clause (needed to decide whether the subject key can be appended)."""
    table: str
    column: str
    pii: str | None
    alias: str | None


# --------------------------------------------------------------------------------------------------
# entry point


def check_sql(sql: str, *, catalog: Catalog, dialect: str, role: str) -> GuardResult:
    """Check one statement for `role` on `dialect`; return what to run or raise GuardRejection."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}: use one of {', '.join(DIALECTS)}")
    policy = catalog.role(role)  # CatalogError for an unknown role: a usage error, not a rejection
    if not isinstance(sql, str):
        raise GuardRejection("empty")
    try:
        return _Check(sql, catalog, dialect, policy).run()
    except GuardRejection:
        raise
    except RecursionError:
        raise GuardRejection("too_complex", what="nesting too deep", sql=sql) from None
    except Exception:  # noqa: BLE001 - fail closed: a guard bug must never let a query through
        raise GuardRejection("guard_error", sql=sql) from None


# --------------------------------------------------------------------------------------------------
# per-catalog derived data, cached


_SCHEMAS: dict[tuple[int, str, str], tuple[Catalog, MappingSchema]] = {}


def _role_schema(catalog: Catalog, policy: RolePolicy, dialect: str) -> MappingSchema:
    """qualify() schema with only the columns `role` may read: `SELECT *` then expands to readable
    columns only, and a hidden column becomes an unknown one. Built once per catalog, role and
    dialect (normalising the schema was a third of the guard's time)."""
    key = (id(catalog), policy.name, dialect)
    hit = _SCHEMAS.get(key)
    if hit is not None and hit[0] is catalog:
        return hit[1]
    mapping = {t.name: {c.name: "TEXT" for c in t.columns.values() if policy.action(c.pii) != "hide"}
               for t in catalog.exposed_tables.values()}
    schema = MappingSchema(mapping, dialect=dialect)
    if len(_SCHEMAS) > 64:
        _SCHEMAS.clear()
    _SCHEMAS[key] = (catalog, schema)  # the catalog is kept alive so its id() cannot be reused
    return schema


# --------------------------------------------------------------------------------------------------


class _Check:
    """One guard run; methods raise GuardRejection on the first violated rule."""

    def __init__(self, sql: str, catalog: Catalog, dialect: str, policy: RolePolicy):
        self.sql = sql
        self.catalog = catalog
        self.dialect = dialect
        self.policy = policy
        self.tables: set[str] = set()
        self.scope_of: dict[int, Scope] = {}

    def reject(self, code: str, **params: object) -> GuardRejection:
        return GuardRejection(code, sql=self.sql, **params)

    # ---- pipeline ------------------------------------------------------------------------------

    def run(self) -> GuardResult:
        self._check_text()
        tree = self._parse()
        self._check_nodes(tree)
        self._check_functions(tree)
        self._check_tables(tree)
        self._check_recursion(tree)
        self._neutralise_exists_projections(tree)
        if self.dialect == "sqlite":
            self._double_quoted_strings(tree)
        _name_unaliased_outputs(tree, self.dialect)
        q = self._qualify(tree)
        scopes = traverse_scope(q)
        root_scope = scopes[-1]
        for s in scopes:
            self.scope_of[id(s.expression)] = s
        self._check_qualified_nodes(q)
        self._check_stars(q)
        self._check_columns(q, root_scope)
        self._check_limits(q)
        self._check_cartesian(scopes)
        self._check_packing(q)
        outputs, lineage = self._outputs(q, root_scope)
        self._check_bulk(q, root_scope, lineage)
        subject_index = self._append_subject_key(q, root_scope, lineage, outputs)
        limit = self._inject_limit(q)
        sql_out = q.sql(dialect=self.dialect)
        self._check_roundtrip(sql_out, q)
        return GuardResult(sql_in=self.sql, sql_out=sql_out, dialect=self.dialect, role=self.policy.name,
                           tables=tuple(sorted(self.tables)), columns=tuple(outputs),
                           subject_key_index=subject_index, limit=limit)

    # ---- 1. text ---------------------------------------------------------------------------------

    def _check_text(self) -> None:
        """Size first (110 KB IN list, 3000-deep parentheses: sql-atk-153/156), then characters:
        NBSP and other Unicode spaces/format characters are token separators for some tokenizers and
        not for others (sql-atk-016), so they are refused rather than guessed at."""
        if len(self.sql) > MAX_SQL_CHARS:
            raise self.reject("too_long", size=len(self.sql), limit=MAX_SQL_CHARS)
        if not self.sql.strip():
            raise self.reject("empty")
        for ch in self.sql:
            if ch in _ALLOWED_WS or " " < ch < "\x7f":
                continue
            cat = unicodedata.category(ch)
            if cat[0] in "ZC":
                raise self.reject("odd_characters", what=f"U+{ord(ch):04X}")
        if _UNICODE_ESCAPE.search(self.sql):
            # U&"staff\005faccounts" is a ParseError, U&"pg\005fsleep"(30) an undecoded Anonymous name
            raise self.reject("unicode_escape")

    # ---- 2. parse --------------------------------------------------------------------------------

    def _parse(self) -> exp.Expression:
        try:
            statements = sqlglot.parse(self.sql, read=self.dialect, error_level=ErrorLevel.RAISE)
        except Exception:  # noqa: BLE001 - ParseError, TokenError, RecursionError: all fail closed
            raise self.reject("parse_error", dialect=self.dialect) from None
        statements = [s for s in statements if s is not None]
        if not statements:
            raise self.reject("empty")
        if len(statements) > 1:
            # psycopg2 sends the whole string as one simple query: stacked statements run (F2)
            raise self.reject("multiple_statements", count=len(statements))
        tree = statements[0]
        if not isinstance(tree, QUERY_ROOTS):
            raise self.reject("not_a_query", what=type(tree).__name__.upper())
        return tree

    # ---- 3./4. node types ------------------------------------------------------------------------

    def _check_nodes(self, tree: exp.Expression) -> None:
        """Walk every node once: forbidden statements anywhere, node-type allowlist, size limits."""
        typed = TYPED_FUNCS[self.dialect]
        count = joins = ctes = subqueries = 0
        stack: list[tuple[exp.Expression, int]] = [(tree, 1)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > MAX_NODES:
                raise self.reject("too_complex", what=f"more than {MAX_NODES} syntax nodes")
            if depth > MAX_DEPTH:
                raise self.reject("too_complex", what=f"nesting deeper than {MAX_DEPTH}")
            cls = type(node)
            if cls is exp.Into:
                raise self.reject("select_into")  # sql-atk-059/060: Select root with an Into child
            if cls is exp.Lock:
                raise self.reject("locking_clause")  # sql-atk-061/062: Select root with a Lock child
            if cls is exp.Values:
                raise self.reject("unsupported_syntax", what="VALUES")
            if cls in WRITE_OR_COMMAND:
                # sql-atk-052/054: DELETE/INSERT inside a CTE under a SELECT root
                raise self.reject("write_or_command", what=cls.__name__.upper())
            if isinstance(node, exp.Cast):   # CAST, `::`, typed literals (xml '<a/>'), and TRY_CAST
                self._check_cast(node)
            elif cls is exp.DataType:
                self._check_type(node)
            if cls not in STRUCTURAL and cls not in typed and cls is not exp.Anonymous:
                if isinstance(node, exp.Func):
                    raise self.reject("function_not_allowed", what=function_name(node))
                raise self.reject("unsupported_syntax", what=cls.__name__)
            if cls is exp.Join:
                joins += 1
                if joins > MAX_JOINS:
                    raise self.reject("too_complex", what=f"more than {MAX_JOINS} joins")
                if node.args.get("method") or str(node.args.get("kind") or "").upper() not in (
                        "", "INNER", "OUTER", "CROSS") or node.args.get("side") not in (None, "", "LEFT",
                                                                                       "RIGHT", "FULL"):
                    raise self.reject("unsupported_syntax", what="NATURAL/LATERAL/special JOIN")
            elif cls is exp.CTE:
                ctes += 1
                if ctes > MAX_CTES:
                    raise self.reject("too_complex", what=f"more than {MAX_CTES} WITH queries")
            elif cls is exp.Subquery:
                subqueries += 1
                if subqueries > MAX_SUBQUERIES:
                    raise self.reject("too_complex", what=f"more than {MAX_SUBQUERIES} subqueries")
            elif cls is exp.Select:
                self._check_select_args(node)
            elif cls is exp.Column and self.dialect == "postgres" and not node.table:
                if node.name.lower() in PG_SESSION_WORDS and not node.this.quoted:
                    raise self.reject("function_not_allowed", what=node.name.upper())
            for child in node.iter_expressions():
                stack.append((child, depth + 1))

    _SELECT_ARGS = frozenset({"expressions", "from_", "from", "joins", "where", "group", "having", "order",
                              "limit", "offset", "distinct", "with_", "with", "kind", "windows"})

    def _check_select_args(self, node: exp.Select) -> None:
        """Reject clauses we have not reviewed (QUALIFY, named WINDOW, LATERAL VIEW, SAMPLE, ...)."""
        for key, value in node.args.items():
            if value in (None, [], False) or key in self._SELECT_ARGS:
                continue
            raise self.reject("unsupported_syntax", what=key.upper())
        if node.args.get("kind"):
            raise self.reject("unsupported_syntax", what=str(node.args["kind"]))
        if node.args.get("windows"):
            raise self.reject("unsupported_syntax", what="WINDOW clause")
        distinct = node.args.get("distinct")
        if self.dialect == "sqlite" and isinstance(distinct, exp.Distinct) and distinct.args.get("on") is not None:
            # SQLite has no DISTINCT ON; sqlglot would rewrite it into a ROW_NUMBER() subquery with the
            # injected LIMIT inside it (the row cap before the de-duplication: silently missing rows).
            raise self.reject("unsupported_syntax",
                              what="DISTINCT ON is PostgreSQL only; on SQLite use GROUP BY or ROW_NUMBER() "
                                   "in a subquery")

    # ---- casts -----------------------------------------------------------------------------------

    def _check_cast(self, node: exp.Cast) -> None:
        for key in ("format", "action", "default"):
            if node.args.get(key) not in (None, False):
                raise self.reject("unsupported_syntax", what=f"CAST ... {key.upper()}")
        self._check_type(node.args.get("to"))

    def _check_type(self, dt: exp.Expression | None) -> None:
        """A cast target must be one of CAST_TYPES, with at most whole-number parameters up to
        MAX_TYPE_PARAM (VARCHAR(20), NUMERIC(10, 2)); anything else is refused naming the type."""
        ok = type(dt) is exp.DataType and isinstance(dt.this, exp.DataType.Type) and dt.this in CAST_TYPES
        if ok:
            for key, value in dt.args.items():
                if key not in ("this", "expressions") and value not in (None, [], False):
                    ok = False                      # nested/values/kind/collate: not a plain type
            for param in dt.expressions:
                n = _int_literal(param.this) if type(param) is exp.DataTypeParam else None
                if n is None or not 0 <= n <= MAX_TYPE_PARAM or param.args.get("expression") is not None:
                    ok = False
        if not ok:
            raise self.reject("cast_not_allowed", what=_type_name(dt, self.dialect))

    def _check_functions(self, tree: exp.Expression) -> None:
        """Anonymous functions by unquoted lower-case name; replace() may not grow strings."""
        allowed = ANONYMOUS_FUNCS[self.dialect]
        for node in tree.find_all(exp.Anonymous):
            this = node.args.get("this")
            quoted = isinstance(this, exp.Identifier) and this.quoted
            name = str(node.name)
            # "pg_sleep"(30) and U&"pg\005fsleep"(30): a quoted or escaped name never matches
            if quoted or not _FUNC_NAME.match(name.lower()) or name.lower() not in allowed:
                raise self.reject("function_not_allowed", what=name)
        for node in tree.find_all(exp.Replace):
            # nested replace(x, 'a', '<long>') multiplies string sizes: a memory bomb inside one call,
            # which SQLite's progress handler cannot interrupt (S6). Require len(new) <= len(old).
            old, new = node.args.get("expression"), node.args.get("replacement")
            if not (isinstance(old, exp.Literal) and old.is_string and isinstance(new, exp.Literal)
                    and new.is_string and len(new.this) <= len(old.this)):
                raise self.reject("function_not_allowed",
                                  what="replace() whose replacement is longer than its search text")

    # ---- 5. tables -------------------------------------------------------------------------------

    def _norm(self, ident: exp.Expression | None) -> str:
        """Identifier as the engine sees it: PostgreSQL folds unquoted names to lower case and keeps
        quoted ones verbatim ("Passengers" is another table); SQLite is case-insensitive throughout."""
        if ident is None:
            return ""
        if isinstance(ident, exp.Identifier):
            name = ident.this
            if self.dialect == "postgres" and ident.quoted:
                return name
            return name.lower()
        return ident.name.lower() if self.dialect == "sqlite" else ident.name

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

    def _neutralise_exists_projections(self, tree: exp.Expression) -> None:
        """EXISTS ignores what its subquery selects; `EXISTS (SELECT * FROM passengers ...)` would
        otherwise expand the star into masked columns and be refused for nothing."""
        for ex in tree.find_all(exp.Exists):
            sub = ex.this
            if isinstance(sub, exp.Select):
                sub.set("expressions", [exp.Literal.number(1)])

    def _double_quoted_strings(self, tree: exp.Expression) -> None:
        """SQLite reads "Los Angeles" as a string when no column has that name (a legacy rule that
        Spider-style SQL, and models trained on it, rely on). Mirror it, conservatively: only an
        unqualified double-quoted name that is no column of any exposed table (hidden ones included,
        so they are still refused) and no alias in the query becomes a string literal. The SQL that
        runs is regenerated with a single-quoted literal, so the database reads what the guard read."""
        quoted = [c for c in tree.find_all(exp.Column)
                  if not c.table and isinstance(c.this, exp.Identifier) and c.this.quoted]
        if not quoted:
            return                                    # the usual case: nothing to look up
        known = {c.name.lower() for t in self.catalog.exposed_tables.values() for c in t.columns.values()}
        known |= {a.alias.lower() for a in tree.find_all(exp.Alias) if a.alias}
        known |= {i.name.lower() for ta in tree.find_all(exp.TableAlias) for i in ta.args.get("columns") or []}
        for col in quoted:
            if col.this.name.lower() not in known:
                col.replace(exp.Literal.string(col.this.name))

    # ---- 6. qualify ------------------------------------------------------------------------------

    def _qualify(self, tree: exp.Expression) -> exp.Expression:
        schema = _role_schema(self.catalog, self.policy, self.dialect)
        try:
            return qualify(tree, schema=schema, dialect=self.dialect, validate_qualify_columns=True,
                           quote_identifiers=False, identify=False, expand_alias_refs=True)
        except Exception as exc:  # noqa: BLE001 - OptimizeError and anything else: fail closed
            hidden = self._hidden_names()
            for col in tree.find_all(exp.Column):
                if col.name.lower() in hidden:
                    raise self.reject("column_not_allowed", what=col.name, role=self.policy.name) from None
            msg = str(exc).split(".")[0][:120]
            raise self.reject("unknown_column", what=msg) from None

    def _hidden_names(self) -> set[str]:
        return {c.name.lower() for t in self.catalog.exposed_tables.values() for c in t.columns.values()
                if self.policy.action(c.pii) == "hide"}

    # ---- column policy ---------------------------------------------------------------------------

    def _scope_for(self, node: exp.Expression) -> Scope | None:
        """Innermost scope (SELECT or set operation) that contains `node`."""
        cur: exp.Expression | None = node
        while cur is not None:
            s = self.scope_of.get(id(cur))
            if s is not None:
                return s
            cur = cur.parent
        return None

    @staticmethod
    def _resolve(scope: Scope | None, alias: str) -> tuple[Scope, object] | None:
        """Source named `alias` in `scope` or, for correlated subqueries, in an enclosing scope."""
        while scope is not None:
            src = scope.sources.get(alias)
            if src is not None:
                return scope, src
            scope = scope.parent
        return None

    def _check_qualified_nodes(self, q: exp.Expression) -> None:
        """qualify() may introduce node types of its own (PostgreSQL whole-row `SELECT p FROM passengers
        p` becomes a TableColumn, sql-atk-139): the allowlist applies to the tree that runs too."""
        typed = TYPED_FUNCS[self.dialect]
        for node in q.walk():
            cls = type(node)
            if isinstance(node, exp.Cast):
                self._check_cast(node)
            elif cls is exp.DataType:
                self._check_type(node)
            if cls not in STRUCTURAL and cls not in typed and cls is not exp.Anonymous:
                if cls is exp.TableColumn if hasattr(exp, "TableColumn") else False:
                    raise self.reject("whole_row", what=node.sql(dialect=self.dialect))
                if isinstance(node, exp.Func):
                    raise self.reject("function_not_allowed", what=function_name(node))
                raise self.reject("unsupported_syntax", what=cls.__name__)

    def _check_stars(self, q: exp.Expression) -> None:
        """After qualification the only star left should be count(*): anything else is a whole-row
        reference (row_to_json(p.*), p.* in a function)."""
        for star in q.find_all(exp.Star):
            if isinstance(star.parent, exp.Count) and star.arg_key == "this":
                continue
            raise self.reject("whole_row", what="*")

    def _check_columns(self, q: exp.Expression, root_scope: Scope) -> None:
        """Hidden columns nowhere; masked columns only as bare top-level outputs; whole rows never."""
        root = q
        for col in list(q.find_all(exp.Column)):
            scope = self._scope_for(col)
            if not col.table:
                self._unqualified(col, scope)
                continue
            found = self._resolve(scope, col.table)
            if found is None:
                raise self.reject("unknown_column", what=col.sql(dialect=self.dialect))
            _, src = found
            if not isinstance(src, exp.Table):
                continue  # a column of a CTE/derived table: checked where that query is defined
            table = self._norm(src.this)
            info = self.catalog.column(table, col.name)
            if info is None:
                raise self.reject("unknown_column", what=f"{table}.{col.name}")
            action = self.policy.action(info.pii)
            if action == "hide":
                raise self.reject("column_not_allowed", what=f"{table}.{col.name}", role=self.policy.name)
            if action in MASKED_ACTIONS:
                if self._is_top_level_output(col, root) or self._mask_consistent(col, action):
                    continue
                raise self.reject("pii_in_expression", what=f"{table}.{col.name}", role=self.policy.name)

    def _unqualified(self, col: exp.Column, scope: Scope | None) -> None:
        """qualify() leaves a column unqualified when it is an output alias (ORDER BY x) or when it names
        a table (PostgreSQL whole-row value: `SELECT p FROM passengers p`, sql-atk-139)."""
        name = col.name
        if scope is not None and isinstance(scope.expression, QUERY_ROOTS):
            select = scope.expression
            # PostgreSQL reads DISTINCT ON (x) like ORDER BY x: an output name (or a position, which
            # qualify() turns into the output name) first. Same rule, same masked-value check.
            if col.find_ancestor(exp.Order) is not None or _in_distinct_on(col, select):
                for proj in _projections(select):
                    if proj.alias_or_name == name:
                        if any(b.pii and self.policy.action(b.pii) in MASKED_ACTIONS
                               for b in self._lineage(proj, set())):
                            # ordering by a masked value leaks it (binary search on the sort order);
                            # DISTINCT ON a masked value tells which rows share it
                            raise self.reject("pii_in_expression", what=name, role=self.policy.name)
                        return
        if scope is not None and self._resolve(scope, name) is not None:
            raise self.reject("whole_row", what=name)
        raise self.reject("unknown_column", what=name)

    @staticmethod
    def _is_top_level_output(col: exp.Column, root: exp.Expression) -> bool:
        if not isinstance(root, exp.Select):
            return False  # set operations: the masker masks by position of one SELECT only
        parent = col.parent
        if isinstance(parent, exp.Alias) and parent.this is col:
            col, parent = parent, parent.parent
        return parent is root and col.arg_key == "expressions"

    @staticmethod
    def _mask_consistent(col: exp.Column, action: str) -> bool:
        """`email ILIKE '%@example.com'` (benign sql-ok-033) reveals only what the partial mask shows
        anyway (the domain; the last 4 characters of a phone or document). Only that shape is exempt."""
        if action != "partial":
            return False
        like = col.parent
        if not isinstance(like, (exp.Like, exp.ILike)) or like.this is not col:
            return False
        if isinstance(like.parent, exp.Escape):
            return False
        pat = like.expression
        if not (isinstance(pat, exp.Literal) and pat.is_string):
            return False
        text = pat.this
        if not text.startswith("%"):
            return False
        rest = text[1:]
        if not rest or any(ch in rest for ch in "%_\\"):
            return False
        return (rest.startswith("@") and rest.count("@") == 1) or len(rest) <= 4

    # ---- limits anywhere -------------------------------------------------------------------------

    def _check_limits(self, q: exp.Expression) -> None:
        for node in q.find_all(exp.Limit, exp.Offset):
            value = node.args.get("expression")
            if _int_literal(value) is None:
                raise self.reject("bad_limit", what=node.sql(dialect=self.dialect))

    # ---- cartesian products ----------------------------------------------------------------------

    def _check_cartesian(self, scopes: list[Scope]) -> None:
        """Every source of a SELECT must be linked to the others by an equality between their columns
        (ON or a top-level WHERE conjunct). sql-atk-143 (four-way cross join of passengers) and theta
        joins have none. A derived table that yields one row (aggregate without GROUP BY) is exempt."""
        for scope in scopes:
            select = scope.expression
            if not isinstance(select, exp.Select) or not select.args.get("joins"):
                continue
            aliases = [n for n, _ in self._from_sources(select)]
            parent = {a: a for a in aliases}

            def find(a: str) -> str:
                while parent[a] != a:
                    a = parent[a]
                return a

            for name, node in self._from_sources(select):
                if isinstance(node, exp.Subquery) and _single_row(node.this) and aliases:
                    parent[find(name)] = find(aliases[0])
            conds = [j.args.get("on") for j in select.args.get("joins") or []]
            if select.args.get("where") is not None:
                conds.append(select.args["where"].this)
            for cond in conds:
                if cond is None:
                    continue
                for c in _conjuncts(cond):
                    if not isinstance(c, (exp.EQ, exp.NullSafeEQ)):
                        continue
                    left = {x.table for x in c.this.find_all(exp.Column)}
                    right = {x.table for x in c.expression.find_all(exp.Column)}
                    if len(left) == 1 and len(right) == 1 and left != right:
                        a, b = next(iter(left)), next(iter(right))
                        if a in parent and b in parent:
                            parent[find(a)] = find(b)
            roots = {find(a) for a in aliases}
            if len(roots) > 1:
                raise self.reject("cartesian_product", what=", ".join(aliases))

    @staticmethod
    def _from_sources(select: exp.Select) -> list[tuple[str, exp.Expression]]:
        out = []
        from_ = select.args.get("from_") or select.args.get("from")
        nodes = [from_.this] if from_ is not None else []
        nodes += [j.this for j in select.args.get("joins") or []]
        for n in nodes:
            out.append((n.alias_or_name, n))
        return out

    # ---- lineage ---------------------------------------------------------------------------------

    def _lineage(self, expr: exp.Expression, seen: set[int]) -> set[_Base]:
        """Catalog columns that `expr` is computed from, following CTEs and derived tables."""
        out: set[_Base] = set()
        for col in expr.find_all(exp.Column):
            if not col.table:
                continue
            scope = self._scope_for(col)
            found = self._resolve(scope, col.table)
            if found is None:
                continue
            owner, src = found
            if isinstance(src, exp.Table):
                table = self._norm(src.this)
                info = self.catalog.column(table, col.name)
                direct = col.table if owner.is_root else None
                out.add(_Base(table, col.name, info.pii if info else None, direct))
            elif isinstance(src, Scope):
                key = id(src.expression)
                if key in seen:
                    continue  # recursive CTE
                for proj in _projections_named(src.expression, col.name):
                    out |= {_Base(b.table, b.column, b.pii, None) for b in self._lineage(proj, seen | {key})}
        return out

    # ---- outputs ---------------------------------------------------------------------------------

    def _outputs(self, q: exp.Expression, root_scope: Scope) -> tuple[list[OutputColumn], list[set[_Base]]]:
        """Top-level output columns in order, and the lineage of each."""
        branches = _branches(q)
        first = branches[0]
        outputs: list[OutputColumn] = []
        lineages: list[set[_Base]] = []
        for i, proj in enumerate(first.expressions):
            lin: set[_Base] = set()
            bare: set[tuple[str, str]] = set()
            for br in branches:
                p = br.expressions[i] if i < len(br.expressions) else None
                if p is None:
                    raise self.reject("unsupported_syntax", what="set operation with unequal columns")
                b = self._lineage(p, set())
                lin |= b
                inner = p.this if isinstance(p, exp.Alias) else p
                if isinstance(inner, exp.Column) and len(b) == 1:
                    bare |= {(x.table, x.column) for x in b}
                else:
                    bare.add(("", ""))
            table = column = pii = None
            if len(bare) == 1 and ("", "") not in bare:
                table, column = next(iter(bare))
                info = self.catalog.column(table, column)
                pii = info.pii if info else None
            derived = tuple(sorted({x.pii for x in lin if x.pii}))
            outputs.append(OutputColumn(name=proj.alias_or_name, table=table, column=column, pii=pii,
                                        derived_pii=derived))
            lineages.append(lin)
        return outputs, lineages

    # ---- personal data in bulk -------------------------------------------------------------------

    def _lookup_filtered(self, select: exp.Select) -> bool:
        """True when the WHERE of `select` has, as a top-level AND conjunct, `key = constant` or
        `key IN (<= 20 constants)` on a catalog lookup_key column (optionally lower/upper/trim)."""
        where = select.args.get("where")
        if where is None:
            return False
        for c in _conjuncts(where.this):
            if isinstance(c, exp.EQ):
                for a, b in ((c.this, c.expression), (c.expression, c.this)):
                    if self._is_lookup_key(a) and _is_constant(b):
                        return True
            elif isinstance(c, exp.In) and not c.args.get("query") and not c.args.get("unnest"):
                values = c.expressions
                if 1 <= len(values) <= MAX_LOOKUP_IN and all(_is_constant(v) for v in values) \
                        and self._is_lookup_key(c.this):
                    return True
        return False

    def _is_lookup_key(self, e: exp.Expression) -> bool:
        while isinstance(e, (exp.Lower, exp.Upper, exp.Trim, exp.Paren)):
            e = e.this
        if not isinstance(e, exp.Column) or not e.table:
            return False
        found = self._resolve(self._scope_for(e), e.table)
        if found is None or not isinstance(found[1], exp.Table):
            return False
        info = self.catalog.column(self._norm(found[1].this), e.name)
        return bool(info and info.lookup_key)

    def _check_bulk(self, q: exp.Expression, root_scope: Scope, lineage: list[set[_Base]]) -> None:
        """Contacts, documents and dates of birth only for specific records (sql-atk-137/142)."""
        if not any(b.pii in BULK_CLASSES for lin in lineage for b in lin):
            return
        for br in _branches(q):
            if not self._lookup_filtered(br):
                raise self.reject("bulk_personal_data", max_in=MAX_LOOKUP_IN)

    def _check_packing(self, q: exp.Expression) -> None:
        """string_agg/group_concat of personal data packs a whole table into one cell, past any row cap
        (F8, sql-atk-188/190); allowed only under a lookup filter (benign sql-ok-075: travellers of one
        booking)."""
        for agg in q.find_all(*PACKING_AGGREGATES):
            if any(b.pii for b in self._lineage(agg, set())):
                select = agg.find_ancestor(exp.Select)
                if select is None or not self._lookup_filtered(select):
                    raise self.reject("bulk_personal_data", max_in=MAX_LOOKUP_IN)

    # ---- subject key -----------------------------------------------------------------------------

    def _append_subject_key(self, q: exp.Expression, root_scope: Scope, lineage: list[set[_Base]],
                            outputs: list[OutputColumn]) -> int | None:
        """Append the passenger id so the audit log knows whose data a result showed."""
        st, sk = self.catalog.subject_table, self.catalog.subject_key
        if not st or not sk:
            return None
        subject_pii = [b for lin in lineage for b in lin if b.table == st and b.pii]
        booking_pii = [b for lin in lineage for b in lin if b.table == "bookings" and b.pii]
        if not subject_pii and not booking_pii:
            return None
        if not isinstance(q, exp.Select):
            if subject_pii:
                raise self.reject("untraceable_personal_data")
            return None
        aliases = [name for name, src in root_scope.sources.items()
                   if isinstance(src, exp.Table) and self._norm(src.this) == st]
        if len(aliases) != 1 or any(b.alias != aliases[0] for b in subject_pii):
            if subject_pii:
                raise self.reject("untraceable_personal_data")
            return None
        alias = aliases[0]
        key = exp.column(sk, table=alias)
        if _is_aggregated(q):
            if self.dialect == "sqlite":
                agg = exp.GroupConcat(this=exp.Distinct(expressions=[key]))
            else:
                agg = exp.GroupConcat(this=exp.Distinct(expressions=[exp.cast(key, "TEXT")]),
                                      separator=exp.Literal.string(","))
            value: exp.Expression = agg
        else:
            value = key
        q.append("expressions", exp.alias_(value, SUBJECT_KEY_ALIAS))
        outputs.append(OutputColumn(name=SUBJECT_KEY_ALIAS, table=None if _is_aggregated(q) else st,
                                    column=None if _is_aggregated(q) else sk, pii=None))
        return len(outputs) - 1

    # ---- 8. limit and regeneration ---------------------------------------------------------------

    def _inject_limit(self, q: exp.Expression) -> int:
        """LIMIT role.max_rows + 1, or the smaller literal already there; returns the row cap.

        The one extra row lets the executor (which keeps at most `limit` rows) tell a result that was
        cut at the role's cap from one that happens to have exactly that many rows, and say so.
        sqlite LIMIT -1 means no limit."""
        cap = self.policy.max_rows
        limit = q.args.get("limit")
        current = _int_literal(limit.args.get("expression")) if limit is not None else None
        if current is None or current < 0 or current > cap:
            q.set("limit", exp.Limit(expression=exp.Literal.number(cap + 1)))
            return cap
        q.set("limit", exp.Limit(expression=exp.Literal.number(current)))
        return current

    def _check_roundtrip(self, sql_out: str, q: exp.Expression) -> None:
        """Re-parse what will run: it must be one statement equal to the checked tree, so the text cannot
        mean something else than what was checked (the U& escape case regenerated differently)."""
        try:
            again = sqlglot.parse(sql_out, read=self.dialect, error_level=ErrorLevel.RAISE)
        except Exception:  # noqa: BLE001
            raise self.reject("guard_error") from None
        again = [s for s in again if s is not None]
        if len(again) != 1 or type(again[0]) is not type(q):
            raise self.reject("guard_error")
        # Compared as text: the generator may legitimately add nodes on the first pass (PostgreSQL
        # ROUND(avg(x), 2) gains a CAST to DECIMAL), but a second pass must be a fixed point.
        if again[0].sql(dialect=self.dialect) != sql_out:
            raise self.reject("guard_error")


# --------------------------------------------------------------------------------------------------
# helpers


def _name_unaliased_outputs(tree: exp.Expression, dialect: str) -> None:
    """Give unaliased computed outputs of the top-level query the name people would read
    (``COUNT(*)``, ``SUM(t.fare_amount)``) instead of qualify()'s ``_col_1``: the UI shows it."""
    for branch in _branches(tree)[:1]:
        for proj in list(branch.expressions):
            if isinstance(proj, (exp.Alias, exp.Column, exp.Star)) or proj.find(exp.Star) and not isinstance(
                    proj, exp.Count):
                continue
            name = proj.sql(dialect=dialect)
            if len(name) <= 80 and '"' not in name:
                proj.replace(exp.alias_(proj.copy(), exp.to_identifier(name, quoted=True)))


def _type_name(dt: exp.Expression | None, dialect: str) -> str:
    """The name of a refused cast type for the message: the type as the dialect writes it, or a plain
    identifier for a user-defined one; never arbitrary text from the query (quoted names are dropped)."""
    if not isinstance(dt, exp.Expression):
        return "?"
    if isinstance(dt, exp.DataType) and dt.this == exp.DataType.Type.USERDEFINED:
        kind = dt.args.get("kind")
        text = kind.sql(dialect=dialect) if isinstance(kind, exp.Expression) else str(kind or "")
        text = text.replace('"', "")
        return text if _TYPE_IDENT.fullmatch(text) else "USER-DEFINED"
    try:
        text = dt.sql(dialect=dialect)
    except Exception:  # noqa: BLE001 - only used for a message
        return "?"
    return text if _TYPE_TEXT.fullmatch(text) else "?"


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
