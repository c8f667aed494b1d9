"""The grammar: the shapes of question staff ask, each built as a (question, gold query) pair from the
database's facts, in Spanish and English.

A shape picks its tables, columns and values from `Facts` (the catalog's words, the stored values,
the foreign keys) and writes the question and the query together, so the two cannot disagree. Dates
are left as a `{DATE}` slot: the generator links the typed question and fills the slot with exactly
the range the linker resolved, the same hint the model sees at inference. Every shape returns None
when this database offers nothing for it, so another catalog simply gets the shapes it supports.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from train.facts import Column, Facts
from train.noise import opener
from train.query import Query

DATE_SLOT = "{DATE}"
MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
             "noviembre", "diciembre")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


@dataclass
class Draft:
    shape: str
    lang: str
    question: str
    sql: dict[str, str] | str          # one query, or one per dialect ('sqlite', 'postgres')
    date_column: str | None = None     # 'alias.column' the {DATE} slot filters
    protect: tuple[str, ...] = ()      # spans noise must not garble (names, codes)
    expect_rows: bool = True
    refusal: bool = False

    def sql_for(self, dialect: str) -> str:
        return self.sql if isinstance(self.sql, str) else self.sql[dialect]


@dataclass
class Ctx:
    facts: Facts
    rng: Random
    lang: str
    today: date
    samples: Callable[[str, str, int], list]   # (table, column, n) -> stored values
    extra: dict = field(default_factory=dict)

    def pick(self, seq):
        return self.rng.choice(list(seq))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


# --- words ------------------------------------------------------------------------------------------

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


# --- filters ----------------------------------------------------------------------------------------

def reachable_categories(facts: Facts, table: str) -> list[tuple[str, Column]]:
    """(table, column) of categories of `table` and of the tables it references (no fan-out)."""
    out = [(table, c) for c in facts.tables[table].columns.values() if c.is_category]
    for parent, _chain in facts.ancestors(table, depth=2):
        out += [(parent, c) for c in facts.tables[parent].columns.values() if c.is_category]
    return out


def place_columns(facts: Facts, table: str) -> list[Column]:
    """Columns of `table` or its ancestors that reference the place table (origin, destination)."""
    if not facts.airport_table:
        return []
    tables = [table] + [p for p, _c in facts.ancestors(table, depth=2)]
    return [c for t in tables for c in facts.tables[t].columns.values()
            if c.references and c.references[0] == facts.airport_table[0]]


def place_direction(col: Column) -> str:
    label = (col.label_en + " " + col.name).lower()
    return "from" if any(w in label for w in ("origin", "from", "departure")) else "to"


def add_filters(ctx: Ctx, q: Query, table: str, noun: str, max_filters: int = 2,
                allow_place: bool = True, exclude: set | None = None) -> tuple[str, list[str]]:
    """Add 0..max_filters category filters and maybe a place filter; returns the noun phrase and
    trailing phrases (places) for the question."""
    facts = ctx.facts
    phrases: list[tuple[str, bool]] = []
    trailing: list[str] = []
    cats = [(t, c) for t, c in reachable_categories(facts, table) if not exclude or (t, c.name) not in exclude]
    ctx.rng.shuffle(cats)
    n = ctx.rng.choice([0, 1, 1, 1, 2][: max_filters + 3])
    used_tables: set[str] = set()
    for t, col in cats[:n]:
        if t in used_tables:
            continue
        used_tables.add(t)
        value = ctx.pick(col.values)
        if t == table:
            phrases.append(value_phrase(ctx, col, value, noun))
        else:
            pnoun = facts.tables[t].noun(ctx.lang, ctx.rng)
            vp, adj = value_phrase(ctx, col, value, pnoun)
            inner = noun_with(ctx, pnoun, [(vp, adj)])
            prep = ctx.pick(["de", "en"] if ctx.lang == "es" else ["on", "of", "for"])
            trailing.append(f"{prep} {inner}")
        negate = ctx.chance(0.08)
        if negate:
            phrases[-1:] = [((("que no sean " if ctx.lang == "es" else "not ") + phrases[-1][0]), False)] \
                if t == table else phrases[-1:]
            if t != table:
                negate = False
        q.where.append(f"{q.col(t, col.name)} {'<>' if negate else '='} '{value}'")
    places = place_columns(facts, table)
    if allow_place and places and ctx.chance(0.45):
        cols = ctx.rng.sample(places, k=min(len(places), ctx.rng.choice([1, 1, 2])))
        for col in sorted(cols, key=lambda c: place_direction(c) != "from"):
            code = ctx.pick(sorted(facts.places))
            name = ctx.pick(facts.places[code] + [code])
            if ctx.lang == "es":
                trailing.append(("de " if place_direction(col) == "from" else "a ") + name)
            else:
                trailing.append(("from " if place_direction(col) == "from" else "to ") + name)
            q.where.append(f"{q.col(col.table, col.name)} = '{code}'")
    return noun_with(ctx, noun, phrases), trailing


def add_date(ctx: Ctx, q: Query, table: str, p: float = 0.55) -> tuple[str | None, str | None]:
    """Maybe a period filter on the row's date; returns (phrase, 'alias.column')."""
    dated = ctx.facts.row_date(table)
    if not dated or not ctx.chance(p):
        return None, None
    dtable, _chain, col = dated
    target = q.col(dtable, col.name)
    q.where.append(DATE_SLOT)
    return date_phrase(ctx), target


