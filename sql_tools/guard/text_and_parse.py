"""Checks 1 and 2: the statement's size and characters before parsing, then the parse itself (one
statement, a query at the root; every parser exception rejects)."""
from __future__ import annotations

import re
import unicodedata

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from sql_tools.functions import QUERY_ROOTS
from sql_tools.guard.check_state import CheckBase
from sql_tools.guard.constants import MAX_SQL_CHARS

_ALLOWED_WS = frozenset(" \t\n\r")
_UNICODE_ESCAPE = re.compile(r"(?i)\bu&['\"]")


class TextAndParseChecks(CheckBase):
    """Checks 1 and 2: the text before parsing, then the parse."""

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
