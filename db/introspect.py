"""Draft a catalog for any SQLite or PostgreSQL database, so the assistant is not tied to the demo schema.

The draft is a starting point for a person: column names that look personal are marked with a `pii`
class (to be reviewed), tables whose names look like credentials are not exposed, and descriptions
hold the column type plus, for low-cardinality text columns, the values found.

What the assistant reads besides the tables is drafted where the schema says it plainly, from names,
types and keys only: the `subject` (the one table of people: first and last name columns and a
one-column key), the `identifiers` staff type (a record locator, ticket number, bag tag or flight
designator column, each found once) and the `airports` reference table (an airport table with an IATA
code and a city column that foreign keys point at: without them thousands of codes and cities would be
matched against ordinary words). What is not found is left out, and the assistant does without it: no
name linking, no record cards, no airport codes or cities.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
import yaml

from db.engines import check_reachable, make_engine
from db.errors import DatabaseUnreachable

# Name patterns that suggest personal data, most specific first. A draft, reviewed by a person.
_PII_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(^|_)(e_?mail|phone|telephone|mobile|contact)", "contact"),
    (r"(passport|document|doc_num|national_id|ssn|tax_id|frequent_flyer|ffn|card)", "document"),
    (r"(birth|dob)", "date_of_birth"),
    (r"(note|comment|free_text|remark|text_)", "free_text"),
    (r"(^|_)(first_name|last_name|surname|full_name|passenger_name|given_name|family_name|name_)", "identifier"),
)
_HIDDEN_TABLES = re.compile(r"(staff|user|account|credential|password|secret|auth|token|session)", re.I)
_KEY_HINT = re.compile(r"(_id$|^id$|_code$|_number$|_no$|locator|ref$|tag$)", re.I)


def _pii_class(column: str) -> str | None:
    for pattern, cls in _PII_PATTERNS:
        if re.search(pattern, column, re.I):
            return cls
    return None


def _sample_values(conn, table: str, column: str, preparer) -> list | None:
    """Up to 12 distinct values of a text column, or None when it has more (not an enumeration)."""
    q = (f"SELECT DISTINCT {preparer.quote(column)} FROM {preparer.quote(table)} "
         f"WHERE {preparer.quote(column)} IS NOT NULL LIMIT 13")
    try:
        rows = [r[0] for r in conn.execute(sa.text(q))]
    except sa.exc.DBAPIError:
        return None
    return sorted(map(str, rows)) if 0 < len(rows) <= 12 else None


# Column names that say what kind of identifier a column holds (`db.catalog.IDENTIFIER_KINDS`).
_IDENTIFIER_NAMES = {"locator": re.compile(r"(^|_)(record_locator|pnr|booking_ref(erence)?)$", re.IGNORECASE),
                     "ticket": re.compile(r"(^|_)ticket_?(number|no|num)$", re.IGNORECASE),
                     "bag": re.compile(r"(^|_)bag_?tag$", re.IGNORECASE)}
_CARRIER = re.compile(r"^(carrier|(carrier|airline)_?code)$", re.IGNORECASE)
_FLIGHT_NUMBER = re.compile(r"^flight_?(number|no|num)$", re.IGNORECASE)
_FIRST_NAME = re.compile(r"(first|given)_?name", re.IGNORECASE)
_LAST_NAME = re.compile(r"(last|family)_?name|surname", re.IGNORECASE)


def _is_text(col: dict) -> bool:
    return isinstance(col["type"], (sa.String, sa.Text)) or "CHAR" in str(col["type"]).upper()


def _infer(tables: dict[str, dict], schema: dict[str, dict]) -> dict:
    """The `subject`, `identifiers` and `airports` sections the schema states plainly (see the module
    docstring); each is left out when it is not found exactly once. `schema[table]` holds the table's
    reflected 'columns', 'pk' (list) and 'fks' (column -> 'table.column')."""
    out: dict = {}
    exposed = [t for t, entry in tables.items() if entry.get("exposed")]
    people = []
    for t in exposed:
        cols = [c["name"] for c in schema[t]["columns"]]
        if (len(schema[t]["pk"]) == 1 and any(_FIRST_NAME.search(c) for c in cols)
                and any(_LAST_NAME.search(c) for c in cols)):
            people.append(t)
    if len(people) == 1:
        t = people[0]
        columns = tables[t]["columns"]
        subject = {"table": t, "key": schema[t]["pk"][0]}
        search = [c for c in columns if "search" in c.lower() and "name" in c.lower()]
        if len(search) == 1:
            subject["search_name"] = search[0]
            columns[search[0]]["pii"] = "identifier"         # a person's name, folded
        names = [c for c in columns if c not in search and columns[c].get("pii") == "identifier"
                 and (_FIRST_NAME.search(c) or _LAST_NAME.search(c))]
        if names:
            subject["names"] = names
        out["subject"] = subject
    identifiers: dict = {}
    for kind, pattern in _IDENTIFIER_NAMES.items():
        found = [(t, c["name"]) for t in exposed for c in schema[t]["columns"] if pattern.search(c["name"])]
        if len(found) > 1:      # the column others reference it by ('tickets.ticket_number'): the table's key
            found = [(t, c) for t, c in found if schema[t]["pk"] == [c]]
        if len(found) == 1:
            identifiers[kind] = "{}.{}".format(*found[0])
    flights = []
    for t in exposed:
        carriers = [c["name"] for c in schema[t]["columns"] if _CARRIER.match(c["name"]) and _is_text(c)]
        numbers = [c["name"] for c in schema[t]["columns"] if _FLIGHT_NUMBER.match(c["name"])]
        if len(carriers) == 1 and len(numbers) == 1:
            flights.append([f"{t}.{carriers[0]}", f"{t}.{numbers[0]}"])
    if len(flights) == 1:
        identifiers["flight"] = flights[0]
    if identifiers:
        out["identifiers"] = identifiers
    airports = []
    for t in exposed:
        if "airport" not in t.lower():
            continue
        text = [c["name"] for c in schema[t]["columns"] if _is_text(c)]
        code = ([c for c in text if "iata" in c.lower()]
                or [c for c in text if c in schema[t]["pk"] and "code" in c.lower()])
        city = [c for c in text if "city" in c.lower()]
        if len(code) == 1 and len(city) == 1:
            refs = [f"{other}.{c}" for other in exposed for c, target in schema[other]["fks"].items()
                    if target == f"{t}.{code[0]}"]
            if refs:            # a reference list nothing flies from is not told from ordinary words
                airports.append({"table": t, "code": code[0], "city": city[0], "refs": refs})
    if len(airports) == 1:
        out["airports"] = airports[0]
    return out


_ROLE_SUFFIX = re.compile(r"(_id|_code|_no|_number|_key|id)$", re.I)
MAX_VIEW_DEPTH = 3
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _draft_views(tables: dict[str, dict], schema: dict[str, dict]) -> dict:
    """One view per exposed table (named like it): the table's columns under their names, then every
    parent reached along foreign keys (up to MAX_VIEW_DEPTH joins away, no table twice on one path),
    its columns prefixed by the role of the key it is reached by ('origin_city' through `origin`,
    'customer_name' through `customer_id`). A name that would mean two things gets a number. A
    foreign key to a hidden table, or to a column that is not the parent's one-column key, is not
    walked: a view never has more rows than its table."""
    exposed = {t for t, entry in tables.items() if entry.get("exposed")}
    views: dict = {}
    for table in sorted(exposed):
        joins: dict[str, str] = {}
        explicit: dict[str, str] = {}    # view column -> "join.column"
        used = set(tables[table]["columns"])
        queue = [("", table, (table,))]
        while queue:
            parent, at, path = queue.pop(0)
            for column, target in sorted(schema[at]["fks"].items()):
                ref_table, _, ref_col = target.partition(".")
                if (ref_table not in exposed or ref_table in path or schema[ref_table]["pk"] != [ref_col]
                        or len(path) > MAX_VIEW_DEPTH or column not in tables[at]["columns"]):
                    continue
                role = _ROLE_SUFFIX.sub("", column).strip("_")
                if len(role) < 3:                 # 'aid' -> 'a': the table says more
                    role = ref_table.rstrip("s")
                name = role if role not in joins else f"{parent}_{role}"
                while name in joins or name == "self" or not _PLAIN_NAME.match(name):
                    name = re.sub(r"\W", "_", name) + "_"
                joins[name] = f"{parent + '.' if parent else ''}{column} -> {ref_table}.{ref_col}"
                for c in tables[ref_table]["columns"]:
                    if c == ref_col or not _PLAIN_NAME.match(c):
                        continue
                    wanted = c if c.startswith(f"{name}_") else f"{name}_{c}"
                    n, i = wanted, 2
                    while n in used:
                        n, i = f"{wanted}_{i}", i + 1
                    used.add(n)
                    explicit[n] = f"{name}.{c}"
                queue.append((name, ref_table, (*path, ref_table)))
        entry: dict = {"table": table, "description": tables[table].get("description")}
        if joins:
            entry["joins"] = joins
            entry["columns"] = explicit
        odd = [c for c in tables[table]["columns"] if not _PLAIN_NAME.match(c)]
        if odd:                                # '%_Change_2007': not a name a model can write bare
            entry["omit"] = odd
        views[table] = entry
    return views


@dataclass(frozen=True)
class TableShape:
    """One table as the database declares it."""
    columns: list[dict]                  # SQLAlchemy's reflected columns: name, type, nullable, ...
    pk: list[str]                        # primary key columns, in order
    fks: dict[str, str]                  # column -> "referred_table.referred_column"


def read_schema(engine: sa.Engine, tables: Iterable[str]) -> dict[str, TableShape]:
    """The columns, primary key and foreign keys of `tables`, read once through SQLAlchemy's inspector:
    what the catalog draft and the assistant's schema facts both start from. Raises DatabaseUnreachable
    when the database cannot be reached."""
    try:
        inspector = sa.inspect(engine)
        out = {}
        for table in tables:
            out[table] = TableShape(
                columns=inspector.get_columns(table),
                pk=list(inspector.get_pk_constraint(table).get("constrained_columns") or ()),
                fks={c: f"{fk['referred_table']}.{fk['referred_columns'][i]}"
                     for fk in inspector.get_foreign_keys(table) for i, c in enumerate(fk["constrained_columns"])})
        return out
    except sa.exc.OperationalError:
        raise DatabaseUnreachable("cannot connect to the passenger database") from None


def draft_catalog(url: str, *, sample: bool = True) -> str:
    """Introspect `url` and return a catalog YAML document."""
    engine = make_engine(url)
    check_reachable(engine)
    inspector = sa.inspect(engine)
    preparer = engine.dialect.identifier_preparer
    tables: dict[str, dict] = {}
    schema: dict[str, dict] = {}
    names = sorted(inspector.get_table_names())
    shapes = read_schema(engine, [t for t in names if not _HIDDEN_TABLES.search(t)])
    with engine.connect() as conn:
        for tname in names:
            if tname not in shapes:
                tables[tname] = {"exposed": False}
                continue
            shape = shapes[tname]
            pk_columns, fks, reflected = shape.pk, shape.fks, shape.columns
            pk = set(pk_columns)
            schema[tname] = {"columns": reflected, "pk": pk_columns, "fks": fks}
            columns: dict[str, dict] = {}
            for col in reflected:
                name = col["name"]
                desc = f"{name.replace('_', ' ')} ({col['type']})"
                if name in fks:
                    desc += f", references {fks[name]}"
                pii = _pii_class(name)
                is_text = _is_text(col)
                if sample and pii is None and is_text and name not in pk:
                    values = _sample_values(conn, tname, name, preparer)
                    if values:
                        desc += "; values: " + ", ".join(values)
                entry: dict = {"description": {"en": desc, "es": desc}}
                if pii:
                    entry["pii"] = pii
                if name in pk or name in fks or _KEY_HINT.search(name):
                    entry["lookup_key"] = True
                columns[name] = entry
            tables[tname] = {"exposed": True, "description": {"en": tname.replace("_", " "),
                                                               "es": tname.replace("_", " ")},
                             "columns": columns}
    engine.dispose()
    inferred = _infer(tables, schema)
    doc = {
        "name": engine.url.database.rsplit("/", 1)[-1].split(".")[0] if engine.url.database else "database",
        "description": {"en": "Drafted by abordo catalog init: review every pii mark and exposed table.",
                        "es": "Borrador de abordo catalog init: revise las marcas pii y las tablas expuestas."},
        "roles": {
            "agent": {"max_rows": 200, "max_passengers_per_query": 200, "max_passengers_per_hour": 2000,
                      "masking": {"identifier": "clear", "contact": "partial", "document": "partial",
                                  "date_of_birth": "year", "free_text": "clear"}},
            "supervisor": {"max_rows": 1000, "max_passengers_per_query": 1000, "max_passengers_per_hour": 10000,
                           "masking": {c: "clear" for c in ("identifier", "contact", "document",
                                                            "date_of_birth", "free_text")}},
            "analyst": {"max_rows": 1000, "max_passengers_per_query": 1000, "max_passengers_per_hour": 20000,
                        "masking": {"identifier": "pseudonym", "contact": "hide", "document": "hide",
                                    "date_of_birth": "year", "free_text": "hide"}},
        },
        **inferred,
        "tables": tables,
        # Drafted views answer second (`query_path = auto`): on Spider aviation's drafted catalogs the
        # views path was 6 questions of 258 behind the tables path; reviewed views were ahead (issue 25).
        "views_drafted": True,
        "views": _draft_views(tables, schema),
    }
    header = ("# Catalog drafted by `abordo catalog init`. Review before use:\n"
              "#  - pii classes were guessed from column names; mark every personal column\n"
              "#  - tables that look like credentials are exposed: false\n"
              "#  - subject, identifiers and airports were guessed from names and keys (absent: not found)\n"
              "#  - views: one per table with its parents' columns joined along the foreign keys, named by\n"
              "#    the key's role; rename columns the way staff speak (`abordo catalog check --db` after),\n"
              "#    then set views_drafted: false so that questions are answered over the views first\n")
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