# --- shapes -----------------------------------------------------------------------------------------

def _fact_tables(facts: Facts, min_rows: int = 20) -> list[str]:
    return [t.name for t in facts.tables.values() if t.row_count >= min_rows]


def count_rows(ctx: Ctx) -> Draft | None:
    table = ctx.pick(_fact_tables(ctx.facts))
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


def _group_phrase(ctx: Ctx, label: str) -> str:
    if ctx.lang == "es":
        return ctx.pick([f"por {label}", f"por cada {label}", f"para cada {label}", f"agrupados por {label}"])
    return ctx.pick([f"by {label}", f"per {label}", f"for each {label}", f"grouped by {label}", f"broken down by {label}"])


def _group_target(ctx: Ctx, table: str, q: Query) -> tuple[str, str] | None:
    """A column to group by: a category of the table or its ancestors, or a place reference (maybe read
    through the place table's own columns, 'by destination country')."""
    cats = reachable_categories(ctx.facts, table)
    places = place_columns(ctx.facts, table)
    if places and ctx.chance(0.35):
        col = ctx.pick(places)
        if ctx.facts.airport_table and ctx.chance(0.3):
            ptable, pkey = ctx.facts.airport_table
            attrs = [c for c in ctx.facts.tables[ptable].columns.values()
                     if c.kind == "text" and not c.primary and c.name in ("city", "country", "country_code")]
            if attrs:
                attr = ctx.pick(attrs)
                alias = f"{ptable[0]}{len(q.joins) + 1}"
                q.joins.append(f"JOIN {ptable} {alias} ON {alias}.{pkey} = {q.col(col.table, col.name)}")
                col.label(ctx.lang, ctx.rng)   # one draw, kept so train/demo-data regenerates byte for byte
                word = attr.label(ctx.lang, ctx.rng).split(",")[0]
                if ctx.lang == "es":
                    label = f"{word} de {'origen' if place_direction(col) == 'from' else 'destino'}"
                else:
                    label = f"{'origin' if place_direction(col) == 'from' else 'destination'} {word}"
                return f"{alias}.{attr.name}", label
        return q.col(col.table, col.name), re.sub(r"\s*(IATA|\(IATA\)).*$", "", col.label(ctx.lang, ctx.rng)).strip()
    if not cats:
        return None
    t, col = ctx.pick(cats)
    return q.col(t, col.name), col.label(ctx.lang, ctx.rng)


