"""Shapes over a measure: an aggregate of a numeric column (maybe by a group), the top N rows or groups,
and delays between an actual and a scheduled time."""
from __future__ import annotations

import re

from train.facts import Column
from train.noise import opener
from train.query import Query
from train.shapes.clauses import (
    add_date,
    add_filters,
    display_columns,
    fact_tables,
    group_phrase,
    group_target,
)
from train.shapes.draft import Ctx, Draft
from train.shapes.wording import q_mark

AGG_WORDS = {
    "SUM": {"es": ["total de {m}", "suma de {m}", "{m} total"], "en": ["total {m}", "sum of {m}", "the total {m}"]},
    "AVG": {"es": ["{m} promedio", "promedio de {m}", "{m} media"], "en": ["average {m}", "mean {m}", "avg {m}"]},
    "MAX": {"es": ["{m} máximo", "el mayor {m}", "{m} más alto"], "en": ["maximum {m}", "highest {m}", "max {m}"]},
    "MIN": {"es": ["{m} mínimo", "el menor {m}", "{m} más bajo"], "en": ["minimum {m}", "lowest {m}", "min {m}"]},
}


def _currency(table) -> Column | None:
    for c in table.columns.values():
        if c.is_category and "currenc" in (c.name + c.label_en).lower():
            return c
    return None


def measure(ctx: Ctx) -> Draft | None:
    candidates = [(t, c) for t in ctx.facts.tables.values() for c in t.columns.values() if c.is_measure]
    if not candidates:
        return None
    t, m = ctx.pick(candidates)
    q = Query(ctx.facts, t.name)
    fn = ctx.pick(["SUM", "AVG", "AVG", "MAX", "MIN", "SUM"])
    mlabel = m.label(ctx.lang, ctx.rng)
    agg_text = ctx.pick(AGG_WORDS[fn][ctx.lang]).format(m=mlabel)
    noun = t.noun(ctx.lang, ctx.rng)
    phrase, trailing = add_filters(ctx, q, t.name, noun, max_filters=1)
    group = None
    if ctx.chance(0.4):
        group = group_target(ctx, t.name, q)
    if group and any(w.startswith(group[0] + " ") for w in q.where):
        return None
    cur = _currency(t)
    if group and cur is not None and "currenc" in group[0]:
        group = (q.col(t.name, cur.name), group[1])
    if cur is not None and fn in ("SUM", "AVG") and not any(cur.name in w for w in q.where):
        if group is None and ctx.chance(0.5):
            value = ctx.pick(cur.values)
            q.where.append(f"{q.col(t.name, cur.name)} = '{value}'")
            words = cur.words_for(value, ctx.lang)
            trailing.append(("en " if ctx.lang == "es" else "in ") + ctx.pick(words + [value]))
        else:
            group = group or (q.col(t.name, cur.name), cur.label(ctx.lang, ctx.rng))
            if group[0] != q.col(t.name, cur.name):
                q.group_by.append(q.col(t.name, cur.name))
                q.select.append(q.col(t.name, cur.name))
    when, dcol = add_date(ctx, q, t.name, p=0.4)
    expr = f"{fn}({q.col(t.name, m.name)})"
    if group:
        q.select = [group[0]] + q.select + [expr]
        q.group_by = [group[0]] + q.group_by
    else:
        q.select = [expr]
    tail = " ".join(trailing + ([when] if when else []))
    g = (" " + group_phrase(ctx, group[1])) if group else ""
    if ctx.lang == "es":
        text = ctx.pick([f"{agg_text} de {phrase} {tail}{g}", f"cuál es el {agg_text} de {phrase}{g} {tail}",
                         f"{agg_text} de los {phrase}{g} {tail}"])
    else:
        text = ctx.pick([f"{agg_text} of {phrase} {tail}{g}", f"what is the {agg_text.removeprefix('the ')} of {phrase}{g} {tail}",
                         f"{agg_text} for {phrase}{g} {tail}"])
    text = text.replace("el el ", "el ").replace("de los los ", "de los ")
    return Draft("measure", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql(), date_column=dcol)


