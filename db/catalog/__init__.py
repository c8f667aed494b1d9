"""The catalog: what each exposed table and column means, which words staff use for them, which
columns hold personal data, and how each role may see them.

The catalog is the single source of truth for *exposure*: the guard's table allowlist, the schema in
the prompt, the SQLite authorizer and the PostgreSQL grants all derive from it, so a table that is not
`exposed: true` here (``staff_accounts``) cannot leak through any of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml

from db.catalog.views import SemanticView, parse_views
from db.errors import CatalogError

PiiClass = Literal["identifier", "contact", "document", "date_of_birth", "free_text"]
Action = Literal["clear", "partial", "year", "pseudonym", "hide"]
PII_CLASSES: tuple[str, ...] = ("identifier", "contact", "document", "date_of_birth", "free_text")
ACTIONS: tuple[str, ...] = ("clear", "partial", "year", "pseudonym", "hide")
DEFAULT_CATALOG = "passengers.yaml"
# The identifiers staff type to name one record, by kind, and how many columns each is stored in:
#   locator  a record locator (PNR): 6 characters of A-Z and 2-9, typed in any case
#   ticket   a 13-digit ticket number (3-digit airline prefix, typed with or without a dash)
#   bag      a 10-digit bag tag
#   flight   a flight designator ('XA401', 'XA 401'): the carrier code column, then the number column
IDENTIFIER_KINDS: dict[str, int] = {"locator": 1, "ticket": 1, "bag": 1, "flight": 2}


@dataclass(frozen=True)
class Text2:
    """A text in English and Spanish."""
    en: str = ""
    es: str = ""

    def get(self, lang: str) -> str:
        return (self.es if lang == "es" else self.en) or self.en or self.es


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    description: Text2 = Text2()
    pii: PiiClass | None = None
    lookup_key: bool = False
    synonyms: tuple[str, ...] = ()
    # A short name for column headers and restatements ('tarifa'); empty: derived from the description.
    label: Text2 = Text2()

    def short_label(self, lang: str) -> str:
        """The label, else the description up to its first clarification ('Estado del cupón'), else ''."""
        return self.label.get(lang) or short_description(self.description.get(lang))


def short_description(text: str) -> str:
    """'Seat ('12A'); NULL before check-in' -> 'Seat': a description up to its first clarification."""
    return re.split(r"\s*[(:;,]\s*|\s+-\s+|\s*=\s*", (text or "").strip(), maxsplit=1)[0].strip().rstrip(".")


@dataclass(frozen=True)
class TableInfo:
    name: str
    exposed: bool
    description: Text2 = Text2()
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    synonyms: tuple[str, ...] = ()
    # What one row is called, in the plural ('cupones', 'coupons'): "number of coupons". Empty: derived.
    noun: Text2 = Text2()


@dataclass(frozen=True)
class RolePolicy:
    name: str
    masking: dict[str, Action]
    max_rows: int = 200
    max_passengers_per_query: int = 200
    max_passengers_per_hour: int = 2000
    description: Text2 = Text2()

    def action(self, pii: str | None) -> Action:
        """How this role sees a column of class `pii` (None: not personal data, always clear)."""
        return "clear" if pii is None else self.masking.get(pii, "hide")

    def may_look_up(self, pii: str | None) -> bool:
        """Whether this role may find a record by the value of a column of class `pii`: only when it
        sees that class in the clear (or the column holds no personal data). It is the rule the guard
        enforces on SQL (a masked column is a bare output, never compared with a whole value), stated for
        the look-ups the assistant runs itself: a role that may not filter on a column cannot look a
        record up by it either, not even to learn whether it exists."""
        return self.action(pii) == "clear"


@dataclass(frozen=True)
class AirportTable:
    """The airport reference table: its code column (IATA codes typed in questions, 'MEX-CUN'), its
    city column (city names typed as places) and the columns of other tables that hold its codes, in
    the order their names are tried for a trip's origin and destination."""
    table: str
    code: str
    city: str
    refs: tuple[str, ...] = ()           # 'table.column' holding airport codes ('flights.origin')


