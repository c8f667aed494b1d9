"""Database layer: schema metadata, engines, settings, the catalog and PostgreSQL roles.

`db` knows nothing of guards or models; every other package may import it.
"""
