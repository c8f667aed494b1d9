"""Shapes that count rows: how many (with filters and a period), how many by a group, distinct people,
a percentage, groups over a threshold (HAVING), and counts by a country."""
from __future__ import annotations

import re

from train.noise import opener
from train.query import Query
from train.shapes.clauses import (
    add_date,
    add_filters,
    display_columns,
    fact_tables,
    group_phrase,
    group_target,
    place_direction,
    subject_reference,
)
from train.shapes.draft import DATE_SLOT, Ctx, Draft
from train.shapes.wording import feminine, q_mark, value_phrase


def count_rows(ctx: Ctx) -> Draft | None:
    table = ctx.pick(fact_tables(ctx.facts))
    t = ctx.facts.tables[table]
    q = Query(ctx.facts, table)
    noun = t.noun(ctx.lang, ctx.rng)
    phrase, trailing = add_filters(ctx, q, table, noun)
    when, target = add_date(ctx, q, table)
    q.select = ["COUNT(*)"]
    tail = " ".join(trailing + ([when] if when else []))
    if ctx.lang == "es":
        text = ctx.pick([f"cuántos {phrase} hay {tail}", f"cuántos {phrase} {tail}", f"número de {phrase} {tail}",
                         f"total de {phrase} {tail}", f"cuántos {phrase} hubo {tail}"])
        if feminine(noun):
            text = text.replace("cuántos", "cuántas")
    else:
        text = ctx.pick([f"how many {phrase} {tail}", f"number of {phrase} {tail}", f"count of {phrase} {tail}",
                         f"how many {phrase} are there {tail}", f"total {phrase} {tail}"])
    return Draft("count", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql(), date_column=target,
                 expect_rows=True)


def count_by(ctx: Ctx) -> Draft | None:
    table = ctx.pick(fact_tables(ctx.facts))
    t = ctx.facts.tables[table]
    q = Query(ctx.facts, table)
    target = group_target(ctx, table, q)
    if target is None:
        return None
    expr, label = target
    noun = t.noun(ctx.lang, ctx.rng)
    phrase, trailing = add_filters(ctx, q, table, noun, max_filters=1, allow_place=False)
    when, dcol = add_date(ctx, q, table, p=0.4)
    if any(w.startswith(expr + " ") for w in q.where):
        return None
    q.select = [expr, "COUNT(*)"]
    q.group_by = [expr]
    order = ctx.chance(0.3)
    if order:
        q.order_by = ["COUNT(*) DESC"]
    tail = " ".join(trailing + ([when] if when else []))
    g = group_phrase(ctx, label)
    if ctx.lang == "es":
        lead = ctx.pick([f"cuántos {phrase} {g} {tail}", f"{phrase} {g} {tail}", f"número de {phrase} {g} {tail}",
                         f"cuántos {phrase} hay {tail} {g}"])
        if feminine(noun):
            lead = lead.replace("cuántos", "cuántas")
        lead += ", de mayor a menor" if order else ""
    else:
        lead = ctx.pick([f"how many {phrase} {g} {tail}", f"{phrase} {g} {tail}", f"number of {phrase} {tail} {g}",
                         f"count {phrase} {g} {tail}"])
        lead += ", most first" if order else ""
    return Draft("count_by", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + lead), q.sql(), date_column=dcol)


def distinct_people(ctx: Ctx) -> Draft | None:
    facts = ctx.facts
    ref = subject_reference(facts)
    if ref is None:
        return None
    holder, col = ref
    bases = [t for t in fact_tables(facts) if t != holder and any(p == holder for p, _c in facts.ancestors(t))]
    if not bases:
        return None
    table = ctx.pick(bases)
    q = Query(facts, table)
    noun = facts.tables[table].noun(ctx.lang, ctx.rng)
    _phrase, trailing = add_filters(ctx, q, table, noun, max_filters=2)
    when, dcol = add_date(ctx, q, table, p=0.6)
    q.select = [f"COUNT(DISTINCT {q.col(holder, col.name)})"]
    people = facts.tables[facts.catalog.subject_table].noun(ctx.lang, ctx.rng)
    cond = [w for w in q.where if w != DATE_SLOT]
    own = _phrase[len(noun):].strip()
    tail = " ".join(trailing + ([when] if when else []))
    if ctx.lang == "es":
        dist = ctx.pick(["distintos", "diferentes", "únicos"])
        text = ctx.pick([f"cuántos {people} {dist} con {noun} {own} {tail}", f"número de {people} {dist} en {noun} {own} {tail}",
                         f"cuántos {people} {dist} tienen {noun} {own} {tail}"])
    else:
        dist = ctx.pick(["different", "distinct", "unique"])
        text = ctx.pick([f"how many {dist} {people} have {own} {noun} {tail}", f"number of {dist} {people} with {own} {noun} {tail}",
                         f"count {dist} {people} on {own} {noun} {tail}"])
    if not cond and not when:
        return None
    return Draft("distinct", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + re.sub(r"\s+", " ", text)), q.sql(),
                 date_column=dcol)


