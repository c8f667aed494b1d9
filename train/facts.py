"""What the generator knows about a database: read from its catalog and from the database itself.

Nothing here names a table or a column of the demo schema. Tables get their nouns from the catalog's
glossary (terms whose meaning is the bare table name) or from the table's name; columns are sorted
into the roles a question can give them (a category to filter or group by, a measure to add up, a
time to filter on, a key to look a record up by) from their SQL type, their stored values and the
catalog's flags; the foreign keys say which tables a question may join.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from assistant.question.lang import detect_language, search_form
from db.catalog import Catalog
from db.engines import make_engine

MAX_CATEGORY_VALUES = 12
_TERM_MEANING = re.compile(r"^\s*(?:(\w+)\.)?(\w+)\s*(=|IN)\s*(.+?)\s*$")


@dataclass
class Column:
    table: str
    name: str
    kind: str                      # 'int' | 'num' | 'text' | 'ts' | 'date' | 'other'
    pii: str | None = None
    lookup_key: bool = False
    primary: bool = False
    nullable: bool = True
    country_codes: bool = False    # holds ISO country codes the catalog has words for
    references: tuple[str, str] | None = None     # (table, column) of a foreign key
    values: list[str] = field(default_factory=list)  # stored values of a small categorical column
    label_en: str = ""
    label_es: str = ""
    value_words: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # value -> lang -> words
    labels: dict[str, list[str]] = field(default_factory=lambda: {"en": [], "es": []})  # glossary words

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def is_category(self) -> bool:
        return bool(self.values) and self.pii is None and not self.primary and self.references is None

    @property
    def is_measure(self) -> bool:
        """A quantity worth adding up or averaging: numeric, not a key, an ordinal or a coordinate."""
        ordinal = re.search(r"(?:^|_)(?:number|no|num|group|order|rank|seq|lat|lon|latitude|longitude)$",
                            self.name)
        return (self.kind in ("int", "num") and not self.primary and self.references is None
                and not self.lookup_key and self.pii is None and not self.values and not ordinal)

    def label(self, lang: str, rng=None) -> str:
        """The column as staff name it: a glossary word for it, or its description's noun phrase."""
        base = self.label_es if lang == "es" else self.label_en
        options = [base] + self.labels.get(lang, [])
        return rng.choice(options) if rng is not None else base

    def words_for(self, value: str, lang: str) -> list[str]:
        """How staff say this stored value: the catalog's words for it, else the value itself."""
        words = self.value_words.get(value, {}).get(lang) or []
        return words or [value.replace("_", " ")]


@dataclass
class Table:
    name: str
    columns: dict[str, Column]
    primary_key: list[str]
    nouns: dict[str, list[str]]    # lang -> plural nouns ('vuelos', 'flights')
    singular: dict[str, list[str]]
    row_count: int = 0

    def noun(self, lang: str, rng, plural: bool = True) -> str:
        return rng.choice((self.nouns if plural else self.singular)[lang])

    def timestamps(self) -> list[Column]:
        return [c for c in self.columns.values() if c.kind in ("ts", "date") and c.pii is None]


@dataclass
class Facts:
    catalog: Catalog
    tables: dict[str, Table]
    places: dict[str, list[str]]       # IATA-like code -> place names staff type
    airport_table: tuple[str, str] | None  # (table, code column) the place names resolve to

    def references_to(self, table: str) -> list[Column]:
        """Columns of other tables that are foreign keys to `table` (its children)."""
        return [c for t in self.tables.values() for c in t.columns.values()
                if c.references and c.references[0] == table]

    def parents(self, table: str) -> list[Column]:
        return [c for c in self.tables[table].columns.values() if c.references and c.references[0] in self.tables]

    def ancestors(self, table: str, depth: int = 3) -> list[tuple[str, list[Column]]]:
        """Tables reached from `table` by following references (many-to-one, no fan-out), each with
        the chain of reference columns that leads there; nearest first."""
        out, frontier = [], [(table, [])]
        for _ in range(depth):
            nxt = []
            for t, chain in frontier:
                for ref in self.parents(t):
                    parent = ref.references[0]
                    if parent == table or any(parent == name for name, _c in out):
                        continue
                    out.append((parent, chain + [ref]))
                    nxt.append((parent, chain + [ref]))
            frontier = nxt
        return out

    def row_date(self, table: str) -> tuple[str, list[Column], Column] | None:
        """The time a row of `table` is dated by: its own first always-set timestamp, else the nearest
        ancestor's (a coupon or a bag is dated by its flight)."""
        own = [c for c in self.tables[table].timestamps() if not c.nullable]
        if own:
            return table, [], own[0]
        # Among ancestors as near as each other, the one that records an event (the most timestamps:
        # a flight's schedule and actual times) dates the row, not the paperwork (a ticket's issue time).
        dated = [(len(chain), -len(self.tables[parent].timestamps()), parent, chain, stamps[0])
                 for parent, chain in self.ancestors(table)
                 if (stamps := [c for c in self.tables[parent].timestamps() if not c.nullable])]
        if not dated:
            return None
        _n, _k, parent, chain, stamp = min(dated, key=lambda d: d[:2])
        return parent, chain, stamp


