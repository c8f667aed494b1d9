"""Deterministic demo data for the passenger schema, and the loaders that write it."""
