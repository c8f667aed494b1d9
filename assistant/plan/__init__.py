"""The plan path: SQL over ONE of the catalog's semantic views, read into a plan staff can see, and
expanded into base-table SQL with the joins before the guard (docs/architecture.md)."""
