"""Identifiers by their shape: ticket numbers, bag tags, flight designators and record locators, each
checked against its table with one indexed query (the catalog's `identifiers` say which)."""
from __future__ import annotations

import re

from assistant.question.lang import STOPWORDS, fold, is_vocab
from assistant.question.link.columns import _cached, _Cols, _in_list
from assistant.question.link.hints import Fetch, Hint, _Claims

TICKET_RE = re.compile(r"(?<![\w-])(\d{3})[-\s]?(\d{10})(?![\w-])")
BAG_RE = re.compile(r"(?<![\w-])(\d{10})(?![\w-])")
LOCATOR_RE = re.compile(r"(?<![\w-])([A-Za-z2-9]{6})(?![\w-])")
FLIGHT_RE = re.compile(r"(?<![\w-])([A-Za-z][A-Za-z0-9]|[0-9][A-Za-z])[\s-]?(\d{1,4})(?![\w-])")
LOCATOR_CUE = re.compile(r"(?:localizador|pnr|locator|reserva|reservacion|booking|clave|codigo de reserva)[\s:#]*$")
BAG_CUE = re.compile(r"(?:maleta|equipaje|etiqueta|bag|tag|luggage)\w*\W+(?:\w+\W+){0,3}$")   # bag\w*: baggage


def _carriers(fetch: Fetch, cols: _Cols) -> frozenset[str]:
    table, carrier, _num = cols.flight
    return _cached(fetch, f"carriers:{table}", lambda: frozenset(
        str(r[0]).strip().upper() for r in fetch(f"SELECT DISTINCT {carrier} FROM {table}", {}) if r[0]))


def _link_tickets(q: str, claims: _Claims, cols: _Cols, fetch: Fetch | None) -> list[Hint]:
    if not cols.ticket:
        return []
    cands = [(m.start(), m.end(), m.group(), m.group(1) + m.group(2)) for m in TICKET_RE.finditer(q)
             if claims.free(*m.span())]
    found = _in_list(fetch, *cols.ticket, [c[3] for c in cands]) if fetch else set()
    out = []
    t, c = cols.ticket
    for s, e, text, v in cands:
        claims.take(s, e)
        ok = v in found
        line = (f"'{text}' is ticket number '{v}' ({t}.{c} = '{v}')" if ok or not fetch else
                f"'{text}' looks like ticket number '{v}' but no ticket has it ({t}.{c} = '{v}')")
        out.append(Hint("ticket", text, v, line, ok, s))
    return out


def _link_bags(q: str, claims: _Claims, cols: _Cols, fetch: Fetch | None) -> list[Hint]:
    if not cols.bag:
        return []
    cands = [(m.start(), m.end(), m.group(1)) for m in BAG_RE.finditer(q) if claims.free(*m.span())]
    found = _in_list(fetch, *cols.bag, [c[2] for c in cands]) if fetch else set()
    out = []
    t, c = cols.bag
    for s, e, v in cands:
        cue = bool(BAG_CUE.search(fold(q[max(0, s - 40):s])))
        ok = v in found
        if not ok and not cue and fetch:
            continue  # ten digits that are no bag: a phone number, an id... say nothing
        claims.take(s, e)
        line = (f"'{v}' is bag tag '{v}' ({t}.{c} = '{v}')" if ok or not fetch else
                f"'{v}' looks like a bag tag but no bag has it ({t}.{c} = '{v}')")
        out.append(Hint("bag", v, v, line, ok, s))
    return out


def _link_flights(q: str, claims: _Claims, cols: _Cols, fetch: Fetch | None) -> list[Hint]:
    """Designators 'XA401', 'XA 401', 'xa0401' for carriers that exist in the flights table. A carrier
    code that is also a word ('DE', 'AM') only counts typed upper-case and without a space."""
    if not cols.flight or not fetch:
        return []
    carriers = _carriers(fetch, cols)
    t, cc, nc = cols.flight
    out = []
    for m in FLIGHT_RE.finditer(q):
        code, digits = m.group(1).upper(), m.group(2)
        if code not in carriers or not claims.free(*m.span()):
            continue
        num = int(digits)
        if not 1 <= num <= 9999:
            continue
        typed = m.group()
        if m.group(1).lower() in STOPWORDS and not (m.group(1).isupper() and typed[2:3].isdigit()):
            continue
        rows = fetch(f"SELECT {nc} FROM {t} WHERE {cc} = :c AND {nc} = :n LIMIT 1", {"c": code, "n": num})
        ok = bool(rows)
        claims.take(*m.span())
        where = f"{t}.{cc} = '{code}' AND {t}.{nc} = {num}"
        line = (f"'{typed}' is flight {code}{num} ({where})" if ok else
                f"'{typed}' looks like flight {code}{num} but no such flight exists ({where})")
        out.append(Hint("flight", typed, (code, num), line, ok, m.start()))
    return out


def _link_locators(q: str, claims: _Claims, cols: _Cols, fetch: Fetch | None) -> list[Hint]:
    """Six characters of A-Z/2-9 in any case. Letters+digits are candidates anywhere; all-letter
    tokens only typed in capitals or right after 'localizador'/'PNR'/'booking' (else: ordinary words)."""
    if not cols.locator:
        return []
    cands = []
    for m in LOCATOR_RE.finditer(q):
        tok = m.group(1)
        if not claims.free(*m.span()):
            continue
        has_digit, has_alpha = any(ch.isdigit() for ch in tok), any(ch.isalpha() for ch in tok)
        cue = bool(LOCATOR_CUE.search(fold(q[max(0, m.start() - 30):m.start()])))
        if not has_alpha:
            continue
        # Letters and digits: a locator shape anywhere. All letters: only a checked one typed in
        # capitals or right after a locator word, and never an ordinary word ('status', 'Cuenta').
        strong = has_digit and not re.fullmatch(r"[A-Za-z]{1,2}\d+", tok)
        if not strong and (not (cue or tok.isupper()) or is_vocab(fold(tok))):
            continue
        cands.append((m.start(), m.end(), tok, tok.upper(), strong))
    found = _in_list(fetch, *cols.locator, [c[3] for c in cands]) if fetch else set()
    out = []
    t, c = cols.locator
    for s, e, text, v, strong in cands:
        ok = v in found
        if not ok and not strong:
            continue
        claims.take(s, e)
        line = (f"'{text}' is record locator '{v}' ({t}.{c} = '{v}')" if ok or not fetch else
                f"'{text}' looks like record locator '{v}' but no booking has it ({t}.{c} = '{v}')")
        out.append(Hint("locator", text, v, line, ok, s))
    return out
