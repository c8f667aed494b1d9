"""The catalog's words a restatement is made of (column labels, table nouns, value words, place
names: `Words`, built once per assistant) and the human label of each result column (`column_labels`)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from assistant.explain.phrasing import DAY, PHRASES, STAMP, Restatement, format_date
from assistant.joinfix import JoinGraph
from db.catalog import short_description

_SMALL_WORDS = frozenset("de del la las los el y e da do dos das of the".split())


class Words:
    """Labels, nouns, value words and place names for one catalog, built once per assistant.

    `places` maps an airport code to its city as the airports table stores it (English); the Spanish
    name comes from the catalog's place words when it has one."""

    def __init__(self, catalog, graph: JoinGraph | None = None, places: Mapping[str, str] | None = None,
                 airport_columns: Sequence[str] = (), keys: Mapping[str, str] | None = None):
        self.catalog = catalog
        self.graph = graph
        self.keys = {t: k.lower() for t, k in (keys or {}).items()}     # table -> its one-column primary key
        self.places = dict(places or {})
        self.airport_columns = {c.lower() for c in airport_columns}
        self._es_places: dict[str, str] = {}
        for word, code in catalog.places.items():
            self._es_places.setdefault(code, _title(word))
        self._value_words: dict[str, str] = {}
        for word, meaning in catalog.all_terms.items():
            self._value_words.setdefault(" ".join(meaning.split()).lower(), word)
        flight = catalog.identifiers.get("flight")
        # The carrier and number columns of a flight designator ('vuelo XA401'), from the catalog.
        self.designator = (flight[1].lower(), flight[2].lower()) if flight else None
        # The person's id (the catalog's subject key): its values are said as 'n.º 512'.
        self.person_key = (catalog.subject_key or "").lower()

    def label(self, table: str | None, column: str, lang: str) -> str:
        """'Tarifa', 'Estado del cupón': the catalog's label, else its description up to the first
        clarification, else the column name."""
        info = self.catalog.column(table, column) if table else None
        if info is not None and info.short_label(lang):
            return info.short_label(lang)
        return column.replace("_", " ")

    def noun(self, table: str | None, lang: str) -> str:
        t = self.catalog.exposed_tables.get(table or "")
        if t is None:
            return PHRASES[lang]["rows"]
        return t.noun.get(lang) or short_description(t.description.get(lang)).lower() or table.replace("_", " ")

    def value(self, table: str | None, column: str, value, lang: str) -> str:
        """A stored value as staff say it: 'volado (flown)', 'MEX (Ciudad de México)', '14 jun 2026'."""
        if value is None:
            return "NULL"
        text = str(value)
        if isinstance(value, str) and (DAY.match(text) or STAMP.match(text)):
            return format_date(text, lang)
        if (f"{table}.{column}".lower() in self.airport_columns) and text in self.places:
            city = self._es_places.get(text) if lang == "es" else None
            return f"{text} ({city or self.places[text]})"
        if lang == "es" and isinstance(value, str):
            for key in (f"{table}.{column} = '{text}'", f"{column} = '{text}'"):
                word = self._value_words.get(key.lower())
                if word and word.lower() != text.lower():
                    return f"{word} ({text})"
        return text

    def references(self, table: str | None, column: str) -> str | None:
        """The table a foreign key column points to ('tickets.passenger_id' -> 'passengers')."""
        if self.graph is None or not table:
            return None
        ref = self.graph.reference(table, column)
        return ref[0] if ref else None

    def is_key(self, table: str | None, column: str) -> bool:
        """True for the column that identifies `table`'s rows: its primary key, or the key foreign keys
        reference."""
        if not table:
            return False
        return self.keys.get(table) == column.lower() or (
            self.graph is not None and self.graph.referenced_key(table, column) == column)


def _title(word: str) -> str:
    return " ".join(w if w in _SMALL_WORDS and i else w[:1].upper() + w[1:] for i, w in enumerate(word.split()))


def column_labels(restatement: Restatement, columns: Sequence[str]) -> list[str]:
    """One human label per result column: the restatement's, else the SQL name made readable. Extra
    columns the guard adds (none reach the user today) keep their names."""
    labels = list(restatement.labels[:len(columns)])
    labels += [str(c).replace("_", " ") for c in columns[len(labels):]]
    seen: dict[str, int] = {}
    out = []
    for label in labels:   # two columns with one label ('Origen', 'Origen') stay distinguishable
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
