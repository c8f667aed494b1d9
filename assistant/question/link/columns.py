"""Where the values the linker resolves live, all from the catalog (its identifiers, its airports table,
its subject and the descriptions of country columns), so another catalog switches linkers on or off; and
the reference data read once per `fetch` (carriers, airports) with the one-query existence check.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from assistant.question.link.hints import Fetch


@dataclass(frozen=True)
class _Cols:
    locator: tuple[str, str] | None               # table, column: the catalog's identifiers
    ticket: tuple[str, str] | None
    bag: tuple[str, str] | None
    flight: tuple[str, str, str] | None           # table, carrier column, number column
    airport: tuple[str, str, str] | None          # table, code, city: the catalog's airports
    airport_refs: tuple[str, ...]                 # columns holding airport codes ('table.column')
    person: tuple[str, str, str, tuple[str, ...]] | None  # table, id, search column, display columns
    person_refs: tuple[str, ...]                  # columns referencing the person id ('table.column')
    country_refs: tuple[str, ...]                 # columns holding ISO2 country codes
    # Columns of the person table a person is found by besides the name, per look-up kind ('email',
    # 'phone', 'document'): its contact and document columns, told apart by their names/descriptions.
    person_keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    person_noun: str = ""                         # what the person table's rows are, in English (plural)
    airport_noun: str = ""                        # the same for the airport table


def _columns(catalog) -> _Cols:
    """Where the values the linker resolves are stored, all from the catalog: its identifiers, its
    airport table, its subject (the person) and the descriptions of country columns. Each is optional:
    what the catalog does not declare is not linked."""
    def desc(c) -> str:
        return f"{c.description.en} {c.description.es}".lower()

    country_refs, person_refs = [], []
    person_table, person_key = catalog.subject_table, catalog.subject_key
    for t in catalog.exposed_tables.values():
        for c in t.columns.values():
            d = desc(c)
            if ("alpha-2" in d or "alfa-2" in d) and "iso" in d:
                country_refs.append(f"{t.name}.{c.name}")
            if person_table and c.name == person_key and t.name != person_table:
                person_refs.append(f"{t.name}.{c.name}")
    keys: dict[str, list[str]] = {}
    person = catalog.exposed_tables.get(person_table) if person_table else None
    for c in (person.columns.values() if person else ()):
        words = f"{c.name} {desc(c)}"
        for kind, (pii, pattern) in _PERSON_KEY_KINDS.items():
            if c.pii == pii and re.search(pattern, words):
                keys.setdefault(kind, []).append(c.name)
                break
    ids, ref = catalog.identifiers, catalog.airport_table
    return _Cols(
        locator=ids.get("locator"), ticket=ids.get("ticket"), bag=ids.get("bag"), flight=ids.get("flight"),
        airport=(ref.table, ref.code, ref.city) if ref else None,
        airport_refs=ref.refs if ref else (), country_refs=tuple(country_refs),
        person=((person_table, person_key, catalog.subject_search, catalog.subject_names)
                if person and catalog.subject_search else None),
        person_refs=tuple(person_refs),
        person_keys=tuple((k, tuple(v)) for k, v in keys.items()),
        person_noun=_noun(person),
        airport_noun=_noun(catalog.exposed_tables.get(ref.table) if ref else None),
    )


def _noun(table) -> str:
    """What one row of `table` is called in the plural, in English (for the prompt's hint lines)."""
    return (table.noun.en or table.name.replace("_", " ")) if table is not None else ""


# Look-up kinds by a person's contact or document: (catalog pii class, words in the column's name or
# description). 'frequent_flyer_number' is a document-class column too, but no document number.
_PERSON_KEY_KINDS = {
    "email": ("contact", r"e-?mail|correo"),
    "phone": ("contact", r"phone|tel[eé]fono"),
    "document": ("document", r"document|passport|pasaporte|identi"),
}


# --------------------------------------------------------------------------------------------------
# Reference data cached per fetch function (carriers, airports): read once, reused for every question.

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def clear_cache() -> None:
    """Forget cached reference data (tests; or after the reference tables change)."""
    _CACHE.clear()


def _cached(fetch: Fetch, key: str, load: Callable[[], object]):
    try:
        slot = _CACHE.setdefault(fetch, {})
    except TypeError:  # unhashable fetch: no caching
        return load()
    _CACHE.move_to_end(fetch)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    if key not in slot:
        slot[key] = load()
    return slot[key]


def _in_list(fetch: Fetch, table: str, col: str, values: list[str]) -> set[str]:
    """Which of `values` exist in table.col: one primary/unique-key lookup."""
    if not values:
        return set()
    params = {f"v{i}": v for i, v in enumerate(values)}
    marks = ", ".join(f":{k}" for k in params)
    return {str(r[0]).strip() for r in fetch(f"SELECT {col} FROM {table} WHERE {col} IN ({marks})", params)}
