"""What the assistant knows of one database's schema, read once: column types, primary and foreign keys
(introspected through `db.introspect.read_schema`, as the catalog draft is), and what follows from them
with the catalog: the keys that identify a row, the columns a total may be asked per, the timestamp and
text columns, the stored values of small categorical columns, the join graph. The prompt's schema, the
rewrite rules and the checks all read this one object."""
from __future__ import annotations

import functools

from assistant.joinfix import JoinGraph
from assistant.question.link import table_words
from assistant.rewrite.common import column_words
from db.engines import make_engine
from db.introspect import read_schema
from sql_tools.errors import SqlToolError


def short_type(t) -> str:
    s = str(t).upper()
    for long, short in (("TIMESTAMP WITHOUT TIME ZONE", "TIMESTAMP"), ("DATETIME", "TIMESTAMP"),
                        ("CHARACTER VARYING", "TEXT"), ("DOUBLE PRECISION", "REAL"), ("VARCHAR", "TEXT")):
        s = s.replace(long, short)
    return s


class SchemaFacts:
    """The exposed tables of `catalog` in the database at `database_url`; `fetch` reads stored values
    (read-only). Nothing is read before it is first needed, and nothing twice."""

    def __init__(self, catalog, database_url: str, fetch):
        self.catalog = catalog
        self.database_url = database_url
        self.fetch = fetch

    @functools.cached_property
    def _shapes(self):
        engine = make_engine(self.database_url)
        try:
            return read_schema(engine, list(self.catalog.exposed_tables))
        finally:
            engine.dispose()

    @functools.cached_property
    def types(self) -> dict[str, dict[str, str]]:
        """Column types per table, shortened (TIMESTAMP, TEXT, REAL, ...)."""
        return {t: {c["name"]: short_type(c["type"]) for c in shape.columns} for t, shape in self._shapes.items()}

    @functools.cached_property
    def foreign_keys(self) -> dict[str, dict[str, str]]:
        return {t: dict(shape.fks) for t, shape in self._shapes.items()}

    @functools.cached_property
    def primary_keys(self) -> dict[str, list[str]]:
        return {t: list(shape.pk) for t, shape in self._shapes.items()}

    @functools.cached_property
    def entity_keys(self) -> dict[str, list[str]]:
        """Columns that identify a row: primary keys and the catalog's lookup keys (record_locator)."""
        return {t.name: [*self.primary_keys.get(t.name, ()), *(c.name for c in t.columns.values() if c.lookup_key)]
                for t in self.catalog.exposed_tables.values()}

    @functools.cached_property
    def identifier_columns(self) -> dict[str, list[str]]:
        """Columns whose values name a row (keys, lookup keys, foreign keys): never summed or averaged."""
        return {t: list(dict.fromkeys([*keys, *self.foreign_keys.get(t, {})])) for t, keys in self.entity_keys.items()}

    @functools.cached_property
    def row_keys(self) -> dict[str, str]:
        """The one-column primary key of each exposed table that has one."""
        return {t: keys[0] for t, keys in self.primary_keys.items() if len(keys) == 1}

    @functools.cached_property
    def name_columns(self) -> dict[str, list[str]]:
        """The personal identifier columns (a person's names) of each table, from the catalog."""
        return {t.name: [c.name for c in t.columns.values() if c.pii == "identifier"]
                for t in self.catalog.exposed_tables.values()}

    @functools.cached_property
    def table_names(self) -> dict[str, str]:
        """Words staff use for each table ('maletas' -> baggage), from the catalog."""
        return table_words(self.catalog)

    @functools.cached_property
    def grouping_words(self) -> dict[str, dict[str, frozenset[str]]]:
        """Columns a total may be asked per ('por canal'): non-personal text columns that identify no
        single row, with the words of their names and descriptions in both languages."""
        return {t.name: {c: column_words(c, (t.columns[c].description.en, t.columns[c].description.es),
                                         self.table_names)
                         for c in self.text_columns[t.name] if c not in self.entity_keys.get(t.name, ())}
                for t in self.catalog.exposed_tables.values()}

    @functools.cached_property
    def timestamp_columns(self) -> dict[str, set[str]]:
        """TIMESTAMP and DATE columns per table (lower case): where `date(col) = 'day'` may become a range."""
        return {t: {c.lower() for c, typ in cols.items() if typ.startswith(("TIMESTAMP", "DATE"))}
                for t, cols in self.types.items()}

    @functools.cached_property
    def text_columns(self) -> dict[str, list[str]]:
        """Non-personal text columns per table: where a misplaced value may be looked up."""
        return {t.name: [c.name for c in t.columns.values() if not c.pii and any(
                    k in self.types.get(t.name, {}).get(c.name, "") for k in ("TEXT", "CHAR"))]
                for t in self.catalog.exposed_tables.values()}

    @functools.cached_property
    def join_graph(self) -> JoinGraph:
        return JoinGraph({t: cols.keys() for t, cols in self.types.items()}, self.foreign_keys)

    @functools.cached_property
    def stored_values(self) -> dict[tuple[str, str], list[str]]:
        """A few stored values of low-cardinality, non-personal text columns (statuses, codes...): in the
        prompt's schema, and matched by the linker. Read from a bounded sample so start-up stays cheap on
        a large database."""
        out: dict[tuple[str, str], list[str]] = {}
        for table in self.catalog.exposed_tables.values():
            for col in table.columns.values():
                t = self.types.get(table.name, {}).get(col.name, "")
                if col.pii or col.lookup_key or not any(k in t for k in ("TEXT", "CHAR")):
                    continue
                sql = (f'SELECT DISTINCT "{col.name}" FROM (SELECT "{col.name}" FROM "{table.name}" '
                       f'LIMIT 20000) s WHERE "{col.name}" IS NOT NULL LIMIT 13')
                try:
                    values = sorted(str(r[0]) for r in self.fetch(sql, {}))
                except SqlToolError:
                    continue
                if 0 < len(values) <= 12 and all(len(v) <= 24 for v in values):
                    out[(table.name, col.name)] = values
        return out
