"""The plan path's exceptions: a query over the semantic views that cannot be expanded."""
from __future__ import annotations

from assistant.errors import AssistantError


class PlanError(AssistantError):
    """A query over the views that cannot be read or expanded."""


class UnknownViewColumn(PlanError):
    """A column the view does not have. Carries the view, so the repair turn can list its columns
    (the same `unknown_column` kind the guard gives for a table's column)."""

    kind = "unknown_column"

    def __init__(self, view, column: str):
        self.view = view
        self.column = column
        super().__init__(f"unknown column {column!r}: the view {view.name} has no such column")

    def hint(self) -> str:
        """The repair turn's line: the view's columns, as the model may write them."""
        return f"The view {self.view.name} has the columns: {', '.join(self.view.columns)}."


class AmbiguousViewColumn(PlanError):
    """An unqualified column that more than one of the query's views has."""

    kind = "ambiguous_column"

    def __init__(self, column: str, aliases: list[str]):
        self.column = column
        super().__init__(f"column {column!r} is in {' and '.join(aliases)}: write it as "
                         f"{aliases[0]}.{column} or {aliases[1]}.{column}")
