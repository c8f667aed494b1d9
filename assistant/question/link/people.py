"""People: passengers found by name, e-mail address, phone number or document number, and the look-up
policy's denial. A role that may not look people up by those columns gets no query at all: the look-up is
`Denied`, found by its shape alone, so the refusal does not depend on what the database holds.
"""
from __future__ import annotations

import dataclasses
import re

from assistant.question.lang import fold, is_vocab, search_form, tokens
from assistant.question.link.columns import _Cols
from assistant.question.link.hints import Denied, Fetch, Hint, _Claims

MAX_NAME_QUERIES = 6
NAME_ROWS = 50
FUZZY_ROWS = 300
FUZZY_MIN = 85


# A person's e-mail address, phone number (E.164-like: '+' and 8-15 digits, spaces or dashes between)
# and, right after a word for it, document number. Found by shape, so a role that may not look people
# up by them is refused whatever the database holds.
EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
PHONE_RE = re.compile(r"(?<![\w+])\+\d(?:[ -]?\d){7,14}(?![\w-])")
DOCUMENT_RE = re.compile(   # on the folded question
    r"(?<![\w])(?:numero\s+de\s+documento|numero\s+de\s+pasaporte|pasaporte|passport|documento|document|ine)"
    r"(?![\w])(?:\s+(?:de\s+identidad|number|numero|no\.?|num\.?|n\.?º|#))?\s*[:#]?\s*"
    r"([a-z0-9][a-z0-9-]{3,23})(?![\w-])")
_KEY_WHAT = {"email": "e-mail address", "phone": "phone number", "document": "document number"}


def _person_key_candidates(q: str, claims: _Claims) -> list[tuple[str, int, int, str, tuple[str, ...]]]:
    """(kind, start, end, text, stored forms to try) of each e-mail, phone and cued document number."""
    out = []
    for m in EMAIL_RE.finditer(q):
        if claims.free(*m.span()):
            out.append(("email", m.start(), m.end(), m.group(), tuple(dict.fromkeys((m.group(), m.group().lower())))))
    for m in PHONE_RE.finditer(q):
        if claims.free(*m.span()):
            out.append(("phone", m.start(), m.end(), m.group(), ("+" + re.sub(r"\D", "", m.group()),)))
    for m in DOCUMENT_RE.finditer(fold(q)):
        s, e = m.span(1)
        text = q[s:e]
        if claims.free(s, e) and any(ch.isdigit() for ch in text) and len(text.replace("-", "")) >= 5:
            forms = (text, text.upper(), text.upper().replace("-", ""))
            out.append(("document", s, e, text, tuple(dict.fromkeys(forms))))
    return sorted(out, key=lambda c: c[1])


def _link_person_keys(q: str, claims: _Claims, cols: _Cols, fetch: Fetch | None, may,
                      denied: list[Denied]) -> list[Hint]:
    """E-mails, phones and document numbers resolved to passengers, like a name: one parameterised
    query over the person table's columns of that kind, only for a role that may look people up by
    them (`may`); for any other role the look-up is `denied` and nothing is queried."""
    if not cols.person:
        return []
    keys = dict(cols.person_keys)
    t, pid, sn, disp = cols.person
    out: list[Hint] = []
    for kind, s, e, text, forms in _person_key_candidates(q, claims):
        columns = keys.get(kind)
        if not columns:
            continue
        claims.take(s, e)
        via = tuple(f"{t}.{c}" for c in columns)
        if not may(*via):
            denied.append(Denied(kind, text, s, via))
            continue
        if not fetch:
            continue
        params = {f"v{i}": v for i, v in enumerate(forms)}
        marks = ", ".join(f":{k}" for k in params)
        where = " OR ".join(f"{c} IN ({marks})" for c in columns)
        rows = fetch(f"SELECT {', '.join((pid, sn) + disp)} FROM {t} WHERE {where} ORDER BY {pid} LIMIT {NAME_ROWS}",
                     params)
        what = _KEY_WHAT[kind]
        if not rows:
            out.append(Hint("passenger", text, (), f"'{text}' is no passenger's {what} ({' / '.join(via)})",
                            False, s, via=via))
            continue
        hint = _passenger_hint(text, rows, cols, s, False)
        line = hint.line.replace(f"'{text}' matches ", f"'{text}' is the {what} of ", 1)
        out.append(Hint("passenger", text, hint.value, line, True, s, matches=hint.matches, via=via))
    return out


PARTICLES = frozenset("de del la las los y da das do dos di van von der den le st san mc".split())
# Words after which a run of words is taken for a name: these, and the catalog's words for a person
# (`Catalog.subject_words`: 'pasajero', 'cliente').
NAME_CUES = frozenset("senor senora senorita sr sra srta don dona llamado llamada nombre named name mr mrs ms miss".split())


