"""Checks on a model's query before it runs: things no right answer does.

Each one finds a mistake the guard cannot see (the query is safe, just wrong) and is cheap next to a
model call: a reply that loops, a date the question names and the query ignores, an average of
identifiers. The pipeline rejects such a query before it runs, audits it and spends its one repair
call on it, telling the model what is wrong.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from sqlglot import exp

from assistant.joinfix import query_tables

# Errors the model can fix by rewriting its SQL. Others (audit failure, bulk-extraction refusal,
# database down) are final: repairing would not help and must not be attempted.
REPAIRABLE = {"parse_error", "multiple_statements", "not_a_query", "write_or_command", "table_not_allowed",
              "function_not_allowed", "column_not_allowed", "whole_row", "pii_in_expression", "too_complex",
              "recursive_cte", "cartesian_product", "untraceable_personal_data", "database_error",
              "execution_error", "timeout", "result_too_large", "rejected_by_executor", "permission_denied",
              "unknown_column", "unknown_table", "bulk_personal_data", "repeated_text",
              "date_ignored", "identifier_aggregated", "join_unclear", "value_ignored"}


def repeated_piece(text: str, times: int = 3, shortest: int = 10, longest: int = 200) -> int:
    """The length of the piece `text` ends with written `times` times in a row (10-200 characters, not
    blank), or 0.

    A small model at temperature 0 sometimes falls into a loop ("AND s.cabin = 'premium' AND s.cabin =
    'economy' AND s.cabin = 'premium' ..."): nothing it writes after that can be a query worth running,
    and waiting for the token limit costs the user half a minute. No query a person would write repeats
    ten characters or more three times back to back."""
    for n in range(shortest, min(longest, len(text) // times) + 1):
        unit = text[-n:]
        if unit.strip() and text.endswith(unit * times):
            return n
    return 0


def repeats_itself(text: str) -> bool:
    return repeated_piece(text) > 0


def collapse_repetition(text: str) -> str:
    """`text` with its repeated ending written once (what the repair prompt shows the model)."""
    n = repeated_piece(text)
    while n and text.endswith(text[-n:] * 2):
        text = text[:-n]
    return text


_NOW = re.compile(r"\b(?:now|current_date|current_timestamp|localtimestamp)\b", re.I)


def ignored_dates(sql: str, dates) -> list:
    """The resolved dates ('hoy', 'in 2026') a query never refers to.

    A query answering "the busiest routes in 2026" without a date filter counts every year: the
    answer is wrong however good the rest is. A date counts as referred to when its first day, or
    just its year (strftime('%Y', col) = '2026', LIKE '2026-%'), appears in the SQL, or the SQL asks
    the database for today (CURRENT_DATE, 'now')."""
    if _NOW.search(sql):
        return []
    out = []
    for hint in dates:
        first = hint.value[0] if isinstance(hint.value, tuple) else hint.value
        if not hasattr(first, "year") or str(first.year) not in sql:
            out.append(hint)
    return out


# Linked values a query must use when the question names them: what identifies a record or a place.
# Names of people and stored category words are left out: a surname can be an ordinary word.
_MUST_USE = ("airport", "route", "country", "flight", "locator", "ticket", "bag")


def ignored_values(sql: str, hints) -> list:
    """The linked airports, routes, countries, flights and record identifiers a query never mentions.

    Over one view a small model drops a condition the view it chose cannot express ("locators of
    bookings with a coupon to NRT" answered from bookings alone, every booking) and the answer looks
    like a real one. A value counts as used when its literal is in the SQL: 'MEX', 'XA' and 401."""
    text = sql.upper()
    out = []
    for hint in hints:
        if hint.kind not in _MUST_USE or not hint.found:
            continue
        values = hint.value if isinstance(hint.value, tuple) else (hint.value,)
        if not all(_mentioned(v, text) for v in values if v not in (None, "")):
            out.append(hint)
    return out


def _mentioned(value, text: str) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return re.search(rf"(?<![\w.]){value}(?![\w.])", text) is not None
    return f"'{str(value).upper()}'" in text


def aggregated_identifiers(tree: exp.Expression | None, identifiers: Mapping[str, Collection[str]]) -> list[str]:
    """`table.column` for each identifier the query sums or averages (`AVG(t.ticket_number)`).

    An id, a ticket number or a foreign key names a row: its sum or average is a number that means
    nothing ("on average, how many tickets has a booking" answered as 1.39e12). `identifiers` maps a
    table to its key columns (primary keys, foreign keys, the catalog's lookup keys). Columns that
    cannot be traced to one table of the query are left alone. `tree` is the query's one parse (None:
    it did not parse, and the guard will say why)."""
    if tree is None:
        return []
    out = []
    for agg in tree.find_all(exp.Sum, exp.Avg):
        col = agg.this
        if isinstance(col, exp.Distinct) and len(col.expressions) == 1:
            col = col.expressions[0]
        if not isinstance(col, exp.Column):
            continue
        select = agg.find_ancestor(exp.Select)
        tables = {a.lower(): t.lower() for a, t in query_tables(select).items()} if select else {}
        candidates = [tables.get(col.table.lower())] if col.table else sorted(set(tables.values()))
        keyed = [t for t in candidates if t and col.name.lower() in {c.lower() for c in identifiers.get(t, ())}]
        if keyed:
            out.append(f"{keyed[0]}.{col.name}")
    return out
