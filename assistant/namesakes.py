"""Namesakes: when a name asked for matches several passengers, say so and show what tells them apart.

"dame el correo y pasaporte de José Pérez" matched two people, and the answer showed two rows with
nothing to tell which is which. Staff need the count and, within what their role may see, the facts
that separate people who share a name: the document's last four characters, the year of birth, the
bookings each one is on. The rows come from two fixed queries that run through the guard, masking and
audit like any other (`run`), so an analyst sees pseudonyms and no documents, an agent the last four.
"""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from assistant.answer import format_value
from assistant.joinfix import JoinGraph

MAX_SHOWN = 5


def namesake_queries(catalog, role: str, graph: JoinGraph, ids: tuple, search_column: str = "search_name"
                     ) -> tuple[str, str | None] | None:
    """(people SQL, bookings SQL or None) for the passengers `ids`, reading only the columns `role` may
    read; None when the catalog has no subject table or the ids are not plain integers."""
    table, key = catalog.subject_table, catalog.subject_key
    if not table or not key or not ids or not all(isinstance(i, int) for i in ids):
        return None
    readable = set(catalog.readable_columns(table, role))
    info = catalog.exposed_tables[table].columns
    wanted = [c for c, col in info.items() if c != search_column and c in readable and (
        col.pii in ("identifier", "date_of_birth") or (col.pii == "document" and "document" in c)
        or (col.pii is None and "document" in c))]
    id_list = ", ".join(str(int(i)) for i in ids)
    people = (f"SELECT p.{key}, " + ", ".join(f"p.{c}" for c in wanted)
              + f" FROM {table} p WHERE p.{key} IN ({id_list}) ORDER BY p.{key}")
    bookings = None
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
                bookings = (f"SELECT DISTINCT r.{to_person[0][1]}, b.{label} FROM {ref_table} r JOIN {parent} b "
                            f"ON b.{parent_key} = r.{col} WHERE r.{to_person[0][1]} IN ({id_list}) "
                            f"ORDER BY r.{to_person[0][1]}, b.{label}")
                break
        if bookings:
            break
    return people, bookings


def find_namesakes(hint, *, catalog, role: str, graph: JoinGraph, run: Callable[[str], pd.DataFrame]) -> list[dict]:
    """One dict per passenger the name matched (the first MAX_SHOWN): id, masked names, birth year or
    date, document, and the bookings they are on. [] when the hint names one person or none."""
    if hint.kind != "passenger" or not hint.found or len(hint.value) < 2:
        return []
    queries = namesake_queries(catalog, role, graph, tuple(hint.value[:MAX_SHOWN]))
    if queries is None:
        return []
    people_sql, bookings_sql = queries
    people = run(people_sql)
    on: dict = {}
    if bookings_sql:
        for pid, locator in run(bookings_sql).itertuples(index=False, name=None):
            on.setdefault(pid, []).append(str(locator))
    out = []
    for row in people.to_dict("records"):
        pid = row.pop(catalog.subject_key)
        out.append({"id": pid, **{k: format_value(v) for k, v in row.items() if v is not None},
                    "bookings": on.get(pid, [])})
    return out


def sentence(lang: str, name: str, people: list[dict], total: int) -> str:
    """'«José Pérez» son 2 pasajeros distintos: n.º 12 José Pérez García (nacimiento 1984, documento
    ***1234, reservas QX7K2M); n.º 40 … Revisa cuál buscas; el resumen arriba dice a cuál se refiere.'"""
    es = lang == "es"
    shown = []
    for p in people:
        names = " ".join(v for k, v in p.items() if k.endswith("name") and v)
        facts = []
        for k, v in p.items():
            if "birth" in k:
                facts.append(("nacimiento " if es else "born ") + v)
            elif k == "document_number":
                facts.append(("documento " if es else "document ") + v)
        if p["bookings"]:
            facts.append(("reservas " if es else "bookings ") + ", ".join(p["bookings"][:3])
                         + ("…" if len(p["bookings"]) > 3 else ""))
        ident = f"n.º {p['id']}" if es else f"no. {p['id']}"
        shown.append(f"{ident} {names}" + (f" ({'; '.join(facts)})" if facts else ""))
    more = f"{total}+" if total > len(people) and total >= 50 else str(max(total, len(people)))
    if es:
        return (f"«{name}» corresponde a {more} pasajeros distintos: " + "; ".join(shown)
                + ". Comprueba de quién se trata: la descripción de la consulta dice a cuáles incluye.")
    return (f"“{name}” matches {more} different passengers: " + "; ".join(shown)
            + ". Check which one you mean: the description of the query says which it includes.")
