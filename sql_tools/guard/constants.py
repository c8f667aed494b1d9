"""The guard's numeric limits and the fixed sets its rules consult (personal-data classes, masking
actions, the schema each dialect's tables live in, PostgreSQL's session words)."""
from __future__ import annotations

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