def rate(ctx: Ctx) -> Draft | None:
    facts = ctx.facts
    table = ctx.pick(fact_tables(facts, min_rows=200))
    t = facts.tables[table]
    cats = [c for c in t.columns.values() if c.is_category]
    if not cats:
        return None
    col = ctx.pick(cats)
    value = ctx.pick(col.values)
    q = Query(facts, table)
    noun = t.noun(ctx.lang, ctx.rng)
    vp, _adj = value_phrase(ctx, col, value, noun)
    _p, trailing = add_filters(ctx, q, table, noun, max_filters=1, exclude={(table, col.name)})
    group = group_target(ctx, table, q) if ctx.chance(0.3) else None
    when, dcol = add_date(ctx, q, table, p=0.5)
    expr = f"100.0 * SUM(CASE WHEN {q.col(table, col.name)} = '{value}' THEN 1 ELSE 0 END) / COUNT(*)"
    q.select = ([group[0]] if group else []) + [expr]
    q.group_by = [group[0]] if group else []
    g = (" " + group_phrase(ctx, group[1])) if group else ""
    tail = " ".join(trailing + ([when] if when else []))
    if ctx.lang == "es":
        text = ctx.pick([f"qué porcentaje de los {noun} {tail} son {vp}{g}", f"porcentaje de {noun} {vp} {tail}{g}",
                         f"% de {noun} {vp} {tail}{g}", f"tasa de {noun} {vp} {tail}{g}"])
    else:
        text = ctx.pick([f"what percentage of {noun} {tail} are {vp}{g}", f"percentage of {vp} {noun} {tail}{g}",
                         f"share of {noun} that are {vp} {tail}{g}", f"{vp} rate of {noun} {tail}{g}"])
    return Draft("rate", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + re.sub(r"\s+", " ", text)), q.sql(),
                 date_column=dcol)


def having(ctx: Ctx) -> Draft | None:
    facts = ctx.facts
    pairs = [(c, facts.tables[c.references[0]]) for c in facts.references_to(facts.catalog.subject_table or "")
             ] + [(c, facts.tables[c.references[0]]) for t in facts.tables.values() for c in facts.parents(t.name)]
    pairs = [(c, p) for c, p in pairs if display_columns(facts, p.name) and facts.tables[c.table].row_count >= 200
             and sum(1 for o in facts.tables[c.table].columns.values() if o.references == c.references) == 1]
    if not pairs:
        return None
    col, parent = ctx.pick(pairs)
    child = facts.tables[col.table]
    n = ctx.pick([2, 3, 3, 4])
    op, word_es, word_en = ctx.pick([(">=", f"{n} o más", f"{n} or more"), (">", f"más de {n}", f"more than {n}")])
    cnoun, pnoun = child.noun(ctx.lang, ctx.rng), parent.noun(ctx.lang, ctx.rng)
    q = Query(facts, child.name)
    key = q.col(child.name, col.name)
    if ctx.chance(0.5):
        sub = f"SELECT {col.name} FROM {child.name} GROUP BY {col.name} HAVING COUNT(*) {op} {n}"
        sql = f"SELECT COUNT(*) FROM ({sub}) x"
        text = (f"cuántos {pnoun} tienen {word_es} {cnoun}" if ctx.lang == "es"
                else f"how many {pnoun} have {word_en} {cnoun}")
        if ctx.lang == "es" and feminine(pnoun):
            text = text.replace("cuántos", "cuántas")
    else:
        palias = "p" if "p" not in q.aliases.values() else "par"
        q.aliases[parent.name] = palias
        q.joins.append(f"JOIN {parent.name} {palias} ON {palias}.{col.references[1]} = {key}")
        show = [f"{palias}.{c.name}" for c in display_columns(facts, parent.name)][:1]
        if not show or show[0].endswith("." + col.references[1]):
            q.joins.pop()
            q.select = [key, "COUNT(*)"]
            q.group_by = [key]
        else:
            q.select = show + ["COUNT(*)"]
            q.group_by = [key] + show
        q.having = [f"COUNT(*) {op} {n}"]
        sql = q.sql()
        text = (f"{pnoun} con {word_es} {cnoun}" if ctx.lang == "es" else f"{pnoun} with {word_en} {cnoun}")
    return Draft("having", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), sql)


def country(ctx: Ctx) -> Draft | None:
    """Counts by a country word: a nationality column, or a place's country through the place table."""
    facts = ctx.facts
    words: dict[str, list[str]] = {}
    for w, code in facts.catalog.countries.items():
        words.setdefault(code, []).append(w)
    cols = [c for t in facts.tables.values() for c in t.columns.values() if c.country_codes]
    if not cols or not words:
        return None
    col = ctx.pick(cols)
    code = ctx.pick(sorted(words))
    word = ctx.pick(words[code])
    if facts.airport_table and col.table == facts.airport_table[0]:
        refs = [c for t in facts.tables.values() for c in t.columns.values()
                if c.references and c.references[0] == col.table]
        ref = ctx.pick(refs)
        t = facts.tables[ref.table]
        q = Query(facts, ref.table)
        alias = "ap"
        q.joins.append(f"JOIN {col.table} {alias} ON {alias}.{facts.airport_table[1]} = {q.col(ref.table, ref.name)}")
        q.where.append(f"{alias}.{col.name} = '{code}'")
        noun = t.noun(ctx.lang, ctx.rng)
        when, dcol = add_date(ctx, q, ref.table, p=0.5)
        q.select = ["COUNT(*)"]
        to = place_direction(ref) == "to"
        tail = f" {when}" if when else ""
        text = ((f"cuántos {noun} {'a' if to else 'desde'} {word}{tail}") if ctx.lang == "es"
                else f"how many {noun} {'to' if to else 'from'} {word}{tail}")
        return Draft("country", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text),
                     q.sql(), date_column=dcol)
    t = facts.tables[col.table]
    q = Query(facts, t.name)
    q.where.append(f"{q.col(t.name, col.name)} = '{code}'")
    noun = t.noun(ctx.lang, ctx.rng)
    phrase, trailing = add_filters(ctx, q, t.name, noun, max_filters=1, allow_place=False)
    q.select = ["COUNT(*)"]
    text = (f"cuántos {phrase} de nacionalidad {word} {' '.join(trailing)}" if ctx.lang == "es"
            else f"how many {phrase} with nationality {word} {' '.join(trailing)}")
    return Draft("country", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql())
