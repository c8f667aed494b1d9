"""The `seed_data` package's exceptions (shown to the user as one line)."""
from __future__ import annotations


class SeedError(Exception):
    """Base class: a seeding request that cannot be carried out."""


class NotEmptyError(SeedError):
    """The target database already holds data and --replace was not given."""


class InvalidSizeError(SeedError):
    """A seeding parameter (number of passengers, today) is out of range."""


class SeedLoadError(SeedError):
    """Loading the generated rows into the database failed; nothing was written."""
