"""Words: how a question names values, periods and nouns, in Spanish (with gender agreement) and English."""
from __future__ import annotations

import re
from datetime import timedelta

from assistant.question.dates import MONTH_NAMES
from train.facts import Column
from train.shapes.draft import Ctx

MONTHS_ES = MONTH_NAMES["es"]
MONTHS_EN = tuple(m.capitalize() for m in MONTH_NAMES["en"])


def feminine(noun: str) -> bool:
    head = noun.split()[0]
    return head.endswith(("a", "as", "ción", "ciones")) and not head.endswith(("ma", "mas"))


def agree(adj: str, noun: str) -> str:
    """A Spanish adjective agreeing with a plural noun ('cancelado' + 'reservas' -> 'canceladas')."""
    words = adj.split()
    if len(words) != 1 or not re.search(r"[oa]$|ado$|ido$", words[0]):
        return adj
    base = words[0][:-1]
    return base + ("as" if feminine(noun) else "os")


def value_phrase(ctx: Ctx, col: Column, value: str, noun: str) -> tuple[str, bool]:
    """How the question names `col = value` next to `noun`: (phrase, is_adjective)."""
    words = col.value_words.get(value, {}).get(ctx.lang) or []
    if words and ctx.chance(0.85):
        w = ctx.pick(words)
        if ctx.lang == "es":
            return (agree(w, noun), True) if not w.startswith(("clase", "cabina", "comida")) else (w, False)
        return w, True
    shown = value if ctx.chance(0.5) or "_" not in value else value.replace("_", " ")
    if ctx.lang == "es":
        return ctx.pick([f"con {col.label('es', ctx.rng)} {shown}", f"{shown}",
                         f"de {col.label('es', ctx.rng)} {shown}"]), False
    if ctx.chance(0.5):
        return f"with {col.label('en', ctx.rng)} {shown}", False
    return shown, True


def noun_with(ctx: Ctx, noun: str, phrases: list[tuple[str, bool]]) -> str:
    if ctx.lang == "es":
        return " ".join([noun] + [p for p, _a in phrases])
    adjs = [p for p, a in phrases if a]
    rest = [p for p, a in phrases if not a]
    return " ".join(adjs + [noun] + rest)


def date_phrase(ctx: Ctx) -> str:
    """A period as staff say it; the linker resolves it (and a phrase it cannot resolve is dropped)."""
    r, t = ctx.rng, ctx.today
    month = r.randrange(12)
    year = r.choice([t.year, t.year - 1]) if t.month > month + 1 else t.year - 1
    day = t - timedelta(days=r.randrange(1, 60))
    if ctx.lang == "es":
        options = ["hoy", "ayer", "mañana", "la semana pasada", "esta semana", "el mes pasado", "este mes",
                   f"en {MONTHS_ES[month]}", f"en {MONTHS_ES[month]} de {year}", f"el {day.day} de {MONTHS_ES[day.month - 1]}",
                   f"el {day.isoformat()}", f"en {year}", "antier", "hace una semana"]
    else:
        options = ["today", "yesterday", "tomorrow", "last week", "this week", "last month", "this month",
                   f"in {MONTHS_EN[month]}", f"in {MONTHS_EN[month]} {year}", f"on {MONTHS_EN[day.month - 1]} {day.day}",
                   f"on {day.isoformat()}", f"in {year}"]
    return r.choice(options)


def q_mark(ctx: Ctx, text: str) -> str:
    text = text.strip()
    if ctx.lang == "es":
        return ("¿" + text + "?") if ctx.chance(0.6) else text
    return (text[0].upper() + text[1:] + ("?" if ctx.chance(0.7) else "")) if text else text
