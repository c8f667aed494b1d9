"""Answer sentences from masked rows: deterministic where a sentence can be built, and a check that
a model-written summary says nothing the rows do not say.

The deterministic path covers empty results, a single value and a single short row; it is exact and
costs no model call. A model summary is accepted only if every number and every capitalised name in
it appears in the rows (or in the question); otherwise the deterministic sentence is used.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from assistant.question.lang import fold

_NUM = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
_NAME = re.compile(r"\b[A-ZÁÉÍÓÚÑÜ][\wáéíóúñü'-]{2,}\b")


def format_value(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        return f"{v:,.2f}".rstrip("0").rstrip(".") if not v.is_integer() else f"{int(v):,}"
    if isinstance(v, Decimal):
        return format_value(float(v))
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    return str(v)


def deterministic(lang: str, columns: Sequence[str], rows: Sequence[Sequence], row_count: int,
                  truncated: bool) -> str | None:
    """A sentence for results that need no model: none, one value, or one short row. Else None."""
    es = lang == "es"
    if row_count == 0:
        return ("No encontré resultados para esa consulta." if es else "No rows match that question.")
    if row_count == 1 and len(columns) == 1:
        value = format_value(rows[0][0])
        return f"El resultado es {value}." if es else f"The answer is {value}."
    if row_count == 1 and len(columns) <= 6:
        # Long texts (agents' notes) stay in the table: a sentence relays values, not free text.
        pairs = ", ".join(f"{c}: {format_value(v)}" for c, v in zip(columns, rows[0])
                          if len(format_value(v)) <= 40)
        if not pairs:
            return None
        return f"Encontré un resultado: {pairs}." if es else f"One row: {pairs}."
    return None


def ranking(lang: str, columns: Sequence[str], rows: Sequence[Sequence], row_count: int,
            truncated: bool) -> str | None:
    """For a (category, number) result: which categories are largest, exact and without a model.
    'MX tiene el valor más alto (3,545), seguido de US (460) y ES (174).'"""
    if truncated or not 2 <= row_count <= 50 or len(columns) != 2:
        return None
    if not all(_is_number(r[1]) and r[1] is not None and not _is_number(r[0]) for r in rows):
        return None
    ordered = sorted(rows, key=lambda r: float(r[1]), reverse=True)
    top = [f"{format_value(r[0])} ({format_value(r[1])})" for r in ordered[:3]]
    es = lang == "es"
    head = (f"{row_count} grupos. El mayor es {top[0]}" if es else f"{row_count} groups. The largest is {top[0]}")
    if len(top) > 1:
        rest = " y ".join(top[1:]) if es else " and ".join(top[1:])
        head += (f", seguido de {rest}" if es else f", followed by {rest}")
    return head + "."


def key_figures(lang: str, labels: Sequence[str], rows: Sequence[Sequence], row_count: int, truncated: bool,
                additive: Sequence[bool], aggregated: Sequence[bool]) -> str | None:
    """The exact figures of a grouped result: how many groups, the largest three by the first measure,
    and the total when the measure is a count or a sum. None when the result is not grouped.

    '3 grupos por Destino. Mayor Número de maletas: CUN (2), seguido de MEX (1) y GDL (1). Total: 4.'
    A cut result gets no total and no ranking: the largest group may be among the rows not shown."""
    if truncated or row_count < 2 or len(aggregated) != len(labels) or not rows:
        return None
    measures = [i for i, agg in enumerate(aggregated) if agg and all(v is None or _is_number(v) for v in
                                                                      (r[i] for r in rows))]
    keys = [i for i, agg in enumerate(aggregated) if not agg]
    if not measures or not keys:
        return None
    m = measures[0]
    es = lang == "es"

    def key(r) -> str:
        return " · ".join(format_value(r[k]) for k in keys)

    ordered = sorted((r for r in rows if r[m] is not None), key=lambda r: float(r[m]), reverse=True)
    if not ordered:
        return None
    top = [f"{key(r)} ({format_value(r[m])})" for r in ordered[:3]]
    by = ", ".join(labels[k] for k in keys)
    text = (f"{row_count:,} grupos por {by}. Mayor {labels[m].lower()}: {top[0]}" if es
            else f"{row_count:,} groups by {by}. Largest {labels[m].lower()}: {top[0]}")
    if len(top) > 1:
        rest = (" y " if es else " and ").join(top[1:])
        text += (f", seguido de {rest}" if es else f", followed by {rest}")
    text += "."
    if additive[m] and len(ordered) == len(rows):
        total = sum(float(r[m]) for r in rows)
        text += f" Total: {format_value(total)}."
    return text


def _is_number(v) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def table_sentence(lang: str, row_count: int, truncated: bool, shown: int) -> str:
    """The fallback sentence for a multi-row result: how many rows, and whether the table is cut."""
    es = lang == "es"
    if truncated:
        return (f"Se muestran las primeras {shown} filas; hay más resultados. Acota la pregunta para verlos todos."
                if es else f"Showing the first {shown} rows; there are more. Narrow the question to see them all.")
    if row_count == 1:
        return "Encontré una fila (ver la tabla)." if es else "Found one row (see the table)."
    return f"Encontré {row_count:,} filas (ver la tabla)." if es else f"Found {row_count:,} rows (see the table)."


def _numbers(text: str) -> set[float]:
    out = set()
    for m in _NUM.findall(text):
        try:
            out.add(round(float(m.replace(",", "")), 2))
        except ValueError:
            pass
    return out


def summary_is_supported(summary: str, rows: Sequence[Sequence], question: str, row_count: int) -> bool:
    """True when every number and capitalised name in `summary` appears in the rows or the question.

    Numbers compare after rounding to 2 decimals; the row count itself may be quoted. Names compare
    accent- and case-insensitively against the text of all cells.
    """
    if not summary.strip() or _INJECTION.search(fold(summary)) or _quotes_free_text(summary, rows):
        return False
    cells = [format_value(v) for row in rows for v in row] + [str(v) for row in rows for v in row]
    allowed_numbers = _numbers(" ".join(cells) + " " + question) | {float(row_count), float(len(rows))}
    for v in (v for row in rows for v in row):
        if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
            allowed_numbers.add(round(float(v), 2))
    if not _numbers(summary) <= allowed_numbers:
        return False
    haystack = fold(" ".join(cells) + " " + question)
    for name in _NAME.findall(summary):
        if fold(name) not in haystack and fold(name) not in _COMMON_WORDS:
            return False
    return True


# Signs that a summary repeats instructions planted in row values instead of describing the rows.
_INJECTION = re.compile(r"(ignore (all |any )?(previous|prior|above)|previous instructions|instrucciones anteriores|"
                        r"ignora (las |todas )|system\s*:|you are now|ahora eres|admin mode|modo admin|<\s*\w+|"
                        r"!\[|\]\(|https?://|javascript:)")


def _quotes_free_text(summary: str, rows: Sequence[Sequence], span: int = 6) -> bool:
    """True when the summary copies `span` consecutive words of a long text cell verbatim: a summary
    describes notes, it does not relay them (a relayed note is how an injected instruction speaks)."""
    words = fold(summary).split()
    grams = {" ".join(words[i:i + span]) for i in range(len(words) - span + 1)}
    if not grams:
        return False
    for row in rows:
        for v in row:
            if isinstance(v, str) and len(v) >= 40:
                cell = " ".join(fold(v).split())
                if any(g in cell for g in grams):
                    return True
    return False


# Capitalised words a sentence may start with or use without naming anything in the rows.
_COMMON_WORDS = frozenset(fold(w) for w in """
The There These This That Those It In On At For From To Of And Or No Yes One Two Three Four Five
El La Los Las Hay Un Una Unos Unas En De Del Para Por Con Sin Se Son Es Fue Fueron Hubo Total
Encontré Encontre Resultado Resultados Sí Si Según Segun Solo Sólo Ningún Ninguno Ninguna Cada
Found Result Results Only Each Every Most Least Average Promedio Total Sum Suma Count Cuenta
Passengers Passenger Pasajeros Pasajero Flights Flight Vuelos Vuelo Bookings Booking Reservas Reserva
Business Economy Premium Tickets Ticket Boletos Boleto Bags Bag Maletas Maleta
""".split())
