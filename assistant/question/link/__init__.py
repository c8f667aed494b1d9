"""The value linker: before the model writes SQL, find in the question the values a small model gets
wrong (dates, record locators, ticket numbers, bag tags, flight designators, airports, countries,
passenger names) and resolve them to their stored forms. Each one becomes a `Hint` whose one-line
English `line` goes into the dynamic part of the prompt.

Schema-agnostic: every table and column name comes from the catalog (its `identifiers`, `airports`
and `subject`; a linker whose columns the catalog does not declare is simply off), place and country
words come from the catalog, and airport cities come from the airports table itself. Database checks
go through `fetch`, a read-only parameterised query function provided by the caller; every query is an
indexed lookup (primary/unique keys, the search-name index, DISTINCT on an index's leading column) so
the linker stays cheap on a million passengers. Reference lists (carriers, airports) are cached per
`fetch`.

Look-ups follow the asker's role (`role`): a value is looked up by a column only when the role may
filter on that column (`RolePolicy.may_look_up`: it sees the column's personal-data class in the
clear), the rule the SQL guard enforces on the model's queries. Otherwise no query runs at all (its
answer would tell whether such a person exists) and the look-up is reported in `LinkResult.denied`,
found by its shape alone, so the refusal does not depend on what the database holds.

`link` runs the linkers in order, each claiming the spans it resolves: `people` (e-mails, phones,
documents; later names), `identifiers` (tickets, bags, flights, locators), the dates (here), `places`
(routes, airports, cities, countries), `terms` (glossary words and stored values). `hints` holds what
they return, `columns` where the values live and the reference data cached per `fetch`.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date

from assistant.question.dates import resolve_dates
from assistant.question.lang import detect_language
from assistant.question.link.columns import _columns, clear_cache
from assistant.question.link.hints import MAX_HINTS, Denied, Fetch, Hint, LinkResult, _Claims
from assistant.question.link.identifiers import _link_bags, _link_flights, _link_locators, _link_tickets
from assistant.question.link.people import _link_names, _link_person_keys
from assistant.question.link.places import _link_places, airport_cities, airport_columns
from assistant.question.link.terms import _link_terms, _link_values, _without_broader_terms, table_words

__all__ = ["MAX_HINTS", "Denied", "Fetch", "Hint", "LinkResult", "airport_cities", "airport_columns",
           "clear_cache", "link", "table_words"]


def link(question: str, *, catalog, today: date, fetch: Fetch | None,
         values: Mapping[tuple[str, str], Sequence[str]] | None = None, role: str | None = None) -> LinkResult:
    """Find and resolve the values in `question`. With fetch None nothing is checked against the
    database: identifiers get found=False, flights, airports codes and names are skipped (they need
    the database to tell a code from a word). `values` are the stored values of small categorical
    columns ((table, column) -> values), as the caller already read them for the prompt.

    With `role`, a value is looked up only by columns that role may filter on
    (`RolePolicy.may_look_up`); the look-ups it may not make are in the result's `denied`. Without a
    role nothing is withheld (the owner's view: training data, tests of the linker itself).

    The question is read in its NFKC form (full-width '２２９Ｌ５Ｕ' is '229L5U'); hint texts and
    positions refer to that form, which leaves composed accents ('José') as they are."""
    question = unicodedata.normalize("NFKC", question)
    policy = catalog.role(role) if role is not None else None

    def may(*refs: str) -> bool:
        if policy is None:
            return True
        infos = [catalog.column(*ref.split(".", 1)) for ref in refs]
        return all(info is not None and policy.may_look_up(info.pii) for info in infos)

    cols = _columns(catalog)
    claims = _Claims()
    denied: list[Denied] = []

    def by(ref: tuple | None) -> Fetch | None:
        """`fetch` for a linker whose column the role may look records up by, else None (no query)."""
        return fetch if ref is None or may(f"{ref[0]}.{ref[1]}") else None

    hints: list[Hint] = []
    hints += _link_person_keys(question, claims, cols, fetch, may, denied)
    hints += _link_tickets(question, claims, cols, by(cols.ticket))
    hints += _link_bags(question, claims, cols, by(cols.bag))
    hints += _link_dates_first_iso(question, claims, today)
    hints += _link_flights(question, claims, cols, fetch if cols.flight is None or may(
        *(f"{cols.flight[0]}.{c}" for c in cols.flight[1:])) else None)
    hints += _link_locators(question, claims, cols, by(cols.locator))
    hints += _link_dates(question, claims, today)
    hints += _link_places(question, claims, cols, catalog, fetch)
    named_tables = table_words(catalog)
    hints += _link_terms(question, claims, catalog, named_tables)
    hints += _link_values(question, claims, catalog, values or {}, hints, named_tables)
    hints += _link_names(question, claims, cols, catalog, fetch, may, denied)
    hints = _without_broader_terms(hints)
    hints.sort(key=lambda h: h.pos)
    return LinkResult(detect_language(question), tuple(hints[:MAX_HINTS]),
                      tuple(sorted(denied, key=lambda d: d.pos)))


def _link_dates(q: str, claims: _Claims, today: date) -> list[Hint]:
    out = []
    for d in resolve_dates(q, today):
        if not claims.free(d.pos, d.endpos):
            continue
        claims.take(d.pos, d.endpos)
        kind = "date" if d.single_day else "date_range"
        value = d.start if d.single_day else (d.start, d.end)
        out.append(Hint(kind, d.text, value, d.describe(), True, d.pos))
    return out


def _link_dates_first_iso(q: str, claims: _Claims, today: date) -> list[Hint]:
    """Numeric dates ('2026-06-20', '20/06/2026') before designators, so '2026-06' never reads as a
    flight or '06/20' as anything else."""
    out = []
    for d in resolve_dates(q, today):
        if re.fullmatch(r"[\d/.\-\s]+", d.text) and claims.free(d.pos, d.endpos):
            claims.take(d.pos, d.endpos)
            kind = "date" if d.single_day else "date_range"
            out.append(Hint(kind, d.text, d.start if d.single_day else (d.start, d.end), d.describe(), True, d.pos))
    return out