@dataclass(frozen=True)
class Catalog:
    name: str
    tables: dict[str, TableInfo]
    roles: dict[str, RolePolicy]
    subject_table: str | None = None
    subject_key: str | None = None
    # How a person is named: the column a name is searched in (folded: lower case, no accents, one space)
    # and the columns that show a name, in reading order. No search column: names are not linked.
    subject_search: str | None = None
    subject_names: tuple[str, ...] = ()
    subject_words: tuple[str, ...] = ()          # what staff call a person ('pasajero'): a name follows
    # Where each kind of identifier (IDENTIFIER_KINDS) is stored: kind -> (table, column[, column]).
    # A kind the catalog does not declare is neither linked in questions nor opened as a record card.
    identifiers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    airport_table: AirportTable | None = None     # the catalog's `airports`
    # What the assistant says of its own scope in this product's words, by message ('internals',
    # 'write', 'model', 'bulk_personal_data', 'empty_question'); a message not given is said generically.
    messages: dict[str, Text2] = field(default_factory=dict)
    description: Text2 = Text2()
    notes: Text2 = Text2()
    terms: dict[str, str] = field(default_factory=dict)
    # Words for stored values that are linked next to the question but not listed in the prompt's
    # glossary: the glossary is part of every question's cached prefix (each token there makes every
    # generated token dearer), a value word matters only to the questions that use it, and those get
    # it as a hint anyway.
    value_terms: dict[str, str] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)
    rules: tuple[str, ...] = ()                  # conventions of this database, for the SQL prompt
    examples: tuple[dict, ...] = ()              # worked question -> SQL examples on this schema
    # Semantic views, one per grain (db/catalog/views.py): what the model queries on the plan path.
    views: dict[str, SemanticView] = field(default_factory=dict)
    view_rules: tuple[str, ...] = ()             # this database's conventions, said in view columns
    view_examples: tuple[dict, ...] = ()         # worked question -> SQL examples over the views
    views_drafted: bool = False                  # `abordo catalog init` drafted the views; nobody reviewed them
    source: str = ""

    @property
    def all_terms(self) -> dict[str, str]:
        """The glossary and the value words: what the linker looks for in a question."""
        return {**self.terms, **self.value_terms}

    @property
    def exposed_tables(self) -> dict[str, TableInfo]:
        return {n: t for n, t in self.tables.items() if t.exposed}

    @property
    def hidden_tables(self) -> tuple[str, ...]:
        """Tables the catalog lists as never exposed (`exposed: false`): no question may reach them."""
        return tuple(n for n, t in self.tables.items() if not t.exposed)

    def identifier(self, kind: str) -> tuple[str, ...] | None:
        """(table, column[, column]) of an identifier kind, or None when the catalog does not declare it."""
        return self.identifiers.get(kind)

    def message(self, key: str, lang: str, default: Text2) -> str:
        """The catalog's wording of one of the assistant's own messages, else `default`."""
        return self.messages.get(key, default).get(lang)

    def role(self, name: str) -> RolePolicy:
        try:
            return self.roles[name]
        except KeyError:
            raise CatalogError(f"unknown role {name!r}: the catalog defines {', '.join(self.roles)}") from None

    def column(self, table: str, column: str) -> ColumnInfo | None:
        """The column's entry; a name that differs only in case finds it when that is unambiguous
        (SQL folds unquoted names, while introspected catalogs keep the stored case: 'Pilot_name')."""
        t = self.tables.get(table)
        if not t or not t.exposed:
            return None
        found = t.columns.get(column)
        if found is None:
            folded = [c for name, c in t.columns.items() if name.lower() == column.lower()]
            found = folded[0] if len(folded) == 1 else None
        return found

    def readable_columns(self, table: str, role: str) -> tuple[str, ...]:
        """Columns of an exposed table that `role` may read at all (masked or clear)."""
        policy = self.role(role)
        t = self.exposed_tables.get(table)
        if t is None:
            return ()
        return tuple(c.name for c in t.columns.values() if policy.action(c.pii) != "hide")


