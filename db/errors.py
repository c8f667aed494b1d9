"""The `db` package's exceptions. The CLI and the UI turn them into one-line user messages."""
from __future__ import annotations


class DbError(Exception):
    """Base class: shown to the user as one line (CLI exit status 2)."""


class ConfigError(DbError):
    """A setting, URL or config file is invalid."""


class UnsupportedDatabase(ConfigError):
    """The URL names a database engine abordo does not support."""


class DatabaseUnreachable(DbError):
    """The server could not be reached or the file could not be opened."""


class CatalogError(DbError):
    """The catalog file is missing, malformed or inconsistent with the schema."""


class RoleError(DbError):
    """Creating or updating the read-only PostgreSQL roles failed."""