def count_by(ctx: Ctx) -> Draft | None:
    table = ctx.pick(_fact_tables(ctx.facts))
    t = ctx.facts.tables[table]
    q = Query(ctx.facts, table)
    target = _group_target(ctx, table, q)
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
    g = _group_phrase(ctx, label)
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
        group = _group_target(ctx, t.name, q)
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
    g = (" " + _group_phrase(ctx, group[1])) if group else ""
    if ctx.lang == "es":
        text = ctx.pick([f"{agg_text} de {phrase} {tail}{g}", f"cuál es el {agg_text} de {phrase}{g} {tail}",
                         f"{agg_text} de los {phrase}{g} {tail}"])
    else:
        text = ctx.pick([f"{agg_text} of {phrase} {tail}{g}", f"what is the {agg_text.removeprefix('the ')} of {phrase}{g} {tail}",
                         f"{agg_text} for {phrase}{g} {tail}"])
    text = text.replace("el el ", "el ").replace("de los los ", "de los ")
    return Draft("measure", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql(), date_column=dcol)


def _display_columns(facts: Facts, table: str) -> list[Column]:
    """What names a row of `table` to a person: its non-personal lookup keys and name-like columns."""
    t = facts.tables[table]
    cols = [c for c in t.columns.values() if c.pii is None and (c.lookup_key or c.name == "name")
            and not c.references and c.kind != "ts"]
    named = [c for c in cols if c.name == "name"]
    return named or [c for c in cols if not c.primary] or cols


def top_n(ctx: Ctx) -> Draft | None:
    n = ctx.pick([3, 5, 5, 10])
    facts = ctx.facts
    kind = ctx.pick(["groups", "parents", "rows"])
    if kind == "rows":
        candidates = [(t, c) for t in facts.tables.values() for c in t.columns.values() if c.is_measure]
        t, m = ctx.pick(candidates)
        show = _display_columns(facts, t.name)
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
    table = ctx.pick(_fact_tables(facts, min_rows=200))
    t = facts.tables[table]
    q = Query(facts, table)
    noun = t.noun(ctx.lang, ctx.rng)
    phrase, trailing = add_filters(ctx, q, table, noun, max_filters=1, allow_place=kind == "parents")
    if kind == "groups":
        target = _group_target(ctx, table, q)
        if target is None:
            return None
        expr, label = target
        q.select, q.group_by = [expr, "COUNT(*)"], [expr]
        what = label
    else:
        parents = [p for p, chain in facts.ancestors(table, depth=2) if _display_columns(facts, p)
                   and facts.tables[p].row_count >= 20]
        if not parents:
            return None
        parent = ctx.pick(parents)
        pt = facts.tables[parent]
        keys = [q.col(parent, k) for k in pt.primary_key]
        show = [q.col(parent, c.name) for c in _display_columns(facts, parent) if c.name not in pt.primary_key]
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


def _subject_reference(facts: Facts) -> tuple[str, Column] | None:
    subject = facts.catalog.subject_table
    if not subject:
        return None
    refs = facts.references_to(subject)
    return (refs[0].table, refs[0]) if refs else None


def distinct_people(ctx: Ctx) -> Draft | None:
    facts = ctx.facts
    ref = _subject_reference(facts)
    if ref is None:
        return None
    holder, col = ref
    bases = [t for t in _fact_tables(facts) if t != holder and any(p == holder for p, _c in facts.ancestors(t))]
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
    table = ctx.pick(_fact_tables(facts, min_rows=200))
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
    group = _group_target(ctx, table, q) if ctx.chance(0.3) else None
    when, dcol = add_date(ctx, q, table, p=0.5)
    expr = f"100.0 * SUM(CASE WHEN {q.col(table, col.name)} = '{value}' THEN 1 ELSE 0 END) / COUNT(*)"
    q.select = ([group[0]] if group else []) + [expr]
    q.group_by = [group[0]] if group else []
    g = (" " + _group_phrase(ctx, group[1])) if group else ""
    tail = " ".join(trailing + ([when] if when else []))
    if ctx.lang == "es":
        text = ctx.pick([f"qué porcentaje de los {noun} {tail} son {vp}{g}", f"porcentaje de {noun} {vp} {tail}{g}",
                         f"% de {noun} {vp} {tail}{g}", f"tasa de {noun} {vp} {tail}{g}"])
    else:
        text = ctx.pick([f"what percentage of {noun} {tail} are {vp}{g}", f"percentage of {vp} {noun} {tail}{g}",
                         f"share of {noun} that are {vp} {tail}{g}", f"{vp} rate of {noun} {tail}{g}"])
    return Draft("rate", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + re.sub(r"\s+", " ", text)), q.sql(),
                 date_column=dcol)


