"""Shapes about one record: a lookup by the key staff type (a locator, a ticket, a tag), a passenger
named as staff type names, and requests to change data that the model must refuse."""
from __future__ import annotations

from train.facts import Column, Facts
from train.noise import opener
from train.query import Query
from train.shapes.clauses import add_date, display_columns, subject_reference
from train.shapes.draft import Ctx, Draft
from train.shapes.wording import feminine, q_mark


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
            show = display_columns(facts, ct.name)
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
    ref = subject_reference(facts)
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
    flight_keys = [c for p, _ch in facts.ancestors(g.name, depth=1) for c in display_columns(facts, p)
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
