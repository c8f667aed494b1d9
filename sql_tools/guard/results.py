"""What the guard hands back: GuardResult and its OutputColumns when a statement may run, GuardRejection
when it may not; and _Base, one catalog column in the lineage of an output."""
from __future__ import annotations

from dataclasses import dataclass

from sql_tools.errors import SqlToolError
from sql_tools.messages import render


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
