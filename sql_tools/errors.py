"""The `sql_tools` package's exceptions. The CLI and the UI turn them into user messages."""
from __future__ import annotations


class SqlToolError(Exception):
    """Base class. `message_es` is the Spanish text of the same message, when there is one."""

    code = "sql_error"

    def __init__(self, message: str, *, code: str | None = None, message_es: str | None = None, sql: str = ""):
        super().__init__(message)
        self.message = message
        self.message_es = message_es or message
        self.sql = sql
        if code:
            self.code = code

    def text(self, lang: str = "en") -> str:
        return self.message_es if lang == "es" else self.message
