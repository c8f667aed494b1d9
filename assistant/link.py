"""The value linker: before the model writes SQL, find in the question the values a small model gets
wrong (dates, record locators, ticket numbers, bag tags, flight designators, airports, countries,
passenger names) and resolve them to their stored forms. Each one becomes a `Hint` whose one-line
English `line` goes into the dynamic part of the prompt.

Schema-agnostic: every table and column name comes from the catalog (its `identifiers`, `airports`
and `subject`; a linker whose columns the catalog does not declare is simply off), place and country
words come from the catalog, and airport cities come from the airports table itself. Database checks
go through `fetch`, a read-only parameterised query function provided by the caller; every query is an
indexed lookup (primary/unique keys, the search-name index, DISTINCT on an index's leading column) so
the linker stays cheap on a million passengers. Reference lists (carriers, airports) are cached per
`fetch`.

Look-ups follow the asker's role (`role`): a value is looked up by a column only when the role may
filter on that column (`RolePolicy.may_look_up`: it sees the column's personal-data class in the
clear), the rule the SQL guard enforces on the model's queries. Otherwise no query runs at all (its
answer would tell whether such a person exists) and the look-up is reported in `LinkResult.denied`,
found by its shape alone, so the refusal does not depend on what the database holds.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from assistant.dates import resolve_dates
from assistant.lang import STOPWORDS, VOCAB, detect_language, fold, is_vocab, search_form, tokens

Fetch = Callable[[str, dict], list[tuple]]

MAX_HINTS = 12
MAX_NAME_QUERIES = 6
NAME_ROWS = 50
FUZZY_ROWS = 300
FUZZY_MIN = 85


@dataclass(frozen=True)
class Hint:
    # 'locator' | 'ticket' | 'bag' | 'flight' (the catalog's identifier kinds) | 'date' | 'date_range' |
    # 'airport' | 'route' | 'country' | 'passenger' | 'term' | 'value'
    kind: str
    text: str          # the span as typed
    value: object      # resolved stored value(s)
    line: str          # one English line for the prompt
    found: bool = True  # verified against the database (False: looks like one but no row matches)
    pos: int = field(default=-1, compare=False)
    matches: int = field(default=0, compare=False)   # passengers a name matched (`value` holds the first 5)
    via: tuple[str, ...] = field(default=(), compare=False)  # 'table.column's the value was looked up by


@dataclass(frozen=True)
class Denied:
    """A look-up the question asks for that the role may not make (`RolePolicy.may_look_up`): found by
    its shape alone ('Silvia Cortés', a passport number after 'pasaporte', an e-mail address); no
    query ran for it."""
    kind: str                  # 'name' | 'email' | 'phone' | 'document'
    text: str
    pos: int
    columns: tuple[str, ...]   # the 'table.column's it would be looked up by


@dataclass(frozen=True)
class LinkResult:
    lang: str
    hints: tuple[Hint, ...]
    denied: tuple[Denied, ...] = ()     # look-ups the role may not make: the question is to be refused

    def prompt_lines(self) -> list[str]:
        """The hint lines in question order, at most MAX_HINTS (the prompt has a token budget)."""
        return [h.line for h in self.hints[:MAX_HINTS]]


# --------------------------------------------------------------------------------------------------
# Where values live: derived from the catalog so another catalog/database switches linkers on or off.

@dataclass(frozen=True)
class _Cols:
    locator: tuple[str, str] | None               # table, column: the catalog's identifiers
    ticket: tuple[str, str] | None
    bag: tuple[str, str] | None
    flight: tuple[str, str, str] | None           # table, carrier column, number column
    airport: tuple[str, str, str] | None          # table, code, city: the catalog's airports
    airport_refs: tuple[str, ...]                 # columns holding airport codes ('table.column')
    person: tuple[str, str, str, tuple[str, ...]] | None  # table, id, search column, display columns
    person_refs: tuple[str, ...]                  # columns referencing the person id ('table.column')
    country_refs: tuple[str, ...]                 # columns holding ISO2 country codes
    # Columns of the person table a person is found by besides the name, per look-up kind ('email',
    # 'phone', 'document'): its contact and document columns, told apart by their names/descriptions.
    person_keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    person_noun: str = ""                         # what the person table's rows are, in English (plural)
    airport_noun: str = ""                        # the same for the airport table


def _columns(catalog) -> _Cols:
    """Where the values the linker resolves are stored, all from the catalog: its identifiers, its
    airport table, its subject (the person) and the descriptions of country columns. Each is optional:
    what the catalog does not declare is not linked."""
    def desc(c) -> str:
        return f"{c.description.en} {c.description.es}".lower()

    country_refs, person_refs = [], []
    person_table, person_key = catalog.subject_table, catalog.subject_key
    for t in catalog.exposed_tables.values():
        for c in t.columns.values():
            d = desc(c)
            if ("alpha-2" in d or "alfa-2" in d) and "iso" in d:
                country_refs.append(f"{t.name}.{c.name}")
            if person_table and c.name == person_key and t.name != person_table:
                person_refs.append(f"{t.name}.{c.name}")
    keys: dict[str, list[str]] = {}
    person = catalog.exposed_tables.get(person_table) if person_table else None
    for c in (person.columns.values() if person else ()):
        words = f"{c.name} {desc(c)}"
        for kind, (pii, pattern) in _PERSON_KEY_KINDS.items():
            if c.pii == pii and re.search(pattern, words):
                keys.setdefault(kind, []).append(c.name)
                break
    ids, ref = catalog.identifiers, catalog.airport_table
    return _Cols(
        locator=ids.get("locator"), ticket=ids.get("ticket"), bag=ids.get("bag"), flight=ids.get("flight"),
        airport=(ref.table, ref.code, ref.city) if ref else None,
        airport_refs=ref.refs if ref else (), country_refs=tuple(country_refs),
        person=((person_table, person_key, catalog.subject_search, catalog.subject_names)
                if person and catalog.subject_search else None),
        person_refs=tuple(person_refs),
        person_keys=tuple((k, tuple(v)) for k, v in keys.items()),
        person_noun=_noun(person),
        airport_noun=_noun(catalog.exposed_tables.get(ref.table) if ref else None),
    )


def _noun(table) -> str:
    """What one row of `table` is called in the plural, in English (for the prompt's hint lines)."""
    return (table.noun.en or table.name.replace("_", " ")) if table is not None else ""


# Look-up kinds by a person's contact or document: (catalog pii class, words in the column's name or
# description). 'frequent_flyer_number' is a document-class column too, but no document number.
_PERSON_KEY_KINDS = {
    "email": ("contact", r"e-?mail|correo"),
    "phone": ("contact", r"phone|tel[eé]fono"),
    "document": ("document", r"document|passport|pasaporte|identi"),
}


# --------------------------------------------------------------------------------------------------
# Reference data cached per fetch function (carriers, airports): read once, reused for every question.

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def clear_cache() -> None:
    """Forget cached reference data (tests; or after the reference tables change)."""
    _CACHE.clear()


def _cached(fetch: Fetch, key: str, load: Callable[[], object]):
    try:
        slot = _CACHE.setdefault(fetch, {})
    except TypeError:  # unhashable fetch: no caching
        return load()
    _CACHE.move_to_end(fetch)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    if key not in slot:
        slot[key] = load()
    return slot[key]


@dataclass(frozen=True)
class _Airports:
    codes: frozenset[str]                    # every code in the airports table
    served: frozenset[str]                   # codes with departures (the network)
    cities: dict[str, tuple[str, ...]]       # folded city -> served codes


def _airports(fetch: Fetch, cols: _Cols) -> _Airports:
    table, code, city = cols.airport
    departures = _directed_ref(cols, "from")

    def load() -> _Airports:
        rows = fetch(f"SELECT {code}, {city} FROM {table}", {})
        codes = frozenset(str(r[0]).strip().upper() for r in rows)
        served = codes
        if departures and len(codes) > 300:  # a full world list: the network is what has departures
            dep_table, dep_column = departures.split(".", 1)
            served = frozenset(str(r[0]).strip().upper()
                               for r in fetch(f"SELECT DISTINCT {dep_column} FROM {dep_table}", {}))
        cities: dict[str, list[str]] = {}
        for c, ci in rows:
            c = str(c).strip().upper()
            if c in served and ci:
                cities.setdefault(search_form(str(ci)), []).append(c)
        return _Airports(codes, served, {k: tuple(sorted(v)) for k, v in cities.items() if len(k) >= 4})

    return _cached(fetch, f"airport-codes:{table}", load)


def airport_cities(catalog, fetch: Fetch | None) -> dict[str, str]:
    """Airport code -> city as stored ('MEX' -> 'Mexico City'), read once per `fetch`; {} when the
    catalog has no airports table. For saying which airport a code is, never for matching."""
    cols = _columns(catalog)
    if not cols.airport or fetch is None:
        return {}
    table, code, city = cols.airport
    return _cached(fetch, f"airport-cities:{table}", lambda: {
        str(r[0]).strip().upper(): str(r[1]) for r in fetch(f"SELECT {code}, {city} FROM {table}", {}) if r[1]})


def airport_columns(catalog) -> tuple[str, ...]:
    """'table.column' of the columns holding airport codes, and the airports table's own code."""
    cols = _columns(catalog)
    own = (f"{cols.airport[0]}.{cols.airport[1]}",) if cols.airport else ()
    return own + cols.airport_refs


def _carriers(fetch: Fetch, cols: _Cols) -> frozenset[str]:
    table, carrier, _num = cols.flight
    return _cached(fetch, f"carriers:{table}", lambda: frozenset(
        str(r[0]).strip().upper() for r in fetch(f"SELECT DISTINCT {carrier} FROM {table}", {}) if r[0]))


def _in_list(fetch: Fetch, table: str, col: str, values: list[str]) -> set[str]:
    """Which of `values` exist in table.col: one primary/unique-key lookup."""
    if not values:
        return set()
    params = {f"v{i}": v for i, v in enumerate(values)}
    marks = ", ".join(f":{k}" for k in params)
    return {str(r[0]).strip() for r in fetch(f"SELECT {col} FROM {table} WHERE {col} IN ({marks})", params)}


# --------------------------------------------------------------------------------------------------
# Spans already claimed by a hint are not looked at again (a date inside a ticket number, a country
# inside a place name, a linked word inside a name).

class _Claims:
    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def free(self, s: int, e: int) -> bool:
        return not any(s < te and ts < e for ts, te in self.spans)

    def take(self, s: int, e: int) -> None:
        self.spans.append((s, e))


# --------------------------------------------------------------------------------------------------
# Identifiers

TICKET_RE = re.compile(r"(?<![\w-])(\d{3})[-\s]?(\d{10})(?![\w-])")
BAG_RE = re.compile(r"(?<![\w-])(\d{10})(?![\w-])")
LOCATOR_RE = re.compile(r"(?<![\w-])([A-Za-z2-9]{6})(?![\w-])")
FLIGHT_RE = re.compile(r"(?<![\w-])([A-Za-z][A-Za-z0-9]|[0-9][A-Za-z])[\s-]?(\d{1,4})(?![\w-])")
LOCATOR_CUE = re.compile(r"(?:localizador|pnr|locator|reserva|reservacion|booking|clave|codigo de reserva)[\s:#]*$")
BAG_CUE = re.compile(r"(?:maleta|equipaje|etiqueta|bag|tag|luggage)\w*\W+(?:\w+\W+){0,3}$")   # bag\w*: baggage


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


def _link_dates(q: str, claims: _Claims, today: date) -> list[Hint]:
    out = []
    for d in resolve_dates(q, today):
        if not claims.free(d.pos, d.endpos):
            continue
        claims.take(d.pos, d.endpos)
        kind = "date" if d.single_day else "date_range"
        value = d.start if d.single_day else (d.start, d.end)
        out.append(Hint(kind, d.text, value, d.describe(), True, d.pos))
    return out


# --------------------------------------------------------------------------------------------------
# Airports, routes, places and countries

IATA_RE = re.compile(r"(?<![\w-])([A-Za-z]{3})(?![\w])")
ROUTE_RE = re.compile(r"(?<![\w-])([A-Za-z]{3})\s*(?:-|–|—|/|>|->|→|to)\s*([A-Za-z]{3})(?![\w-])")


def _airport_code_ok(tok: str, ap: _Airports) -> bool:
    """An IATA code as typed: capitals for any airport of the table; lower case only for served
    airports that are not also an ordinary word ('mad', 'las', 'mia', 'ver', 'lim' stay words)."""
    code = tok.upper()
    if code not in ap.codes:
        return False
    if tok.isupper():
        return code in ap.served or tok.lower() not in STOPWORDS
    return code in ap.served and tok.lower() not in STOPWORDS | VOCAB | _LOWER_CODE_WORDS


_LOWER_CODE_WORDS = frozenset("""
mad mid lax bog ver mia las los del sal son con por sin mas mes dia ano hoy ayer the and for are was
not all any out via per day top bag app web usa eur usd mxn pnr ssr kg kgs pax fly max min avg sum
ice cue san sea car bus man men run art cat dog end era eve fan fee few fit gas gay gym hat her him
his hot job joy key kid law lay leg let lie low mom mud net new nor now odd off oil old one our own pay
pen pet pie pin pit pop pot pro put ran raw red rid row rub sad saw say see set she shy sir sit six ski
sky son spa sun tan tax tea ten tie tin tip toe ton too toy try two use van war way wet who why win
yes yet you zoo ida vez voy ver fue dos uno una eso esa ese
""".split())


def _ref_cols(cols: _Cols, direction: str | None = None) -> str:
    return _directed_ref(cols, direction) or (
        " / ".join(cols.airport_refs[:2]) if cols.airport_refs else "airport code columns")


# The word before a place says which end of a trip it is: "vuelos de Monterrey a Cancún", "from MEX",
# "sale mañana a Los Cabos", "out of Guadalajara". Spanish "de" after a noun that owns the place
# ("aeropuerto de Cancún", "ciudad de ...") says nothing, so those nouns cancel it.
_TO_WORDS = r"a|al|hacia|para|to|into|towards|destino|destination|llegan a|llegaron a|arriving in|arriving at"
_STRONG_FROM_WORDS = r"desde|from|out of|leaving|salen de|salieron de|departing"   # more than a bare 'de'
_FROM_WORDS = rf"de|del|{_STRONG_FROM_WORDS}"
_DIRECTION_RE = re.compile(rf"(?:^|\W)(?P<to>{_TO_WORDS})(?:\s+(?:la|el|los|las|the))?\s+$|"
                           rf"(?:^|\W)(?P<from>{_FROM_WORDS})(?:\s+(?:la|el|los|las|the))?\s+$")
_OWNER_BEFORE_DE = re.compile(r"(?:aeropuerto|aeropuertos|ciudad|estado|zona|hora|horario)\s+(?:de|del)\s+"
                              r"(?:la\s+|el\s+)?$")


def _direction(folded: str, start: int) -> str | None:
    """'to' or 'from' when the words right before a place say so, else None."""
    before = folded[max(0, start - 24):start]
    if _OWNER_BEFORE_DE.search(before):
        return None
    m = _DIRECTION_RE.search(before)
    if not m:
        return None
    return "to" if m.group("to") else "from"


def _strong_from(folded: str, start: int) -> bool:
    """'desde Madrid', 'from Spain', 'salen de ...': a from-word stronger than a bare 'de'."""
    return bool(re.search(rf"(?:^|\W)(?:{_STRONG_FROM_WORDS})(?:\s+(?:la|el|los|las|the))?\s+$",
                          folded[max(0, start - 24):start]))


def _directed_ref(cols: _Cols, direction: str | None) -> str | None:
    """The airport-code column for that end of a trip ('flights.destination'), found by its name."""
    if direction is None:
        return None
    keys = ("dest", "arriv", "to") if direction == "to" else ("orig", "depart", "from")
    for ref in cols.airport_refs:
        column = ref.rsplit(".", 1)[-1].lower()
        if any(column.startswith(k) for k in keys):
            return ref
    return None


def _country_trip(cols: _Cols, direction: str | None, code: str) -> str | None:
    """'vuelos a España': a trip's end is an airport code, so the country is the airport's. The model
    otherwise compares flights.destination with 'ES'. Only for a clear direction word ('a', 'to',
    'desde', 'from'): 'pasajeros de España' more likely means their nationality."""
    if direction not in ("to", "from_strong") or not cols.airport:
        return None
    ref = _directed_ref(cols, "to" if direction == "to" else "from")
    airport_table, code_col = cols.airport[0], cols.airport[1]
    country = next((c for c in cols.country_refs if c.split(".")[0] == airport_table), None)
    if not ref or not country:
        return None
    end = "destination" if direction == "to" else "origin"
    return (f"{end} country '{code}': JOIN {airport_table} ON {airport_table}.{code_col} = {ref} and filter "
            f"{country} = '{code}'")


def _link_places(q: str, claims: _Claims, cols: _Cols, catalog, fetch: Fetch | None) -> list[Hint]:
    """Routes ('MEX-CUN'), typed IATA codes, then place and country words (catalog places and
    countries, airport cities from the database), longest phrase first, accent/case-insensitive."""
    out: list[Hint] = []
    folded = fold(q)
    ap = _airports(fetch, cols) if (fetch and cols.airport) else None
    if ap:
        for m in ROUTE_RE.finditer(q):
            a, b = m.group(1), m.group(2)
            # 'MEX-CUN' / 'mex-mad': the notation itself says these are codes, so served airports
            # count in any case; 'X to Y' needs codes that pass the usual test.
            symbol = not re.search(r"\bto\b", m.group(), re.IGNORECASE)
            if claims.free(*m.span()) and all(
                    (symbol and c.upper() in ap.served) or _airport_code_ok(c, ap) for c in (a, b)):
                o, d = a.upper(), b.upper()
                claims.take(*m.span())
                out.append(Hint("route", m.group(), (o, d),
                                f"'{m.group()}' is the route origin '{o}' -> destination '{d}' (one direction)",
                                True, m.start()))
        for m in IATA_RE.finditer(q):
            if claims.free(*m.span()) and _airport_code_ok(m.group(1), ap):
                c = m.group(1).upper()
                claims.take(*m.span())
                ref = _directed_ref(cols, _direction(folded, m.start()))
                where = f"{ref} = '{c}'" if ref else _ref_cols(cols)
                out.append(Hint("airport", m.group(), c, f"'{m.group()}' is airport '{c}' ({where})",
                                True, m.start()))
    # Phrase dictionary: folded phrase -> (kind, value). Catalog first; DB cities fill the gaps.
    phrases: dict[str, tuple[str, object]] = {}
    if ap:
        for city, codes in ap.cities.items():
            phrases[city] = ("airport", codes if len(codes) > 1 else codes[0])
    for k, v in catalog.places.items():
        if ap is None or v in ap.codes:
            phrases[search_form(k)] = ("airport", v)
    if cols.country_refs or catalog.countries:
        for k, v in catalog.countries.items():
            phrases.setdefault(search_form(k), ("country", v))
    for phrase in sorted(phrases, key=len, reverse=True):
        if not phrase:
            continue
        pat = r"(?<![\w])" + r"\W+".join(re.escape(w) for w in phrase.split()) + r"(?![\w])"
        for m in re.finditer(pat, folded):
            if not claims.free(*m.span()):
                continue
            kind, value = phrases[phrase]
            text = q[m.start():m.end()]
            claims.take(*m.span())
            direction = _direction(folded, m.start())
            if kind == "country" and direction == "from" and _strong_from(folded, m.start()):
                direction = "from_strong"
            out.append(_place_hint(kind, text, value, cols, m.start(), direction))
    return out


def _place_hint(kind: str, text: str, value, cols: _Cols, pos: int, direction: str | None = None) -> Hint:
    if kind == "country":
        trip = _country_trip(cols, direction, value)
        if trip:
            return Hint("country", text, value, f"'{text}' = {trip}", True, pos)
        where = ", ".join(f"{c} = '{value}'" for c in cols.country_refs[:3]) or f"country code '{value}'"
        return Hint("country", text, value, f"'{text}' = country '{value}' (ISO2: {where})", True, pos)
    if isinstance(value, tuple):
        codes = ", ".join(f"'{c}'" for c in value)
        return Hint("airport", text, value,
                    f"'{text}' = {cols.airport_noun} {codes} ({_ref_cols(cols, direction)} IN ({codes}))", True, pos)
    return Hint("airport", text, value, f"'{text}' = airport '{value}' ({_ref_cols(cols, direction)} = '{value}')",
                True, pos)


# --------------------------------------------------------------------------------------------------
# Passenger names

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


# --------------------------------------------------------------------------------------------------

def link(question: str, *, catalog, today: date, fetch: Fetch | None,
         values: Mapping[tuple[str, str], Sequence[str]] | None = None, role: str | None = None) -> LinkResult:
    """Find and resolve the values in `question`. With fetch None nothing is checked against the
    database: identifiers get found=False, flights, airports codes and names are skipped (they need
    the database to tell a code from a word). `values` are the stored values of small categorical
    columns ((table, column) -> values), as the caller already read them for the prompt.

    With `role`, a value is looked up only by columns that role may filter on
    (`RolePolicy.may_look_up`); the look-ups it may not make are in the result's `denied`. Without a
    role nothing is withheld (the owner's view: training data, tests of the linker itself).

    The question is read in its NFKC form (full-width '２２９Ｌ５Ｕ' is '229L5U'); hint texts and
    positions refer to that form, which leaves composed accents ('José') as they are."""
    question = unicodedata.normalize("NFKC", question)
    policy = catalog.role(role) if role is not None else None

    def may(*refs: str) -> bool:
        if policy is None:
            return True
        infos = [catalog.column(*ref.split(".", 1)) for ref in refs]
        return all(info is not None and policy.may_look_up(info.pii) for info in infos)

    cols = _columns(catalog)
    claims = _Claims()
    denied: list[Denied] = []

    def by(ref: tuple | None) -> Fetch | None:
        """`fetch` for a linker whose column the role may look records up by, else None (no query)."""
        return fetch if ref is None or may(f"{ref[0]}.{ref[1]}") else None

    hints: list[Hint] = []
    hints += _link_person_keys(question, claims, cols, fetch, may, denied)
    hints += _link_tickets(question, claims, cols, by(cols.ticket))
    hints += _link_bags(question, claims, cols, by(cols.bag))
    hints += _link_dates_first_iso(question, claims, today)
    hints += _link_flights(question, claims, cols, fetch if cols.flight is None or may(
        *(f"{cols.flight[0]}.{c}" for c in cols.flight[1:])) else None)
    hints += _link_locators(question, claims, cols, by(cols.locator))
    hints += _link_dates(question, claims, today)
    hints += _link_places(question, claims, cols, catalog, fetch)
    named_tables = table_words(catalog)
    hints += _link_terms(question, claims, catalog, named_tables)
    hints += _link_values(question, claims, catalog, values or {}, hints, named_tables)
    hints += _link_names(question, claims, cols, catalog, fetch, may, denied)
    hints = _without_broader_terms(hints)
    hints.sort(key=lambda h: h.pos)
    return LinkResult(detect_language(question), tuple(hints[:MAX_HINTS]),
                      tuple(sorted(denied, key=lambda d: d.pos)))


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


def _link_dates_first_iso(q: str, claims: _Claims, today: date) -> list[Hint]:
    """Numeric dates ('2026-06-20', '20/06/2026') before designators, so '2026-06' never reads as a
    flight or '06/20' as anything else."""
    out = []
    for d in resolve_dates(q, today):
        if re.fullmatch(r"[\d/.\-\s]+", d.text) and claims.free(d.pos, d.endpos):
            claims.take(d.pos, d.endpos)
            kind = "date" if d.single_day else "date_range"
            out.append(Hint(kind, d.text, d.start if d.single_day else (d.start, d.end), d.describe(), True, d.pos))
    return out
