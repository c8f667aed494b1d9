"""Catalog words and stored values: glossary terms that stand for a condition ('volaron' -> status =
'flown') or name a column, words of the question that are stored values of small categorical columns,
and the words that name a table.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from assistant.question.lang import STOPWORDS, fold, search_form
from assistant.question.link.hints import Hint, _Claims


def _link_values(q: str, claims: _Claims, catalog, values: Mapping[tuple[str, str], Sequence[str]],
                 found: list[Hint], named_tables: dict[str, str]) -> list[Hint]:
    """A word of the question that is a stored value of a small categorical column ('titanium
    members' -> passengers.loyalty_tier = 'titanium', 'booked through the app' -> bookings.channel =
    'app'). The value list sits in the prompt's schema, but the model drops such a filter unless it
    is repeated next to the question. Left out: status columns (their words are ordinary verbs,
    'seats booked'; the glossary covers them), values that are part of a column name ('business'
    in seats_business: 'business seats' is not a cabin filter) or name a table ('airports' is not the
    booking channel 'airport'), stopwords, one- or two-letter codes, and values another hint already
    states."""
    folded = fold(q)
    said = " ".join(h.line for h in found)
    name_tokens = {tok for t in catalog.exposed_tables.values() for c in t.columns for tok in c.lower().split("_")}
    by_value: dict[str, list[tuple[str, str, str]]] = {}
    for (table, column), vals in values.items():
        if column.lower() == "status" or column.lower().endswith("_status"):
            continue
        for v in vals:
            key = search_form(v.replace("_", " "))
            if len(key) < 3 or key in STOPWORDS or key in name_tokens:
                continue
            by_value.setdefault(key, []).append((table, column, v))
    out: list[Hint] = []
    for key in sorted(by_value, key=len, reverse=True):
        pat = r"(?<![\w])" + r"\W+".join(re.escape(w) for w in key.split()) + r"s?(?![\w])"
        m = re.search(pat, folded)
        if not m or not claims.free(*m.span()):
            continue
        if any(search_form(o.group()) in named_tables for o in re.finditer(pat, folded)):
            continue                              # 'which airports...': the table, not the channel 'airport'
        places = [(t, c, v) for t, c, v in by_value[key] if f"{t}.{c} = '{v}'" not in said
                  and f"{c} = '{v}'" not in said]
        if not places:
            continue
        if len(places) > 1:                       # 'MXN' of bookings or of tickets: the one the question names
            table = _nearest_table(folded, m.start(), named_tables, {t for t, _, _ in places})
            places = [p for p in places if p[0] == table] or places
        claims.take(*m.span())
        text = q[m.start():m.end()]
        where = " or ".join(f"{t}.{c}" for t, c, _ in places)
        out.append(Hint("value", text, places[0][2], f"'{text}' is a stored value of {where} ('{places[0][2]}')",
                        True, m.start()))
    return out


_IN_LIST = re.compile(r"^(\w+\.\w+) IN \((.*)\)$")


def _without_broader_terms(hints: list[Hint]) -> list[Hint]:
    """Drop a glossary hint naming a set of values when the question names some of them itself:
    'wheelchair requests (WCHR)' asks for WCHR, not for every wheelchair code the glossary lists."""
    named = [h for h in hints if h.kind == "value"]
    out = []
    for h in hints:
        m = _IN_LIST.match(str(h.value)) if h.kind == "term" else None
        if m:
            column, listed = m.group(1), set(re.findall(r"'([^']*)'", m.group(2)))
            if any(v.value in listed and f" {column} " in v.line for v in named):
                continue
        out.append(h)
    return out


def _link_terms(q: str, claims: _Claims, catalog, named_tables: dict[str, str]) -> list[Hint]:
    """Glossary words that stand for a stored value ('volaron' -> status = 'flown', 'pesos' ->
    currency = 'MXN'): the whole glossary sits in the prompt's static prefix, but a small model heeds a
    condition far more reliably when it is repeated next to the question. Phrases naming one column
    ('número de vuelo' -> flights.flight_number) are repeated too: the model otherwise returns the
    flight's id. Single words naming a column ('nombre') and words that only name a table are left
    out: too often they mean something else. Plurals match ('perdidas'); spans are not claimed, so a
    passenger called like a word is still found."""
    folded = fold(q)
    out: list[Hint] = []
    seen: set[str] = set()
    terms = catalog.all_terms
    for term in sorted(terms, key=len, reverse=True):
        meaning = terms[term]
        words = search_form(term).split()
        names_column = bool(_COLUMN_ONLY.match(meaning)) and len(words) > 1
        if "=" not in meaning and " IN " not in meaning and not names_column:
            continue
        if not words or meaning in seen:
            continue
        m = re.search(_phrase(" ".join(words)), folded)
        if m and claims.free(*m.span()):
            seen.add(meaning)
            text = q[m.start():m.end()]
            if names_column:
                out.append(Hint("term", text, meaning, f"'{text}' is the column {meaning}", True, m.start()))
                continue
            meaning = _qualified(meaning, folded, m.start(), catalog, named_tables)
            if _modifies_another_table(meaning, folded, m.start(), catalog, named_tables):
                continue
            neg = _NEGATION.search(folded[:m.start()])
            if neg and _negated(meaning):             # 'sin contar cancelados' -> status <> 'cancelled'
                text, meaning = q[neg.start():m.end()], _negated(meaning)
            out.append(Hint("term", text, meaning, f"'{text}' means {meaning}", True, m.start()))
    return out


# A negation right before a glossary value: 'sin cancelados', 'sin contar anulados', 'excepto los
# reembolsados', 'not cancelled', 'excluding no-shows'.
_NEGATION = re.compile(r"(?<![\w])(?:sin(?:\s+contar)?|excepto|salvo|menos|no|ni|not|without|excluding|except)"
                       r"(?:\s+(?:los|las|el|la|the|any))?\W*$")


def _negated(meaning: str) -> str | None:
    """'x = 'v'' -> 'x <> 'v'', 'x IN (...)' -> 'x NOT IN (...)'; None for any other form."""
    if re.fullmatch(r"[\w.]+ = '[^']*'", meaning.strip()):
        return meaning.replace(" = ", " <> ", 1)
    if re.fullmatch(r"[\w.]+ IN \(.*\)", meaning.strip()):
        return meaning.replace(" IN ", " NOT IN ", 1)
    return None


def _phrase(words: str) -> str:
    """A pattern for a glossary phrase as a whole-word match, each word in its inflected forms."""
    return r"(?<![\w])" + r"\W+".join(_inflected(w) for w in words.split()) + r"(?![\w])"


def _inflected(word: str) -> str:
    """A pattern for a glossary word and its plural, and for Spanish its feminine ('cancelado' also
    matches 'canceladas', 'vuelo' 'vuelos')."""
    if len(word) > 3 and word.endswith("o"):
        return re.escape(word[:-1]) + "[oa]s?"
    return re.escape(word) + "(?:s|es)?"


_QUALIFIED_COLUMN = re.compile(r"^\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)", re.IGNORECASE)
_COLUMN_ONLY = re.compile(r"^\s*[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\s*$", re.IGNORECASE)
_TERM_COLUMN = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(=|<>|!=|\bIN\b)", re.IGNORECASE)


def _qualified(meaning: str, folded: str, pos: int, catalog, table_words: dict[str, str]) -> str:
    """A glossary value whose column is unqualified ('cancelado: status = cancelled': flights,
    bookings and coupons all have a status) takes the table the question names nearest to the word,
    preferring one before it ('vuelos de hoy cancelados' -> flights.status). Left as it is when the
    question names no table that has the column."""
    m = _TERM_COLUMN.match(meaning)
    if not m:
        return meaning
    column = m.group(1).lower()
    candidates = {name for name, t in catalog.exposed_tables.items() if column in t.columns}
    table = _nearest_table(folded, pos, table_words, candidates)
    return f"{table}.{meaning.lstrip()}" if table else meaning


def _nearest_table(folded: str, pos: int, table_words: dict[str, str], candidates: set[str]) -> str | None:
    """Of `candidates`, the table the question names nearest to `pos` (a word before it wins a tie)."""
    best: tuple[int, str] | None = None
    for word, table in table_words.items():
        if table not in candidates:
            continue
        for hit in re.finditer(_phrase(word), folded):
            distance = pos - hit.end() if hit.end() <= pos else 2 * (hit.start() - pos) + 1   # before wins
            if best is None or distance < best[0]:
                best = (distance, table)
    return best[1] if best else None


def _modifies_another_table(meaning: str, folded: str, pos: int, catalog, table_words: dict[str, str]) -> bool:
    """'equipaje documentado': the word right before names a table with its own column of that name
    (baggage.status), so the glossary's value for another table (ticket_segments.status =
    'checked_in') would mislead. 'pasajeros documentados' keeps it: passengers have no status."""
    m = _QUALIFIED_COLUMN.match(meaning)
    if not m:
        return False
    table, column = m.group(1), m.group(2).lower()
    before = folded[:pos].rstrip()
    for word, named in table_words.items():
        if named == table:
            continue
        if re.search(_phrase(word) + "$", before):
            t = catalog.exposed_tables.get(named)
            return t is not None and column in t.columns
    return False


def table_words(catalog) -> dict[str, str]:
    """Words that name a table: its name, its synonyms and glossary terms whose meaning is the table."""
    words: dict[str, str] = {}
    for name, t in catalog.exposed_tables.items():
        for w in (name.replace("_", " "), *t.synonyms):
            words.setdefault(search_form(w), name)
    for term, meaning in catalog.all_terms.items():
        if meaning.strip() in catalog.exposed_tables:
            words.setdefault(search_form(term), meaning.strip())
    words.pop("", None)
    return words
