"""Allowlists of syntax-tree node types and SQL functions, per dialect (sqlglot 30.30.0).

Why allowlists: the security research (shared/research/security-anchors.md 2.4) measured that a name
*denylist* misses `U&"pg\\005fsleep"(30)` (sqlglot keeps the escape undecoded while PostgreSQL runs
pg_sleep) and SQLite's randomblob/printf bombs. Every sqlglot node class that is not named here is
rejected, so a sqlglot upgrade that introduces a new node type fails closed instead of slipping past.

Typed functions are matched by their sqlglot class; functions that sqlglot does not know become
`exp.Anonymous` and are matched by their lower-cased, unquoted name against the per-dialect list.
"""
from __future__ import annotations

from sqlglot import exp

DIALECTS: tuple[str, ...] = ("sqlite", "postgres")


def _classes(*names: str) -> frozenset[type]:
    """Resolve sqlglot class names, skipping names this sqlglot version does not have (fail closed:
    a missing class simply is not allowed)."""
    return frozenset(getattr(exp, n) for n in names if isinstance(getattr(exp, n, None), type))


# Structural (non-function) node types that may appear anywhere in an accepted query.
STRUCTURAL: frozenset[type] = _classes(
    "Select", "Union", "Intersect", "Except", "With", "CTE", "From", "Join", "Where", "Group", "Having",
    "Order", "Ordered", "Limit", "Offset", "Distinct", "Subquery", "Table", "TableAlias", "Alias", "Column",
    "Identifier", "Star", "Literal", "Null", "Boolean", "Paren", "Tuple", "DataType", "DataTypeParam", "Var",
    "Interval", "Add", "Sub", "Mul", "Div", "Mod", "Neg", "DPipe", "EQ", "NEQ", "GT", "GTE", "LT", "LTE",
    "NullSafeEQ", "NullSafeNEQ", "Is", "Not", "In", "Between", "Like", "ILike", "Escape", "Window",
    "WindowSpec", "WithinGroup", "AtTimeZone", "Filter", "If", "Case", "And", "Or", "Exists", "Cast",
    "IntervalSpan",
)

# Typed functions allowed on both engines. Packing aggregates (GroupConcat = string_agg/group_concat)
# are allowed here but checked against personal data separately (bulk_personal_data).
_COMMON_FUNCS = (
    "Count", "Sum", "Avg", "Min", "Max", "Coalesce", "Nullif", "Round", "Abs", "Ceil", "Floor", "Lower",
    "Upper", "Trim", "Length", "Substring", "Replace", "Cast", "Greatest", "Least", "RowNumber", "Rank",
    "DenseRank", "Lag", "Lead", "FirstValue", "LastValue", "NthValue", "Ntile", "PercentRank", "CumeDist",
    "GroupConcat", "CurrentTimestamp", "CurrentDate", "CurrentTime", "TimeToStr", "StrPosition", "Sign",
)
TYPED_FUNCS: dict[str, frozenset[type]] = {
    "sqlite": _classes(*_COMMON_FUNCS, "Date", "TsOrDsToTimestamp", "Typeof"),
    "postgres": _classes(
        *_COMMON_FUNCS, "DateTrunc", "TimestampTrunc", "Extract", "PercentileCont", "PercentileDisc",
        "Translate", "Concat", "ConcatWs", "Initcap", "Left", "Right", "Date", "Stddev", "StddevPop",
        "StddevSamp", "Variance", "Median",
    ),
}

# Functions sqlglot leaves as exp.Anonymous, by lower-case name. Nothing here can sleep, read files,
# touch the network, change settings, reveal the server or the user, or allocate unbounded memory.
ANONYMOUS_FUNCS: dict[str, frozenset[str]] = {
    "sqlite": frozenset({
        "date", "time", "datetime", "julianday", "strftime", "unixepoch", "ifnull", "iif", "total",
        "substr", "instr", "ltrim", "rtrim", "nullif", "coalesce", "lower", "upper", "trim", "length",
    }),
    "postgres": frozenset({
        "date_part", "to_char", "age", "date_trunc", "initcap", "btrim", "ltrim", "rtrim", "split_part",
        "position", "strpos", "to_date", "to_timestamp", "justify_interval", "justify_days", "justify_hours",
        "make_date", "make_interval", "isfinite", "bool_and", "bool_or", "every", "mode",
    }),
}

# Aggregates that pack many rows into one value: a row cap does not bound what they return
# (security-anchors F8, sql-atk-188/190), so they may only touch personal data for specific records.
PACKING_AGGREGATES: frozenset[type] = _classes("GroupConcat", "ArrayAgg", "JSONArrayAgg", "JSONObjectAgg")

# Statement node types that mean "not a read-only query"; any of them anywhere rejects the query.
WRITE_OR_COMMAND: frozenset[type] = _classes(
    "Command", "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterColumn", "Set",
    "SetItem", "Pragma", "Attach", "Detach", "Copy", "Transaction", "Commit", "Rollback", "Show", "Describe",
    "Use", "Kill", "Analyze", "Grant", "Revoke", "TruncateTable", "Declare", "DeclareItem", "Execute",
    "LoadData", "Summarize", "Cache", "Uncache", "Refresh", "Comment", "Lock", "Into", "Returning",
    "Values", "Export", "Install", "Vacuum",
)

QUERY_ROOTS: tuple[type, ...] = (exp.Select, exp.Union, exp.Intersect, exp.Except)


def function_name(node: exp.Func) -> str:
    """A readable name for messages: the SQL name of a typed function or the raw anonymous name."""
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    try:
        return node.sql_name().lower()
    except Exception:  # noqa: BLE001 - only used for a message
        return type(node).__name__.lower()
