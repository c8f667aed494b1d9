"""Namesakes: when a name asked for matches several people, say so and show what tells them apart.

"dame el correo y pasaporte de José Pérez" matched two people, and the answer showed two rows with
nothing to tell which is which. Staff need the count and, within what their role may see, the facts
that separate people who share a name: the document's last four characters, the year of birth, the
bookings each one is on. The rows come from two fixed queries that run through the guard, masking and
audit like any other (`run`), so an analyst sees pseudonyms and no documents, an agent the last four.
"""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from assistant.explain.sentences import format_value
from assistant.joinfix import JoinGraph

MAX_SHOWN = 5


def namesake_queries(catalog, role: str, graph: JoinGraph, ids: tuple) -> tuple[str, str | None] | None:
    """(people SQL, records SQL or None) for the people `ids` of the catalog's subject table, reading
    only the columns `role` may read; None when the catalog has no subject table or the ids are not
    plain integers. The records are those of `records_source`."""
    table, key = catalog.subject_table, catalog.subject_key
    if not table or not key or not ids or not all(isinstance(i, int) for i in ids):
        return None
    readable = set(catalog.readable_columns(table, role))
    info = catalog.exposed_tables[table].columns
    wanted = [c for c, col in info.items() if c != catalog.subject_search and c in readable and (
        col.pii in ("identifier", "date_of_birth") or (col.pii == "document" and "document" in c)
        or (col.pii is None and "document" in c))]
    id_list = ", ".join(str(int(i)) for i in ids)
    people = (f"SELECT p.{key}, " + ", ".join(f"p.{c}" for c in wanted)
              + f" FROM {table} p WHERE p.{key} IN ({id_list}) ORDER BY p.{key}")
    source = records_source(catalog, role, graph)
    records = None
    if source is not None:
        ref_table, person_col, col, parent, parent_key, label = source
        records = (f"SELECT DISTINCT r.{person_col}, b.{label} FROM {ref_table} r JOIN {parent} b "
                   f"ON b.{parent_key} = r.{col} WHERE r.{person_col} IN ({id_list}) "
                   f"ORDER BY r.{person_col}, b.{label}")
    return people, records


def records_source(catalog, role: str, graph: JoinGraph) -> tuple[str, str, str, str, str, str] | None:
    """Where a person's records are read from: the first table that references the subject table
    (tickets) and also references another table (bookings) with a look-up key that is no personal
    data and `role` may read (the record locator). (referencing table, its person column, its column
    to the other table, the other table, its key, its label column), or None."""
    table, key = catalog.subject_table, catalog.subject_key
    for ref_table, edges in graph.edges.items():
        to_person = [e for e in edges if e[2] == table and e[3] == key]
        if not to_person:
            continue
        for _t, col, parent, parent_key in edges:
            p_info = catalog.exposed_tables.get(parent)
            if parent == table or p_info is None:
                continue
            label = next((c for c, ci in p_info.columns.items() if ci.lookup_key and c != parent_key and not ci.pii
                          and c in catalog.readable_columns(parent, role)), None)
            if label:
                return ref_table, to_person[0][1], col, parent, parent_key, label
    return None


class Namesakes(list):
    """The people a name matched, one dict each (what the answer carries), and `nouns`: per language,
    what the people and their records are called ('pasajeros', 'reservas'), from the catalog."""

    def __init__(self, people=(), nouns: dict[str, tuple[str, str]] | None = None):
        super().__init__(people)
        self.nouns = nouns or {}
        self.documents: frozenset[str] = frozenset()    # the columns holding an identity document number


# The key of each person's records in the dicts: a field of the answer the chat page reads.
RECORDS = "records"
_GENERIC = {"es": ("personas", "registros"), "en": ("people", "records")}


def find_namesakes(hint, *, catalog, role: str, graph: JoinGraph, run: Callable[[str], pd.DataFrame]) -> list[dict]:
    """One dict per person the name matched (the first MAX_SHOWN): id, masked names, birth year or
    date, document, and the records they are on (`RECORDS`). [] when the hint names one person or none."""
    if hint.kind != "passenger" or not hint.found or len(hint.value) < 2:
        return []
    queries = namesake_queries(catalog, role, graph, tuple(hint.value[:MAX_SHOWN]))
    if queries is None:
        return []
    people_sql, records_sql = queries
    people = run(people_sql)
    on: dict = {}
    if records_sql:
        for pid, label in run(records_sql).itertuples(index=False, name=None):
            on.setdefault(pid, []).append(str(label))
    subject = catalog.exposed_tables[catalog.subject_table]
    source = records_source(catalog, role, graph) if records_sql else None
    parent = catalog.exposed_tables.get(source[3]) if source else None
    out = Namesakes(nouns={lang: (subject.noun.get(lang) or _GENERIC[lang][0],
                                  (parent.noun.get(lang) if parent else "") or _GENERIC[lang][1])
                           for lang in ("es", "en")})
    out.documents = frozenset(c for c, info in subject.columns.items() if info.pii == "document" and "document" in c)
    for row in people.to_dict("records"):
        pid = row.pop(catalog.subject_key)
        out.append({"id": pid, **{k: format_value(v) for k, v in row.items() if v is not None},
                    RECORDS: on.get(pid, [])})
    return out


def sentence(lang: str, name: str, people: list[dict], total: int) -> str:
    """'«José Pérez» corresponde a 2 pasajeros distintos: n.º 12 José Pérez García (nacimiento 1984,
    documento ***1234, reservas QX7K2M); n.º 40 … Comprueba de quién se trata: …'. The nouns are those
    `find_namesakes` read from the catalog (`Namesakes.nouns`); a plain list gets generic ones."""
    es = lang == "es"
    lang = "es" if es else "en"
    people_noun, records_noun = getattr(people, "nouns", {}).get(lang) or _GENERIC[lang]
    documents = getattr(people, "documents", frozenset())
    shown = []
    for p in people:
        names = " ".join(v for k, v in p.items() if k.endswith("name") and v)
        facts = []
        for k, v in p.items():
            if "birth" in k:
                facts.append(("nacimiento " if es else "born ") + v)
            elif k in documents:
                facts.append(("documento " if es else "document ") + v)
        if p[RECORDS]:
            facts.append(f"{records_noun} " + ", ".join(p[RECORDS][:3]) + ("…" if len(p[RECORDS]) > 3 else ""))
        ident = f"n.º {p['id']}" if es else f"no. {p['id']}"
        shown.append(f"{ident} {names}" + (f" ({'; '.join(facts)})" if facts else ""))
    more = f"{total}+" if total > len(people) and total >= 50 else str(max(total, len(people)))
    if es:
        distinct = "distintas" if people_noun.split()[0].endswith("as") else "distintos"
        return (f"«{name}» corresponde a {more} {people_noun} {distinct}: " + "; ".join(shown)
                + ". Comprueba de quién se trata: la descripción de la consulta dice a cuáles incluye.")
    return (f"“{name}” matches {more} different {people_noun}: " + "; ".join(shown)
            + ". Check which one you mean: the description of the query says which it includes.")