def _catalog_words(catalog) -> frozenset[str]:
    """Words the catalog uses for things (terms, table/column names and synonyms): not names."""
    words: set[str] = set()
    phrases = list(catalog.all_terms)
    for t in catalog.tables.values():
        phrases += [t.name, *t.synonyms]
        for c in t.columns.values():
            phrases += [c.name, *c.synonyms]
    for p in phrases:
        words.update(search_form(p.replace("_", " ")).split())
    return frozenset(words)


def _capitalised_tail(run: list) -> list:
    """The run's last words from its first capitalised one on, when they are 2+ capitalised words."""
    for i, t in enumerate(run):
        if t.text[:1].isupper() and i:
            tail = run[i:]
            words = [x for x in tail if x.folded not in PARTICLES]
            return tail if len(words) >= 2 and all(x.text[:1].isupper() for x in words) else []
    return []


def _name_runs(q: str, claims: _Claims, extra: frozenset[str] = frozenset(),
               cues: frozenset[str] = NAME_CUES) -> list[tuple[int, int, list, bool]]:
    """Candidate name spans: runs of 2-5 name-like words (not stopwords or domain words, not already
    linked), particles allowed inside ('María de la Cruz'); a run is cued after one of `cues`.
    Returns (start, end, tokens, cued)."""
    toks = tokens(q)
    runs: list[tuple[int, int, list, bool]] = []
    cur: list = []
    prev_word = ""

    def close():
        while cur and cur[-1].folded in PARTICLES:
            cur.pop()
        content = [t for t in cur if t.folded not in PARTICLES]
        if 2 <= len(content) <= 5:
            cued = prev_word in cues or all(t.text[:1].isupper() for t in content)
            runs.append((cur[0].start, cur[-1].end, list(cur), cued))
            # 'correo de Andrés Muñoz': an ordinary word the vocabulary lacks ran into a capitalised
            # name; the capitalised tail is a candidate of its own, looked up first.
            tail = _capitalised_tail(cur)
            if not cued and tail:
                runs.append((tail[0].start, tail[-1].end, tail, True))
        cur.clear()

    for i, t in enumerate(toks):
        w = t.folded
        gap = q[toks[i - 1].end:t.start] if i else ""
        if cur and not re.fullmatch(r"[\s,.'’-]*", gap) or (cur and "," in gap):
            close()
        namey = (len(w) >= 2 and w not in cues and not is_vocab(w, extra) and claims.free(t.start, t.end)
                 and not any(ch.isdigit() for ch in t.text))
        if namey or (cur and w in PARTICLES):
            if not cur:
                prev_word = toks[i - 1].folded if i else ""
            cur.append(t)
        else:
            close()
    close()
    return runs


def _next_prefix(s: str) -> str:
    """Smallest string above every string that starts with `s` (index range upper bound). Bumps the
    last letter, so it also works under collations that ignore spaces."""
    s = s.rstrip()
    while s and s[-1] >= "z":
        s = s[:-1]
    return s[:-1] + chr(ord(s[-1]) + 1) if s else "\uffff"


def _display(row, ncols: int) -> str:
    return " ".join(str(x) for x in row[2:2 + ncols] if x)


def _name_lookup(fetch: Fetch, cols: _Cols, name: str, limit: int) -> list[tuple]:
    """Rows whose search_name is `name` or starts with `name + ' '` (missing second surname or a
    first name typed alone): one index range scan."""
    t, pid, sn, disp = cols.person
    sel = ", ".join((pid, sn) + disp)
    rows = fetch(f"SELECT {sel} FROM {t} WHERE {sn} >= :p AND {sn} < :p_end ORDER BY {sn} LIMIT {limit}",
                 {"p": name, "p_end": _next_prefix(name)})
    return [r for r in rows if r[1] == name or str(r[1]).startswith(name + " ")]


def _fuzzy_lookup(fetch: Fetch, cols: _Cols, words: list[str]) -> list[tuple[tuple, float]]:
    """A typo somewhere after the first name's first letters: candidates sharing the first name and
    the last name's first letter (one index range), ranked by rapidfuzz on the folded names."""
    from rapidfuzz import fuzz

    t, pid, sn, disp = cols.person
    sel = ", ".join((pid, sn) + disp)
    typed = " ".join(words)
    scored: dict[object, tuple[tuple, float]] = {}
    prefixes = [f"{words[0]} {words[1][:1]}"]
    if len(words[0]) >= 4:  # typo in the first name: same first three letters
        prefixes.append(words[0][:3])
    for p in prefixes:
        rows = fetch(f"SELECT {sel} FROM {t} WHERE {sn} >= :p AND {sn} < :p_end LIMIT {FUZZY_ROWS}",
                     {"p": p, "p_end": _next_prefix(p)})
        for r in rows:
            stored = str(r[1])
            head = " ".join(stored.split()[:len(words)])
            score = max(fuzz.ratio(typed, stored), fuzz.ratio(typed, head))
            if score >= FUZZY_MIN and (r[0] not in scored or scored[r[0]][1] < score):
                scored[r[0]] = (r, score)
        if scored:
            break
    best = sorted(scored.values(), key=lambda x: -x[1])
    return [b for b in best if b[1] >= best[0][1] - 5][:5] if best else []


