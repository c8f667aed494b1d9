"""The read-only boundary: every SQL statement abordo runs goes through here (guard, hardened
executors, masking by role, audit). Knows nothing of language models."""
