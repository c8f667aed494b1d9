"""Bulk-extraction limits: how many distinct passengers one answer and one user-hour may reveal.

Why: a row cap alone does not stop a slow scrape (200 rows a question, all day) nor a GROUP BY that packs
many people in few rows. The guard appends the subject key (passengers.passenger_id, or a comma list of
ids per group) to every query touching personal data; the executor reads it back; these checks count it.
"""
from __future__ import annotations

from sql_tools.errors import SqlToolError


class BulkExtractionRefused(SqlToolError):
    code = "bulk_extraction_refused"


def distinct_passengers(ids) -> set[str]:
    """Distinct ids, splitting aggregated 'id,id,id' cells."""
    out: set[str] = set()
    for v in ids or ():
        if v is None:
            continue
        for part in str(v).split(","):
            part = part.strip()
            if part:
                out.add(part)
    return out


def check_per_query(ids, policy) -> None:
    n = len(distinct_passengers(ids))
    if n > policy.max_passengers_per_query:
        raise BulkExtractionRefused(
            f"this answer would show {n} different passengers; the {policy.name} role may see at most "
            f"{policy.max_passengers_per_query} in one answer. Narrow the question (a flight, a date, a booking).",
            message_es=f"esta respuesta mostraría {n} pasajeros distintos; el rol {policy.name} puede ver como "
                       f"máximo {policy.max_passengers_per_query} por respuesta. Acota la pregunta (un vuelo, "
                       "una fecha, una reserva).")


def check_per_hour(ids, policy, seen_last_hour: set[str]) -> None:
    total = seen_last_hour | distinct_passengers(ids)
    if len(total) > policy.max_passengers_per_hour:
        raise BulkExtractionRefused(
            f"this answer would bring the passengers you have seen in the last hour to {len(total)}; the "
            f"{policy.name} role may see at most {policy.max_passengers_per_hour} per hour. Try again later "
            "or ask a supervisor.",
            message_es=f"con esta respuesta habrías visto {len(total)} pasajeros en la última hora; el rol "
                       f"{policy.name} puede ver como máximo {policy.max_passengers_per_hour} por hora. "
                       "Inténtalo más tarde o consulta a un supervisor.")