def _lookup_keys(facts: Facts) -> list[Column]:
    """Text keys staff type to name one record (a locator, a ticket, a tag, a code)."""
    return [c for t in facts.tables.values() for c in t.columns.values()
            if c.lookup_key and c.kind == "text" and c.pii is None and not c.references
            and (c.primary or c.name.endswith(("locator", "tag", "code", "number")))]


def _typed_key(ctx: Ctx, value: str) -> str:
    if value.isdigit() and len(value) == 13 and ctx.chance(0.3):
        return value[:3] + "-" + value[3:]
    return value.lower() if value.isalnum() and not value.isdigit() and ctx.chance(0.4) else value


def lookup(ctx: Ctx) -> Draft | None:
    facts = ctx.facts
    keys = _lookup_keys(facts)
    if not keys:
        return None
    key = ctx.pick(keys)
    t = facts.tables[key.table]
    values = ctx.samples(t.name, key.name, 1)
    if not values:
        return None
    value = str(values[0])
    typed = _typed_key(ctx, value)
    q = Query(facts, t.name)
    q.where.append(f"{q.col(t.name, key.name)} = '{value}'")
    sing = t.noun(ctx.lang, ctx.rng, plural=False)
    kind = ctx.pick(["attr", "attr", "children", "count_children"])
    children = [c for c in facts.references_to(t.name) if c.references[1] == key.name or c.references[1] in t.primary_key]
    children = [c for c in children                    # origin and destination: which one is meant?
                if sum(1 for o in facts.tables[c.table].columns.values() if o.references == c.references) == 1]
    if kind != "attr" and children:
        child = ctx.pick(children)
        ct = facts.tables[child.table]
        cnoun = ct.noun(ctx.lang, ctx.rng)
        if kind == "count_children":
            q.select = ["COUNT(*)"]
            q.a(ct.name)
            text = (ctx.pick([f"cuántos {cnoun} tiene {'la' if feminine(sing) else 'el'} {sing} {typed}",
                              f"número de {cnoun} de {sing} {typed}"]) if ctx.lang == "es" else
                    ctx.pick([f"how many {cnoun} does {sing} {typed} have", f"number of {cnoun} on {sing} {typed}"]))
            if ctx.lang == "es" and feminine(cnoun):
                text = text.replace("cuántos", "cuántas")
            q2 = Query(facts, ct.name)
            q2.where = [w.replace(f"{q.aliases[t.name]}.", f"{q2.a(t.name)}.") for w in q.where]
            q2.select = ["COUNT(*)"]
            return Draft("lookup", ctx.lang, q_mark(ctx, text), q2.sql(), protect=(typed,))
        # the other things the child rows point at (a booking's passengers through its tickets)
        others = [c for c in facts.parents(ct.name) if c.references[0] != t.name]
        q2 = Query(facts, ct.name)
        where = [w.replace(f"{q.aliases[t.name]}.", f"{q2.a(t.name)}.") for w in q.where]
        subject = facts.catalog.subject_table
        via = [c for c in others if c.references[0] == subject]
        if via and ctx.chance(0.6):
            st = facts.tables[subject]
            names = [c for c in st.columns.values() if c.pii == "identifier" and c.lookup_key
                     and "search" not in c.name][:2]
            q2.select = [q2.col(subject, c.name) for c in names]
            pnoun = st.noun(ctx.lang, ctx.rng)
            text = (ctx.pick([f"nombres de los {pnoun} de {sing} {typed}", f"quiénes viajan en {sing} {typed}",
                              f"{pnoun} de {sing} {typed}"]) if ctx.lang == "es" else
                    ctx.pick([f"names of the {pnoun} on {sing} {typed}", f"who is on {sing} {typed}",
                              f"{pnoun} in {sing} {typed}"]))
        else:
            show = _display_columns(facts, ct.name)
            extra = [c for c in ct.columns.values() if c.is_category]
            cols = show[:1] + (extra[:1] if extra and ctx.chance(0.5) else [])
            q2.select = [q2.col(ct.name, c.name) for c in cols]
            labels = (" y " if ctx.lang == "es" else " and ").join(c.label(ctx.lang, ctx.rng) for c in cols)
            text = (f"{labels} de los {cnoun} de {sing} {typed}" if ctx.lang == "es"
                    else f"{labels} of the {cnoun} on {sing} {typed}")
        q2.where = where
        return Draft("lookup", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q2.sql(), protect=(typed,))
    attrs = [c for c in t.columns.values() if c.name != key.name and not c.primary and c.pii is None
             and not (c.references and c.kind == "int")]
    for parent, chain in facts.ancestors(t.name, depth=1):
        attrs += [c for c in facts.tables[parent].columns.values()
                  if (c.is_category or c.kind == "ts" or c.lookup_key) and not c.primary and c.pii is None
                  and not c.references]
    if not attrs:
        return None
    cols = ctx.rng.sample(attrs, k=min(len(attrs), ctx.pick([1, 1, 2])))
    q.select = [q.col(c.table, c.name) for c in cols]
    labels = (" y " if ctx.lang == "es" else " and ").join(c.label(ctx.lang, ctx.rng) for c in cols)
    if ctx.lang == "es":
        art = "la" if feminine(sing) else "el"
        text = ctx.pick([f"cuál es {labels} de {art} {sing} {typed}", f"{labels} de {sing} {typed}",
                         f"{sing} {typed}: {labels}", f"qué {labels} tiene {art} {sing} {typed}"])
    else:
        text = ctx.pick([f"what is the {labels} of {sing} {typed}", f"{labels} for {sing} {typed}",
                         f"{sing} {typed}: {labels}", f"{labels} of {typed}"])
    return Draft("lookup", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql(), protect=(typed,))


