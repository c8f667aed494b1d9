"""The parts shapes share: which tables and columns a shape may use, and the filters, the period and the
group-by target it adds to its query and its question together."""
from __future__ import annotations

import re

from train.facts import Column, Facts
from train.query import Query
from train.shapes.draft import DATE_SLOT, Ctx
from train.shapes.wording import date_phrase, noun_with, value_phrase


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


def fact_tables(facts: Facts, min_rows: int = 20) -> list[str]:
    return [t.name for t in facts.tables.values() if t.row_count >= min_rows]


def group_phrase(ctx: Ctx, label: str) -> str:
    if ctx.lang == "es":
        return ctx.pick([f"por {label}", f"por cada {label}", f"para cada {label}", f"agrupados por {label}"])
    return ctx.pick([f"by {label}", f"per {label}", f"for each {label}", f"grouped by {label}", f"broken down by {label}"])


def group_target(ctx: Ctx, table: str, q: Query) -> tuple[str, str] | None:
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


def display_columns(facts: Facts, table: str) -> list[Column]:
    """What names a row of `table` to a person: its non-personal lookup keys and name-like columns."""
    t = facts.tables[table]
    cols = [c for c in t.columns.values() if c.pii is None and (c.lookup_key or c.name == "name")
            and not c.references and c.kind != "ts"]
    named = [c for c in cols if c.name == "name"]
    return named or [c for c in cols if not c.primary] or cols


def subject_reference(facts: Facts) -> tuple[str, Column] | None:
    subject = facts.catalog.subject_table
    if not subject:
        return None
    refs = facts.references_to(subject)
    return (refs[0].table, refs[0]) if refs else None
