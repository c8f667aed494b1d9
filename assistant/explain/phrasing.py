"""How a restatement is said in the asker's language: the few words it needs per language, dates and
day ranges as staff write them ('14 jun 2026', 'del 8 al 14 jun 2026'), and the `Restatement`
itself, whose `text` puts its parts in one sentence."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from assistant.question.dates import MONTH_SHORT

MONTHS = {"es": list(MONTH_SHORT["es"]), "en": [m.capitalize() for m in MONTH_SHORT["en"]]}
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
PHRASES = {  # the few words the restatement itself needs, per language
    "es": dict(number="número de", distinct="distintos", distinct_f="distintas", sum="suma de", avg="promedio de",
               min="mínimo de", max="máximo de", rows="filas", where="donde", by="por", and_="y", or_="o",
               list="lista de", is_="es", is_not="no es", gt="mayor que", gte="al menos", lt="menor que",
               lte="como mucho", on="el", since="desde el", after="después del", before="antes del",
               until="hasta el", between="entre", with_="con", without="sin", contains="contiene",
               starts="empieza por", ends="termina en", matches="se parece a", not_="no", order="ordenado por",
               desc="de mayor a menor", asc="de menor a mayor", first="primeros", one_row="solo la primera fila",
               unique="sin repetir", having="solo grupos con", flight="vuelo", combos="combinaciones de",
               count_if="número de {noun} con {cond}", not_restated="No se pudo describir", see_sql="ver el SQL",
               computed="una expresión calculada", subquery="una subconsulta", one_of="es uno de",
               year="año de", month="mes de", day="fecha de", hour="hora de", weekday="día de la semana de",
               passenger="pasajero", rounded="redondeado", filled="{a}, o {b} si está vacío",
               same_as="igual a", differs="distinto de", later="posterior a", earlier="anterior a",
               at_least="igual o posterior a", at_most="igual o anterior a", of_the="de las",
               share_if="proporción de {noun} con {cond}", percent="porcentaje: {a} sobre {b}",
               span="{unit} de {a} a {b}", seconds="segundos", minutes="minutos", hours="horas", days="días",
               result="resultado", in_="está en", not_in="no está en", empty="no tiene valor",
               not_empty="tiene valor"),
    "en": dict(number="number of", distinct="distinct", distinct_f="distinct", sum="total", avg="average",
               min="minimum", max="maximum", rows="rows", where="where", by="by", and_="and", or_="or",
               list="list of", is_="is", is_not="is not", gt="more than", gte="at least", lt="less than",
               lte="at most", on="on", since="from", after="after", before="before", until="until",
               between="between", with_="with", without="without", contains="contains", starts="starts with",
               ends="ends with", matches="matches", not_="not", order="ordered by", desc="highest first",
               asc="lowest first", first="first", one_row="the first row only", unique="without repeats",
               having="only groups with", flight="flight", combos="combinations of",
               count_if="number of {noun} with {cond}", not_restated="Not restated", see_sql="see the SQL",
               computed="a computed expression", subquery="a subquery", one_of="is one of",
               year="year of", month="month of", day="date of", hour="hour of", weekday="weekday of",
               passenger="passenger", rounded="rounded", filled="{a}, or {b} when empty",
               same_as="equal to", differs="different from", later="later than", earlier="earlier than",
               at_least="at or after", at_most="at or before", of_the="of the",
               share_if="share of {noun} with {cond}", percent="percentage: {a} out of {b}",
               span="{unit} from {a} to {b}", seconds="seconds", minutes="minutes", hours="hours", days="days",
               result="result", in_="is in", not_in="is not in", empty="is empty", not_empty="is not empty"),
}


@dataclass(frozen=True)
class Restatement:
    lang: str
    measures: tuple[str, ...]
    filters: tuple[str, ...] = ()
    grouping: tuple[str, ...] = ()
    having: tuple[str, ...] = ()
    order: str = ""
    unique: bool = False
    not_restated: tuple[str, ...] = ()
    labels: tuple[str, ...] = field(default=(), compare=False)   # one per output column
    additive: tuple[bool, ...] = field(default=(), compare=False)  # a COUNT or SUM: its rows add up
    aggregated: tuple[bool, ...] = field(default=(), compare=False)  # a measure, not a group key

    @property
    def complete(self) -> bool:
        return not self.not_restated

    def text(self) -> str:
        w = PHRASES[self.lang]
        head = join_phrases(self.measures, w["and_"]) or (w["result"] if self.not_restated else w["rows"])
        parts = [head]
        if self.unique:
            parts[0] += f" ({w['unique']})"
        if self.grouping:
            parts.append(f"{w['by']} {join_phrases(self.grouping, w['and_'])}")
        if self.filters:
            parts.append(f"{w['where']} {join_phrases(self.filters, w['and_'])}")
        if self.having:
            parts.append(f"{w['having']} {join_phrases(self.having, w['and_'])}")
        if self.order:
            parts.append(self.order)
        out = capital(", ".join(parts)) + "."
        if self.not_restated:
            out += f" {w['not_restated']}: {'; '.join(self.not_restated)} ({w['see_sql']})."
        return out

    def to_dict(self) -> dict:
        return {"text": self.text(), "measures": list(self.measures), "filters": list(self.filters),
                "grouping": list(self.grouping), "having": list(self.having), "order": self.order,
                "not_restated": list(self.not_restated), "complete": self.complete}


def join_phrases(items: Sequence[str], and_: str) -> str:
    items = [i for i in items if i]
    return items[0] if len(items) == 1 else (", ".join(items[:-1]) + f" {and_} " + items[-1] if items else "")


def capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def format_date(text: str, lang: str) -> str:
    """'2026-06-14' -> '14 jun 2026' (es) / '14 Jun 2026' (en); a time of day is kept."""
    d = parse_day(text)
    if d is None:
        return text
    out = f"{d.day} {MONTHS[lang][d.month - 1]} {d.year}"
    clock = text[11:].strip()
    return f"{out} {clock[:5]}" if clock and clock.strip("0:.") else out


def parse_day(text: str) -> date | None:
    try:
        return datetime.strptime(text[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def format_range(first: date, last: date, lang: str) -> str:
    """'del 8 al 14 jun 2026' / '8-14 Jun 2026'; months and years written only where they change."""
    m = MONTHS[lang]
    if first == last:
        return (f"el {first.day} {m[first.month - 1]} {first.year}" if lang == "es"
                else f"on {first.day} {m[first.month - 1]} {first.year}")
    if (first.year, first.month) == (last.year, last.month):
        a, b = f"{first.day}", f"{last.day} {m[last.month - 1]} {last.year}"
    elif first.year == last.year:
        a, b = f"{first.day} {m[first.month - 1]}", f"{last.day} {m[last.month - 1]} {last.year}"
    else:
        a, b = f"{first.day} {m[first.month - 1]} {first.year}", f"{last.day} {m[last.month - 1]} {last.year}"
    return f"del {a} al {b}" if lang == "es" else f"from {a} to {b}"