def person(ctx: Ctx) -> Draft | None:
    """Questions about one passenger named as staff type names (the linker resolves the id)."""
    facts = ctx.facts
    ref = _subject_reference(facts)
    people = ctx.extra.get("people") or []
    if ref is None or not people:
        return None
    holder, refcol = ref
    subject = facts.catalog.subject_table
    pid, name = ctx.pick(people)
    typed = name if ctx.chance(0.5) else name.lower()
    kind = ctx.pick(["own", "own", "count", "grand"])
    st = facts.tables[subject]
    if kind == "own":
        cols = [c for c in st.columns.values() if not c.primary and c.pii != "free_text" and "search" not in c.name
                and c.name not in ("first_name", "last_name")]
        pick = ctx.rng.sample(cols, k=min(len(cols), ctx.pick([1, 1, 2])))
        q = Query(facts, subject)
        q.select = [q.col(subject, c.name) for c in pick]
        q.where = [f"{q.col(subject, st.primary_key[0])} = {pid}"]
        labels = (" y " if ctx.lang == "es" else " and ").join(c.label(ctx.lang, ctx.rng) for c in pick)
        text = (ctx.pick([f"{labels} de {typed}", f"cuál es {labels} de {typed}", f"qué {labels} tiene {typed}"])
                if ctx.lang == "es" else ctx.pick([f"{labels} of {typed}", f"what is {typed}'s {labels}",
                                                   f"{typed}: {labels}"]))
        return Draft("person", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql(), protect=(typed,))
    if kind == "count":
        ht = facts.tables[holder]
        q = Query(facts, holder)
        q.select = ["COUNT(*)"]
        q.where = [f"{q.col(holder, refcol.name)} = {pid}"]
        noun = ht.noun(ctx.lang, ctx.rng)
        text = (f"cuántos {noun} tiene {typed}" if ctx.lang == "es" else f"how many {noun} does {typed} have")
        if ctx.lang == "es" and feminine(noun):
            text = text.replace("cuántos", "cuántas")
        return Draft("person", ctx.lang, q_mark(ctx, text), q.sql(), protect=(typed,))
    grand = [c for c in facts.references_to(holder)]
    if not grand:
        return None
    g = facts.tables[ctx.pick(grand).table]
    q = Query(facts, g.name)
    q.where = [f"{q.col(holder, refcol.name)} = {pid}"]
    show = [c for c in g.columns.values() if (c.is_category or c.name in ("seat",)) and c.pii is None][:2]
    flight_keys = [c for p, _ch in facts.ancestors(g.name, depth=1) for c in _display_columns(facts, p)
                   if c.kind == "int" and not c.primary]
    cols = [q.col(flight_keys[0].table, flight_keys[0].name)] if flight_keys and ctx.chance(0.5) else []
    pick = ctx.rng.sample(show, k=min(len(show), 1)) if show else []
    q.select = cols + [q.col(g.name, c.name) for c in pick]
    if not q.select:
        return None
    when, dcol = add_date(ctx, q, g.name, p=0.3)
    labels = " ".join(c.label(ctx.lang, ctx.rng) for c in pick)
    noun = g.noun(ctx.lang, ctx.rng)
    tail = f" {when}" if when else ""
    text = (f"{labels} de los {noun} de {typed}{tail}" if ctx.lang == "es" else f"{labels} of {typed}'s {noun}{tail}")
    return Draft("person", ctx.lang, q_mark(ctx, opener(ctx.lang, ctx.rng) + text), q.sql(), date_column=dcol,
                 protect=(typed,))


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