def _text2(raw, where: str) -> Text2:
    if raw is None:
        return Text2()
    if isinstance(raw, str):
        return Text2(en=raw, es=raw)
    if isinstance(raw, dict) and set(raw) <= {"en", "es"}:
        return Text2(en=str(raw.get("en", "")), es=str(raw.get("es", "")))
    raise CatalogError(f"{where}: a description is a string or a mapping with keys en and es")


def _mapping(raw, where: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return raw


def _exposed_column(tables: dict[str, TableInfo], ref, where: str) -> tuple[str, str]:
    """('table', 'column') of a 'table.column' reference to an exposed column, else CatalogError."""
    table, _, column = str(ref).partition(".")
    t = tables.get(table)
    if not column or t is None or not t.exposed or column not in t.columns:
        raise CatalogError(f"{where}: {ref} is not an exposed column ('table.column')")
    return table, column


def parse_catalog(data, source: str = "<catalog>") -> Catalog:
    """Validate a parsed YAML document into a `Catalog`; every problem names where it is."""
    data = _mapping(data, source)
    tables: dict[str, TableInfo] = {}
    for tname, traw in _mapping(data.get("tables"), f"{source}: tables").items():
        traw = _mapping(traw, f"{source}: table {tname}")
        unknown = set(traw) - {"exposed", "description", "columns", "synonyms", "noun"}
        if unknown:
            raise CatalogError(f"{source}: table {tname}: unknown keys {sorted(unknown)}")
        columns: dict[str, ColumnInfo] = {}
        for cname, craw in _mapping(traw.get("columns"), f"{source}: table {tname} columns").items():
            craw = _mapping(craw, f"{source}: column {tname}.{cname}")
            unknown = set(craw) - {"description", "pii", "lookup_key", "synonyms", "label"}
            if unknown:
                raise CatalogError(f"{source}: column {tname}.{cname}: unknown keys {sorted(unknown)}")
            pii = craw.get("pii")
            if pii is not None and pii not in PII_CLASSES:
                raise CatalogError(f"{source}: column {tname}.{cname}: pii must be one of {', '.join(PII_CLASSES)}")
            columns[str(cname)] = ColumnInfo(
                name=str(cname), description=_text2(craw.get("description"), f"{source}: {tname}.{cname}"),
                pii=pii, lookup_key=bool(craw.get("lookup_key", False)),
                synonyms=tuple(str(s) for s in craw.get("synonyms") or ()),
                label=_text2(craw.get("label"), f"{source}: {tname}.{cname} label"))
        exposed = traw.get("exposed", False)
        if not isinstance(exposed, bool):
            raise CatalogError(f"{source}: table {tname}: exposed must be true or false")
        if exposed and not columns:
            raise CatalogError(f"{source}: table {tname} is exposed but lists no columns")
        tables[str(tname)] = TableInfo(name=str(tname), exposed=exposed, columns=columns,
                                       description=_text2(traw.get("description"), f"{source}: {tname}"),
                                       synonyms=tuple(str(s) for s in traw.get("synonyms") or ()),
                                       noun=_text2(traw.get("noun"), f"{source}: {tname} noun"))
    if not any(t.exposed for t in tables.values()):
        raise CatalogError(f"{source}: no table is exposed")
    roles: dict[str, RolePolicy] = {}
    for rname, rraw in _mapping(data.get("roles"), f"{source}: roles").items():
        rraw = _mapping(rraw, f"{source}: role {rname}")
        masking = _mapping(rraw.get("masking"), f"{source}: role {rname} masking")
        for cls, action in masking.items():
            if cls not in PII_CLASSES or action not in ACTIONS:
                raise CatalogError(f"{source}: role {rname}: masking {cls}: {action} is not valid "
                                   f"(classes {', '.join(PII_CLASSES)}; actions {', '.join(ACTIONS)})")
        try:
            limits = {k: int(rraw[k]) for k in ("max_rows", "max_passengers_per_query", "max_passengers_per_hour")
                      if k in rraw}
        except (TypeError, ValueError):
            raise CatalogError(f"{source}: role {rname}: limits must be whole numbers") from None
        if any(v < 1 for v in limits.values()):
            raise CatalogError(f"{source}: role {rname}: limits must be positive")
        roles[str(rname)] = RolePolicy(name=str(rname), masking=dict(masking),
                                       description=_text2(rraw.get("description"), f"{source}: role {rname}"),
                                       **limits)
    if not roles:
        raise CatalogError(f"{source}: no roles defined")
    subject = _mapping(data.get("subject"), f"{source}: subject")
    unknown = set(subject) - {"table", "key", "search_name", "names", "words"}
    if unknown:
        raise CatalogError(f"{source}: subject: unknown keys {sorted(unknown)}")
    st, sk = subject.get("table"), subject.get("key")
    if st is not None and (st not in tables or not tables[st].exposed or sk not in tables[st].columns):
        raise CatalogError(f"{source}: subject {st}.{sk} is not an exposed column")
    search = subject.get("search_name")
    names = subject.get("names") or []
    words = subject.get("words") or []
    if not isinstance(names, list) or not isinstance(words, list):
        raise CatalogError(f"{source}: subject names and words must be lists")
    for c in ([search] if search is not None else []) + names:
        if st is None or str(c) not in tables[st].columns:
            raise CatalogError(f"{source}: subject name column {c} is not a column of the subject table {st}")
    identifiers = {}
    for kind, raw in _mapping(data.get("identifiers"), f"{source}: identifiers").items():
        if kind not in IDENTIFIER_KINDS:
            raise CatalogError(f"{source}: identifiers: unknown kind {kind!r} (kinds: {', '.join(IDENTIFIER_KINDS)})")
        refs = [raw] if isinstance(raw, str) else raw
        if not isinstance(refs, list) or len(refs) != IDENTIFIER_KINDS[kind]:
            raise CatalogError(f"{source}: identifiers: {kind} is {IDENTIFIER_KINDS[kind]} 'table.column'(s)")
        cols = [_exposed_column(tables, r, f"{source}: identifiers: {kind}") for r in refs]
        if len({t for t, _ in cols}) != 1:
            raise CatalogError(f"{source}: identifiers: the columns of {kind} must be in one table")
        identifiers[str(kind)] = (cols[0][0], *(c for _, c in cols))
    airport_table = None
    if data.get("airports") is not None:
        raw = _mapping(data.get("airports"), f"{source}: airports")
        unknown = set(raw) - {"table", "code", "city", "refs"}
        if unknown or not all(raw.get(k) for k in ("table", "code", "city")):
            raise CatalogError(f"{source}: airports needs table, code and city (and optional refs), "
                               f"got {sorted(raw)}")
        at = str(raw["table"])
        for c in (raw["code"], raw["city"]):
            _exposed_column(tables, f"{at}.{c}", f"{source}: airports")
        refs = raw.get("refs") or []
        if not isinstance(refs, list):
            raise CatalogError(f"{source}: airports refs must be a list of 'table.column'")
        airport_table = AirportTable(at, str(raw["code"]), str(raw["city"]),
                            tuple("{}.{}".format(*_exposed_column(tables, r, f"{source}: airports refs"))
                                  for r in refs))
    messages = {str(k): _text2(v, f"{source}: message {k}")
                for k, v in _mapping(data.get("messages"), f"{source}: messages").items()}
    places = {str(k).lower(): str(v).upper() for k, v in _mapping(data.get("places"), f"{source}: places").items()}
    countries = {str(k).lower(): str(v).upper()
                 for k, v in _mapping(data.get("countries"), f"{source}: countries").items()}
    rules = data.get("rules") or []
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise CatalogError(f"{source}: rules must be a list of strings")
    examples = _examples(data.get("examples"), f"{source}: examples")
    view_examples = _examples(data.get("view_examples"), f"{source}: view_examples")
    view_rules = data.get("view_rules") or []
    if not isinstance(view_rules, list) or not all(isinstance(r, str) for r in view_rules):
        raise CatalogError(f"{source}: view_rules must be a list of strings")
    drafted = data.get("views_drafted", False)
    if not isinstance(drafted, bool):
        raise CatalogError(f"{source}: views_drafted must be true or false")
    return Catalog(name=str(data.get("name") or Path(source).stem), tables=tables, roles=roles,
                   rules=tuple(rules), examples=tuple(dict(e) for e in examples),
                   subject_table=st, subject_key=sk,
                   subject_search=str(search) if search is not None else None,
                   subject_names=tuple(str(c) for c in names),
                   subject_words=tuple(str(w) for w in words), identifiers=identifiers,
                   airport_table=airport_table, messages=messages,
                   description=_text2(data.get("description"), source),
                   notes=_text2(data.get("dialect_notes"), source),
                   terms={str(k): str(v) for k, v in _mapping(data.get("terms"), f"{source}: terms").items()},
                   value_terms={str(k): str(v) for k, v in
                                _mapping(data.get("value_terms"), f"{source}: value_terms").items()},
                   places=places, countries=countries, source=source,
                   views=parse_views(data.get("views"), tables, source, _text2),
                   view_rules=tuple(view_rules), view_examples=tuple(dict(e) for e in view_examples),
                   views_drafted=drafted)


def _examples(raw, where: str) -> list:
    examples = raw or []
    if not isinstance(examples, list) or not all(
            isinstance(e, dict) and isinstance(e.get("question"), str) and isinstance(e.get("sql"), str)
            and isinstance(e.get("resolved", []), list) for e in examples):
        raise CatalogError(f"{where}: each example needs 'question' and 'sql' strings (and optional 'resolved' list)")
    return examples


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load a catalog file; with no path, the demo catalog shipped in this package."""
    try:
        if path:
            p = Path(path)
            text = p.read_text(encoding="utf-8")
            source = str(p)
        else:
            text = resources.files(__name__).joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8")
            source = DEFAULT_CATALOG
    except FileNotFoundError:
        raise CatalogError(f"catalog file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"catalog file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog file {source} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse_catalog(data, source)


def check_against_database(catalog: Catalog, engine) -> None:
    """Fail with a clear message when an exposed table or column of the catalog is not in the database."""
    import sqlalchemy as sa

    inspector = sa.inspect(engine)
    present = set(inspector.get_table_names())
    for t in catalog.exposed_tables.values():
        if t.name not in present:
            raise CatalogError(f"catalog {catalog.source}: table {t.name} is not in the database")
        cols = {c["name"] for c in inspector.get_columns(t.name)}
        missing = [c for c in t.columns if c not in cols]
        if missing:
            raise CatalogError(f"catalog {catalog.source}: {t.name} has no column(s) {', '.join(missing)}")
    if catalog.views:
        _check_views(catalog, engine)


def _check_views(catalog: Catalog, engine) -> None:
    """Each view's joins follow the database's foreign keys (or reach a primary key), and the whole
    view, derived columns included, runs on this database (with LIMIT 0: nothing is read)."""
    import sqlalchemy as sa

    from db.catalog.views import check_views_against_database, view_select
    from db.introspect import read_schema

    tables = {j.table for v in catalog.views.values() for j in v.joins.values()} | \
        {v.table for v in catalog.views.values()}
    shapes = read_schema(engine, sorted(tables))
    check_views_against_database(catalog.views, {t: s.fks for t, s in shapes.items()},
                                 {t: s.pk for t, s in shapes.items()}, f"catalog {catalog.source}")
    dialect = "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
    with engine.connect() as conn:
        for view in catalog.views.values():
            try:
                conn.execute(sa.text(view_select(view, dialect) + " LIMIT 0"))
            except sa.exc.DBAPIError as exc:
                conn.rollback()
                first = str(exc.orig).strip().splitlines()[0]
                raise CatalogError(f"catalog {catalog.source}: view {view.name} does not run on this database: "
                                   f"{first}") from None
