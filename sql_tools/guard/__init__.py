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

The package, one concern a module; check.py runs the checks in the order above, each a mixin over
check_state.CheckBase:

- check: check_sql, the entry point, and the order of the checks;
- results: GuardResult, OutputColumn, GuardRejection; constants: the limits and fixed rule sets;
- text_and_parse: checks 1 and 2;
- node_allowlist: checks 3 and 4 (node types, functions, casts), also on the qualified tree;
- tables_and_ctes: check 5, WITH scoping, and recursive WITH as a bounded counter;
- qualification: the rewrites before qualify(), the role's schema, qualify() itself;
- column_policy: check 6 (hidden, masked and whole-row values);
- lineage: what each output is computed from, and the output columns;
- result_size: literal LIMIT/OFFSET, cartesian products, bulk personal data, packing;
- output_rewrite: check 8 (subject key, LIMIT, regenerated SQL and its round trip);
- check_state: what every check shares; tree_shapes: helpers on sqlglot trees.
"""
from __future__ import annotations

from sql_tools.guard.check import check_sql
from sql_tools.guard.constants import (
    ALLOWED_SCHEMAS,
    BULK_CLASSES,
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
)
from sql_tools.guard.node_allowlist import CAST_TYPES
from sql_tools.guard.results import GuardRejection, GuardResult, OutputColumn

__all__ = [
    "ALLOWED_SCHEMAS", "BULK_CLASSES", "CAST_TYPES", "MASKED_ACTIONS", "MAX_CTES", "MAX_DEPTH", "MAX_JOINS",
    "MAX_LOOKUP_IN", "MAX_NODES", "MAX_RECURSIVE_ROWS", "MAX_SQL_CHARS", "MAX_SUBQUERIES", "MAX_TYPE_PARAM",
    "PG_SESSION_WORDS", "SUBJECT_KEY_ALIAS", "GuardRejection", "GuardResult", "OutputColumn", "check_sql",
]