def _kind(sqltype) -> str:
    name = type(sqltype).__name__.upper()
    text = str(sqltype).upper()
    if "TIMESTAMP" in text or "DATETIME" in text:
        return "ts"
    if text.startswith("DATE"):
        return "date"
    if any(k in name or k in text for k in ("INT",)):
        return "int"
    if any(k in text for k in ("NUMERIC", "DECIMAL", "REAL", "FLOAT", "DOUBLE")):
        return "num"
    if any(k in text for k in ("CHAR", "TEXT", "CLOB", "STRING")):
        return "text"
    return "other"


def _plural(word: str, lang: str) -> str:
    if lang == "es" and " " in word:                    # 'servicio especial' -> 'servicios especiales'
        head, sep, tail = word.partition(" de ")
        return " ".join(_plural(w, lang) for w in head.split()) + sep + tail
    if word.endswith(("s", "age", "craft")) or " " in word:
        return word
    if lang == "es":
        if word.endswith("ón"):
            return word[:-2] + "ones"
        return word + ("s" if word[-1] in "aeiouáéó" else "es")
    return word + ("es" if word.endswith(("ch", "sh", "x")) else "s")


def _singular(word: str, lang: str) -> str:
    if lang == "es" and word.endswith("ones"):
        return word[:-4] + "ón"
    if word.endswith("es") and lang == "es" and word[-3] not in "aeiou":
        return word[:-2]
    return word.removesuffix("s")


def _description_words(catalog: Catalog) -> dict[str, set[str]]:
    """The words of the catalog's own English and Spanish descriptions: the best evidence of which
    language a glossary term belongs to, whatever the database is about."""
    words: dict[str, set[str]] = {"en": set(), "es": set()}
    texts = [(t.description, c.description) for t in catalog.exposed_tables.values() for c in t.columns.values()]
    for pair in texts:
        for text in pair:
            words["en"].update(re.findall(r"\w+", search_form(text.en)))
            words["es"].update(re.findall(r"\w+", search_form(text.es)))
    return words


def _lang_of(term: str, known: dict[str, set[str]]) -> str:
    """'es' or 'en' for a glossary term: accents, then the descriptions' vocabularies, then the
    language detector, then the shape of the word (Spanish nouns end in a vowel more often)."""
    if re.search(r"[áéíóúñ¿]", term):
        return "es"
    words = re.findall(r"\w+", search_form(term))
    es = sum(w in known["es"] and w not in known["en"] for w in words)
    en = sum(w in known["en"] and w not in known["es"] for w in words)
    if es != en:
        return "es" if es > en else "en"
    if len(words) != 1:
        return detect_language(term)
    word = words[0]
    if re.search(r"(?:age|ing|tion)s?$", word):           # luggage, booking, reservation
        return "en"
    if re.search(r"[^aeiousnrldzj]$", word):           # ticket, aircraft: no Spanish noun ends so
        return "en"
    return "es" if re.search(r"(?:[oae]s?|cion(?:es)?)$", word) else detect_language(term)


def _term_meanings(catalog: Catalog):
    """(term, lang, table or None, column or None, values or None) for each glossary entry."""
    known = _description_words(catalog)
    for term, meaning in catalog.all_terms.items():
        if "(" in meaning:
            continue                       # 'ticket_segments (seat, boarding_group)': a part, not the table
        meaning = meaning.split(" or ")[0].strip()
        lang = _lang_of(term, known)
        if re.fullmatch(r"\w+", meaning):
            yield term, lang, meaning, None, None
            continue
        if re.fullmatch(r"\w+\.\w+", meaning):
            t, c = meaning.split(".")
            yield term, lang, t, c, None
            continue
        m = _TERM_MEANING.match(meaning)
        if m:
            t, c, _op, rest = m.groups()
            values = re.findall(r"'([^']*)'", rest)
            if values:
                yield term, lang, t, c, values


