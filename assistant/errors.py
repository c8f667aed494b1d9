"""The `assistant` package's exceptions (shown to the user by the CLI and the UI)."""
from __future__ import annotations


class AssistantError(Exception):
    """Base class: shown to the user as one line."""


class ModelNotFound(AssistantError):
    """No usable model is configured or fetched."""


class ModelFetchError(AssistantError):
    """Fetching or verifying a model failed."""


class Cancelled(Exception):
    """The asker withdrew the question (a client that went away): nothing more is computed."""