def top_n(ctx: Ctx) -> Draft | None:
    n = ctx.pick([3, 5, 5, 10])
    facts = ctx.facts
    kind = ctx.pick(["groups", "parents", "rows"])
    if kind == "rows":
        candidates = [(t, c) for t in facts.tables.values() for c in t.columns.values() if c.is_measure]
        t, m = ctx.pick(candidates)
        show = display_columns(facts, t.name)
        if not show:
            return None
        q = Query(facts, t.name)
        noun = t.noun(ctx.lang, ctx.rng)
        phrase, trailing = add_filters(ctx, q, t.name, noun, max_filters=1, allow_place=False)
        asc = ctx.chance(0.25)
        q.select = [q.col(t.name, show[0].name), q.col(t.name, m.name)]
        q.order_by = [f"{q.col(t.name, m.name)} {'ASC' if asc else 'DESC'}"]
        q.limit = n
        ml = m.label(ctx.lang, ctx.rng)
        tail = " ".join(trailing)
        if ctx.lang == "es":
            text = f"los {n} {phrase} {tail} con {'menos' if asc else 'más'} {ml}"
        else:
            text = ctx.pick([f"the {n} {phrase} {tail} with the {'lowest' if asc else 'highest'} {ml}",
                             f"top {n} {phrase} {tail} by {ml}" if not asc else f"bottom {n} {phrase} {tail} by {ml}"])
        return Draft("top_n", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql())
    table = ctx.pick(fact_tables(facts, min_rows=200))
    t = facts.tables[table]
    q = Query(facts, table)
    noun = t.noun(ctx.lang, ctx.rng)
    phrase, trailing = add_filters(ctx, q, table, noun, max_filters=1, allow_place=kind == "parents")
    if kind == "groups":
        target = group_target(ctx, table, q)
        if target is None:
            return None
        expr, label = target
        q.select, q.group_by = [expr, "COUNT(*)"], [expr]
        what = label
    else:
        parents = [p for p, chain in facts.ancestors(table, depth=2) if display_columns(facts, p)
                   and facts.tables[p].row_count >= 20]
        if not parents:
            return None
        parent = ctx.pick(parents)
        pt = facts.tables[parent]
        keys = [q.col(parent, k) for k in pt.primary_key]
        show = [q.col(parent, c.name) for c in display_columns(facts, parent) if c.name not in pt.primary_key]
        cat = [c for c in pt.columns.values() if c.is_category and len(c.values[0]) <= 3]
        show = ([q.col(parent, cat[0].name)] if cat and show else []) + show
        q.select = keys + show + ["COUNT(*)"]
        q.group_by = keys + show
        what = pt.noun(ctx.lang, ctx.rng)
    q.order_by, q.limit = ["COUNT(*) DESC"], n
    when, dcol = add_date(ctx, q, table, p=0.35)
    tail = " ".join(trailing + ([when] if when else []))
    if ctx.lang == "es":
        text = ctx.pick([f"los {n} {what} con más {phrase} {tail}", f"top {n} de {what} por número de {phrase} {tail}",
                         f"qué {n} {what} tienen más {phrase} {tail}"])
    else:
        text = ctx.pick([f"the {n} {what} with the most {phrase} {tail}", f"top {n} {what} by number of {phrase} {tail}",
                         f"which {n} {what} have the most {phrase} {tail}"])
    return Draft("top_n", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql(), date_column=dcol)


def timing(ctx: Ctx) -> Draft | None:
    """Delays: the difference between an actual and a scheduled time of the same table."""
    facts = ctx.facts
    pairs = []
    for t in facts.tables.values():
        for c in t.columns.values():
            if c.kind == "ts" and c.name.startswith("actual_"):
                other = t.columns.get("scheduled_" + c.name[len("actual_"):])
                if other is not None:
                    pairs.append((t, c, other))
    if not pairs:
        return None
    t, actual, sched = ctx.pick(pairs)
    q = Query(facts, t.name)
    noun = t.noun(ctx.lang, ctx.rng)
    _phrase, trailing = add_filters(ctx, q, t.name, noun, max_filters=0)
    when, dcol = add_date(ctx, q, t.name, p=0.6)
    a, s = q.col(t.name, actual.name), q.col(t.name, sched.name)
    minutes = {"sqlite": f"(strftime('%s', {a}) - strftime('%s', {s})) / 60.0",
               "postgres": f"EXTRACT(EPOCH FROM {a} - {s}) / 60.0"}
    what = actual.label(ctx.lang, ctx.rng)
    tail = " ".join(trailing + ([when] if when else []))
    kind = ctx.pick(["avg", "late", "over"])
    if kind == "avg":
        sql = {d: _with_select(q, f"AVG({m})") for d, m in minutes.items()}
        text = (ctx.pick([f"retraso promedio en minutos ({what}) de los {noun} {tail}",
                          f"cuántos minutos de retraso en promedio tuvieron los {noun} {tail}"]) if ctx.lang == "es"
                else ctx.pick([f"average delay in minutes ({what}) of {noun} {tail}",
                               f"on average how many minutes late were {noun} {tail}"]))
    elif kind == "late":
        q.where.append(f"{a} > {s}")
        sql = _with_select(q, "COUNT(*)")
        text = (f"cuántos {noun} {tail} tuvieron {what} después de la programada" if ctx.lang == "es"
                else f"how many {noun} {tail} had their {what} later than scheduled")
    else:
        n = ctx.pick([15, 30, 45, 60, 90])
        sql = {}
        for d, m in minutes.items():
            q2 = Query(facts, t.name)
            q2.aliases, q2.joins, q2.where = dict(q.aliases), list(q.joins), q.where + [f"{m} > {n}"]
            q2.select = ["COUNT(*)"]
            sql[d] = q2.sql()
        text = (f"cuántos {noun} {tail} se retrasaron más de {n} minutos" if ctx.lang == "es"
                else f"how many {noun} {tail} were more than {n} minutes late")
    return Draft("timing", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + re.sub(r"\s+", " ", text)), sql,
                 date_column=dcol)


def _with_select(q: Query, expr: str) -> str:
    q.select = [expr]
    return q.sql()
