"""Checks 3 and 4: no write or command anywhere in the tree, an allowlist of node types and of functions
per dialect (anonymous ones by unquoted name), reviewed SELECT clauses only, casts to an allowed list
of types, size limits (nodes, depth, joins, WITH queries, subqueries); and the same allowlist again
over the tree qualify() produced."""
from __future__ import annotations

import re

from sqlglot import exp

from sql_tools.functions import (
    ANONYMOUS_FUNCS,
    STRUCTURAL,
    TYPED_FUNCS,
    WRITE_OR_COMMAND,
    function_name,
)
from sql_tools.guard.check_state import CheckBase
from sql_tools.guard.constants import (
    MAX_CTES,
    MAX_DEPTH,
    MAX_JOINS,
    MAX_NODES,
    MAX_SUBQUERIES,
    MAX_TYPE_PARAM,
    PG_SESSION_WORDS,
)
from sql_tools.guard.tree_shapes import _int_literal

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


class NodeAllowlistChecks(CheckBase):
    """Checks 3 and 4 on the parsed tree (_check_nodes, _check_functions) and again on the
    qualified one (_check_qualified_nodes)."""

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
            elif cls is exp.Column and self.dialect == "postgres" and not node.table \
                    and node.name.lower() in PG_SESSION_WORDS and not node.this.quoted:
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
