"""The evaluation's one error: bad input to `abordo eval`."""
from __future__ import annotations

from assistant.errors import AssistantError


class EvalError(AssistantError):
    """Bad evaluation input (missing file, bad JSON line, unknown placeholder...): one line, exit 2."""
