"""The SQL guard (being split into modules, issue 24): for now the whole guard lives in node_allowlist."""
from __future__ import annotations

from sql_tools.guard.node_allowlist import (  # noqa: F401
    ALLOWED_SCHEMAS,
    BULK_CLASSES,
    CAST_TYPES,
    MASKED_ACTIONS,
    MAX_CTES,
    MAX_DEPTH,
    MAX_JOINS,
    MAX_LOOKUP_IN,
    MAX_NODES,
    MAX_RECURSIVE_ROWS,
    MAX_SQL_CHARS,
    MAX_SUBQUERIES,
    MAX_TYPE_PARAM,
    PG_SESSION_WORDS,
    SUBJECT_KEY_ALIAS,
    GuardRejection,
    GuardResult,
    OutputColumn,
    check_sql,
)