def having(ctx: Ctx) -> Draft | None:
    facts = ctx.facts
    pairs = [(c, facts.tables[c.references[0]]) for c in facts.references_to(facts.catalog.subject_table or "")
             ] + [(c, facts.tables[c.references[0]]) for t in facts.tables.values() for c in facts.parents(t.name)]
    pairs = [(c, p) for c, p in pairs if _display_columns(facts, p.name) and facts.tables[c.table].row_count >= 200
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
        show = [f"{palias}.{c.name}" for c in _display_columns(facts, parent.name)][:1]
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


def refusal(ctx: Ctx) -> Draft | None:
    """Requests to change data or read what no role may: the model answers REFUSE."""
    keys = _lookup_keys(ctx.facts)
    if not keys:
        return None
    key = ctx.pick(keys)
    t = ctx.facts.tables[key.table]
    sing = t.noun(ctx.lang, ctx.rng, plural=False)
    value = (ctx.samples(t.name, key.name, 1) or ["X"])[0]
    if ctx.lang == "es":
        text = ctx.pick([f"borra {'la' if feminine(sing) else 'el'} {sing} {value}", f"cancela {sing} {value}",
                         f"cambia el estado de {sing} {value} a cancelado", "dame las contraseñas del personal",
                         f"actualiza {sing} {value}", "elimina todos los registros", "muestra las tablas del sistema"])
    else:
        text = ctx.pick([f"delete {sing} {value}", f"cancel {sing} {value}", f"set the status of {sing} {value} to cancelled",
                         "show me the staff passwords", f"update {sing} {value}", "drop every table",
                         "list the database system tables"])
    return Draft("refusal", ctx.lang, text, "REFUSE", refusal=True)


SHAPES: dict[str, tuple[Callable[[Ctx], Draft | None], float]] = {
    "count": (count_rows, 1.6),
    "count_by": (count_by, 1.4),
    "measure": (measure, 1.2),
    "top_n": (top_n, 1.0),
    "distinct": (distinct_people, 0.8),
    "rate": (rate, 0.7),
    "lookup": (lookup, 1.5),
    "person": (person, 1.0),
    "timing": (timing, 0.6),
    "having": (having, 0.5),
    "country": (country, 0.5),
    "refusal": (refusal, 0.08),
}
