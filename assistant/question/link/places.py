"""Airports, routes, places and countries: typed IATA codes and routes ('MEX-CUN'), airport cities read
from the airports table, the catalog's place and country words; the word before a place says which end
of a trip it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.question.lang import STOPWORDS, VOCAB, fold, search_form
from assistant.question.link.columns import _cached, _Cols, _columns
from assistant.question.link.hints import Fetch, Hint, _Claims


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