def _passenger_hint(text: str, rows: list[tuple], cols: _Cols, pos: int, fuzzy: bool) -> Hint:
    ncols = len(cols.person[3])
    pid_col = f"{cols.person[0]}.{cols.person[1]}"
    use = cols.person_refs[0] if cols.person_refs else pid_col
    ids = tuple(r[0] for r in rows[:5])
    how = "closest matches for" if fuzzy else "matches"
    if len(ids) == 1:
        line = (f"'{text}' {how} {pid_col} {ids[0]} ({_display(rows[0], ncols)}); use {use} = {ids[0]}")
    else:
        people = "; ".join(f"{r[0]} {_display(r, ncols)}" for r in rows[:5])
        more = "+" if len(rows) > 5 else ""
        # Accent twins ('Jose Perez' / 'José Pérez'): say which one is spelled exactly as typed.
        typed = " ".join(text.lower().split())
        exact = [r[0] for r in rows[:5] if _display(r, ncols).lower().startswith(typed)]
        same = f" ({exact[0]} is spelled exactly as typed)" if len(exact) == 1 else ""
        line = (f"'{text}' is ambiguous: {len(rows)}{more} {cols.person_noun} ({people}){same}; "
                f"use {use} IN ({', '.join(str(i) for i in ids)}) or ask which one")
    return Hint("passenger", text, ids, line, True, pos, matches=len(rows))


def _link_names(q: str, claims: _Claims, cols: _Cols, catalog, fetch: Fetch | None, may=None,
                denied: list[Denied] | None = None) -> list[Hint]:
    """Passenger names. A run that looks like a name (capitalised, or after 'pasajero'/'passenger')
    gets up to three exact/prefix lookups and a fuzzy one; any other run of unknown words gets a
    single exact/prefix lookup (cheap, and it finds names typed in lower case).

    A role that may not look people up by name (`may` refuses the name columns) gets no query at all:
    each run that looks like a name is `denied`, whoever it names or whether anyone has that name."""
    if not cols.person:
        return []
    cues = NAME_CUES | frozenset(fold(w) for w in catalog.subject_words)
    runs = sorted(_name_runs(q, claims, _catalog_words(catalog), cues), key=lambda r: not r[3])  # cued first
    t, _pid, sn, disp = cols.person
    via = tuple(f"{t}.{c}" for c in (sn, *disp))
    if may is not None and not may(*via):
        if denied is not None:
            denied += [Denied("name", q[s:e], s, via) for s, e, _toks, cued in runs if cued]
        return []
    if not fetch:
        return []
    out: list[Hint] = []
    budget = MAX_NAME_QUERIES
    for s, e, toks, cued in runs:
        if budget <= 0:
            break
        if not claims.free(s, e):      # a capitalised tail already linked inside this run
            continue
        words = search_form(q[s:e]).split()
        # The whole run first, then without its last word (a trailing ordinary word), then without the first.
        tries = [words]
        if len(words) > 2 and cued:
            tries += [words[:-1], words[1:]]
        hit = None
        for w in tries:
            if budget <= 0:
                break
            budget -= 1
            rows = _name_lookup(fetch, cols, " ".join(w), NAME_ROWS)
            if rows:
                hit = (w, rows, False)
                break
        if hit is None and cued and budget > 0 and len(words) <= 4:
            budget -= 1
            fz = _fuzzy_lookup(fetch, cols, words)
            if fz:
                hit = (words, [r for r, _ in fz], True)
        if hit is None:
            if cued:
                text = q[s:e]
                out.append(Hint("passenger", text, (), f"'{text}' matches no passenger name "
                                f"({cols.person[0]}.{cols.person[2]} is lower-case without accents)", False, s,
                                via=via))
            continue
        w, rows, fuzzy = hit
        # Cut the span to the words that matched.
        i0 = 0 if w == words[:len(w)] else len(words) - len(w)
        content = [t for t in toks]
        # Map word indices back to typed tokens (search_form keeps one word per token).
        span_toks = content[i0:i0 + len(w)] if len(content) == len(words) else content
        ts, te = span_toks[0].start, span_toks[-1].end
        text = q[ts:te]
        claims.take(ts, te)
        out.append(dataclasses.replace(_passenger_hint(text, rows, cols, ts, fuzzy), via=via))
    return out