def read_facts(catalog: Catalog, url: str) -> Facts:
    """Introspect the database behind `url` and combine it with the catalog's words."""
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        tables: dict[str, Table] = {}
        with engine.connect() as conn:
            for tinfo in catalog.exposed_tables.values():
                cols = {c["name"]: c for c in inspector.get_columns(tinfo.name)}
                pk = inspector.get_pk_constraint(tinfo.name).get("constrained_columns") or []
                fks = {c: (fk["referred_table"], fk["referred_columns"][i])
                       for fk in inspector.get_foreign_keys(tinfo.name)
                       for i, c in enumerate(fk["constrained_columns"])}
                columns: dict[str, Column] = {}
                for cinfo in tinfo.columns.values():
                    if cinfo.name not in cols:
                        continue
                    col = Column(table=tinfo.name, name=cinfo.name, kind=_kind(cols[cinfo.name]["type"]),
                                 pii=cinfo.pii, lookup_key=cinfo.lookup_key, primary=[cinfo.name] == pk,
                                 nullable=bool(cols[cinfo.name].get("nullable", True)),
                                 references=fks.get(cinfo.name),
                                 label_en=_label(cinfo.description.en), label_es=_label(cinfo.description.es))
                    if col.kind == "text" and col.pii is None and not col.primary and col.references is None:
                        q = sa.text(f'SELECT DISTINCT "{col.name}" FROM "{tinfo.name}" '
                                    f'WHERE "{col.name}" IS NOT NULL LIMIT {MAX_CATEGORY_VALUES + 1}')
                        values = [str(r[0]) for r in conn.execute(q)]
                        if 1 < len(values) <= MAX_CATEGORY_VALUES and all(len(v) <= 24 for v in values):
                            col.values = sorted(values)
                        elif catalog.countries and len(values) > MAX_CATEGORY_VALUES:
                            known = set(catalog.countries.values())
                            col.country_codes = sum(v in known for v in values) > len(values) // 2
                    columns[col.name] = col
                count = conn.execute(sa.text(f'SELECT COUNT(*) FROM "{tinfo.name}"')).scalar() or 0
                tables[tinfo.name] = Table(name=tinfo.name, columns=columns, primary_key=pk,
                                           nouns={"en": [], "es": []}, singular={"en": [], "es": []},
                                           row_count=int(count))
    finally:
        engine.dispose()
    _attach_words(catalog, tables)
    places: dict[str, list[str]] = {}
    for name, code in catalog.places.items():
        places.setdefault(code, []).append(name)
    airport = _place_table(tables, set(places), url) if places else None
    return Facts(catalog=catalog, tables=tables, places=places, airport_table=airport)


def _place_table(tables: dict[str, Table], codes: set[str], url: str) -> tuple[str, str] | None:
    """The table whose text primary key holds the catalog's place codes (the airports), if any."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for t in tables.values():
                keys = [c for c in t.columns.values() if c.primary and c.kind == "text"]
                if not keys:
                    continue
                stored = {str(r[0]) for r in conn.execute(sa.text(f'SELECT "{keys[0].name}" FROM "{t.name}"'))}
                if len(codes & stored) >= max(1, len(codes) // 2):
                    return t.name, keys[0].name
    finally:
        engine.dispose()
    return None


def _label(description: str) -> str:
    """A column's noun phrase from its description: the part before a parenthesis, colon, comma, ';'
    or ' / ', without codes, ranges and standards ('Gender F/M/X' -> 'gender', 'ISO 4217 currency'
    -> 'currency')."""
    text = re.split(r"[;:(,]| - | / ", description)[0].strip().rstrip(".")
    words = [w for w in text.split() if not re.search(r"[\d/]", w) and not (w.isupper() and len(w) > 1)]
    text = " ".join(words) or text
    return text[:1].lower() + text[1:] if not text[1:2].isupper() else text


def _attach_words(catalog: Catalog, tables: dict[str, Table]) -> None:
    for term, lang, t, c, values in _term_meanings(catalog):
        if t not in tables and c is None:
            continue
        if c is None:                                       # a word for a table
            table = tables[t]
            if term.isupper():
                continue
            plural, single = _plural(term, lang), _singular(term, lang)
            if plural not in table.nouns[lang]:
                table.nouns[lang].append(plural)
            if single not in table.singular[lang]:
                table.singular[lang].append(single)
            continue
        owners = [tables[t]] if t in tables else [tt for tt in tables.values() if c in tt.columns]
        for table in owners:
            col = table.columns.get(c)
            if col is None:
                continue
            if values is None:                                # a word for a column
                if not term.isupper() and term not in col.labels[lang]:
                    col.labels[lang].append(term)
                continue
            if len(values) != 1 or values[0] not in col.values:
                continue
            words = col.value_words.setdefault(values[0], {"en": [], "es": []})
            if term not in words[lang] and not term.isupper():
                words[lang].append(term)
    for table in tables.values():
        base = table.name.replace("_", " ")
        first = (catalog.tables[table.name].description.es.split() or [""])[0].lower()
        if not table.nouns["es"] and first.endswith("s") and len(first) > 3:
            table.nouns["es"], table.singular["es"] = [first], [_singular(first, "es")]
        for lang in ("en", "es"):
            if not table.nouns[lang]:
                table.nouns[lang] = [base if lang == "en" else (table.nouns["en"] or [base])[0]]
                table.singular[lang] = [_singular(base, "en")]
        table.nouns["en"] = [n for n in table.nouns["en"] if search_form(n) == n.lower()] or table.nouns["en"]
