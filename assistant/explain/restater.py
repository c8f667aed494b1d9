"""What a query computed, said in the asker's language and built from the SQL that ran, never by the
model: what is counted or listed, every filter, the grouping, the order and the limit, plus human
labels for the result's columns.

Staff cannot read SQL, and a small model's wrong answer looks exactly like a right one: "9" says
nothing of which flights, which day or what was counted. The restatement lets them check. It is
deterministic: each part comes from one node of the checked tree and the catalog's words (column
labels, table nouns, value words, place names), and a construct this module does not know is
reported as such ("not restated: …, see the SQL") instead of being guessed at.

Counting follows the joins: `COUNT(*)` over flights joined to their coupons counts coupons, because a
join to a table that references the current one multiplies the rows; a join along a foreign key to
the table it references does not (`JoinGraph`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlglot
from sqlglot import exp

from assistant.joinfix import JoinGraph
from db.catalog import short_description

MONTHS = {"es": "ene feb mar abr may jun jul ago sep oct nov dic".split(),
          "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_SMALL_WORDS = frozenset("de del la las los el y e da do dos das of the".split())
_W = {  # the few words the restatement itself needs, per language
    "es": dict(number="número de", distinct="distintos", distinct_f="distintas", sum="suma de", avg="promedio de",
               min="mínimo de", max="máximo de", rows="filas", where="donde", by="por", and_="y", or_="o",
               list="lista de", is_="es", is_not="no es", gt="mayor que", gte="al menos", lt="menor que",
               lte="como mucho", on="el", since="desde el", after="después del", before="antes del",
               until="hasta el", between="entre", with_="con", without="sin", contains="contiene",
               starts="empieza por", ends="termina en", matches="se parece a", not_="no", order="ordenado por",
               desc="de mayor a menor", asc="de menor a mayor", first="primeros", one_row="solo la primera fila",
               unique="sin repetir", having="solo grupos con", flight="vuelo", combos="combinaciones de",
               count_if="número de {noun} con {cond}", not_restated="No se pudo describir", see_sql="ver el SQL",
               computed="una expresión calculada", subquery="una subconsulta", one_of="es uno de",
               year="año de", month="mes de", day="fecha de", hour="hora de", weekday="día de la semana de",
               passenger="pasajero", rounded="redondeado", filled="{a}, o {b} si está vacío",
               same_as="igual a", differs="distinto de", later="posterior a", earlier="anterior a",
               at_least="igual o posterior a", at_most="igual o anterior a", of_the="de las",
               share_if="proporción de {noun} con {cond}", percent="porcentaje: {a} sobre {b}",
               span="{unit} de {a} a {b}", seconds="segundos", minutes="minutos", hours="horas", days="días",
               result="resultado", in_="está en", not_in="no está en", empty="no tiene valor",
               not_empty="tiene valor"),
    "en": dict(number="number of", distinct="distinct", distinct_f="distinct", sum="total", avg="average",
               min="minimum", max="maximum", rows="rows", where="where", by="by", and_="and", or_="or",
               list="list of", is_="is", is_not="is not", gt="more than", gte="at least", lt="less than",
               lte="at most", on="on", since="from", after="after", before="before", until="until",
               between="between", with_="with", without="without", contains="contains", starts="starts with",
               ends="ends with", matches="matches", not_="not", order="ordered by", desc="highest first",
               asc="lowest first", first="first", one_row="the first row only", unique="without repeats",
               having="only groups with", flight="flight", combos="combinations of",
               count_if="number of {noun} with {cond}", not_restated="Not restated", see_sql="see the SQL",
               computed="a computed expression", subquery="a subquery", one_of="is one of",
               year="year of", month="month of", day="date of", hour="hour of", weekday="weekday of",
               passenger="passenger", rounded="rounded", filled="{a}, or {b} when empty",
               same_as="equal to", differs="different from", later="later than", earlier="earlier than",
               at_least="at or after", at_most="at or before", of_the="of the",
               share_if="share of {noun} with {cond}", percent="percentage: {a} out of {b}",
               span="{unit} from {a} to {b}", seconds="seconds", minutes="minutes", hours="hours", days="days",
               result="result", in_="is in", not_in="is not in", empty="is empty", not_empty="is not empty"),
}
_AGG = {exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max"}
_CMP = {exp.EQ: "is_", exp.NEQ: "is_not", exp.GT: "gt", exp.GTE: "gte", exp.LT: "lt", exp.LTE: "lte"}
_CMP_TIME = {exp.EQ: "on", exp.GTE: "since", exp.GT: "after", exp.LT: "before", exp.LTE: "until"}
_CMP_COLS = {exp.EQ: "same_as", exp.NEQ: "differs", exp.GT: "later", exp.LT: "earlier", exp.GTE: "at_least",
             exp.LTE: "at_most"}
_FLIP = {exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE, exp.EQ: exp.EQ, exp.NEQ: exp.NEQ}


class _Unknown(Exception):
    """A construct the restater does not know: its part is reported, not guessed."""


@dataclass(frozen=True)
class Restatement:
    lang: str
    measures: tuple[str, ...]
    filters: tuple[str, ...] = ()
    grouping: tuple[str, ...] = ()
    having: tuple[str, ...] = ()
    order: str = ""
    unique: bool = False
    not_restated: tuple[str, ...] = ()
    labels: tuple[str, ...] = field(default=(), compare=False)   # one per output column
    additive: tuple[bool, ...] = field(default=(), compare=False)  # a COUNT or SUM: its rows add up
    aggregated: tuple[bool, ...] = field(default=(), compare=False)  # a measure, not a group key

    @property
    def complete(self) -> bool:
        return not self.not_restated

    def text(self) -> str:
        w = _W[self.lang]
        head = _join(self.measures, w["and_"]) or (w["result"] if self.not_restated else w["rows"])
        parts = [head]
        if self.unique:
            parts[0] += f" ({w['unique']})"
        if self.grouping:
            parts.append(f"{w['by']} {_join(self.grouping, w['and_'])}")
        if self.filters:
            parts.append(f"{w['where']} {_join(self.filters, w['and_'])}")
        if self.having:
            parts.append(f"{w['having']} {_join(self.having, w['and_'])}")
        if self.order:
            parts.append(self.order)
        out = _capital(", ".join(parts)) + "."
        if self.not_restated:
            out += f" {w['not_restated']}: {'; '.join(self.not_restated)} ({w['see_sql']})."
        return out

    def to_dict(self) -> dict:
        return {"text": self.text(), "measures": list(self.measures), "filters": list(self.filters),
                "grouping": list(self.grouping), "having": list(self.having), "order": self.order,
                "not_restated": list(self.not_restated), "complete": self.complete}


def _join(items: Sequence[str], and_: str) -> str:
    items = [i for i in items if i]
    return items[0] if len(items) == 1 else (", ".join(items[:-1]) + f" {and_} " + items[-1] if items else "")


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


# --------------------------------------------------------------------------------------------------
# the catalog's words


class Words:
    """Labels, nouns, value words and place names for one catalog, built once per assistant.

    `places` maps an airport code to its city as the airports table stores it (English); the Spanish
    name comes from the catalog's place words when it has one."""

    def __init__(self, catalog, graph: JoinGraph | None = None, places: Mapping[str, str] | None = None,
                 airport_columns: Sequence[str] = (), keys: Mapping[str, str] | None = None):
        self.catalog = catalog
        self.graph = graph
        self.keys = {t: k.lower() for t, k in (keys or {}).items()}     # table -> its one-column primary key
        self.places = dict(places or {})
        self.airport_columns = {c.lower() for c in airport_columns}
        self._es_places: dict[str, str] = {}
        for word, code in catalog.places.items():
            self._es_places.setdefault(code, _title(word))
        self._value_words: dict[str, str] = {}
        for word, meaning in catalog.all_terms.items():
            self._value_words.setdefault(" ".join(meaning.split()).lower(), word)
        flight = catalog.identifiers.get("flight")
        # The carrier and number columns of a flight designator ('vuelo XA401'), from the catalog.
        self.designator = (flight[1].lower(), flight[2].lower()) if flight else None
        # The person's id (the catalog's subject key): its values are said as 'n.º 512'.
        self.person_key = (catalog.subject_key or "").lower()

    def label(self, table: str | None, column: str, lang: str) -> str:
        """'Tarifa', 'Estado del cupón': the catalog's label, else its description up to the first
        clarification, else the column name."""
        info = self.catalog.column(table, column) if table else None
        if info is not None and info.short_label(lang):
            return info.short_label(lang)
        return column.replace("_", " ")

    def noun(self, table: str | None, lang: str) -> str:
        t = self.catalog.exposed_tables.get(table or "")
        if t is None:
            return _W[lang]["rows"]
        return t.noun.get(lang) or short_description(t.description.get(lang)).lower() or table.replace("_", " ")

    def value(self, table: str | None, column: str, value, lang: str) -> str:
        """A stored value as staff say it: 'volado (flown)', 'MEX (Ciudad de México)', '14 jun 2026'."""
        if value is None:
            return "NULL"
        text = str(value)
        if isinstance(value, str) and (_DAY.match(text) or _STAMP.match(text)):
            return format_date(text, lang)
        if (f"{table}.{column}".lower() in self.airport_columns) and text in self.places:
            city = self._es_places.get(text) if lang == "es" else None
            return f"{text} ({city or self.places[text]})"
        if lang == "es" and isinstance(value, str):
            for key in (f"{table}.{column} = '{text}'", f"{column} = '{text}'"):
                word = self._value_words.get(key.lower())
                if word and word.lower() != text.lower():
                    return f"{word} ({text})"
        return text

    def references(self, table: str | None, column: str) -> str | None:
        """The table a foreign key column points to ('tickets.passenger_id' -> 'passengers')."""
        if self.graph is None or not table:
            return None
        ref = self.graph.reference(table, column)
        return ref[0] if ref else None

    def is_key(self, table: str | None, column: str) -> bool:
        """True for the column that identifies `table`'s rows: its primary key, or the key foreign keys
        reference."""
        if not table:
            return False
        return self.keys.get(table) == column.lower() or (
            self.graph is not None and self.graph.referenced_key(table, column) == column)


def _title(word: str) -> str:
    return " ".join(w if w in _SMALL_WORDS and i else w[:1].upper() + w[1:] for i, w in enumerate(word.split()))


def format_date(text: str, lang: str) -> str:
    """'2026-06-14' -> '14 jun 2026' (es) / '14 Jun 2026' (en); a time of day is kept."""
    d = _parse_day(text)
    if d is None:
        return text
    out = f"{d.day} {MONTHS[lang][d.month - 1]} {d.year}"
    clock = text[11:].strip()
    return f"{out} {clock[:5]}" if clock and clock.strip("0:.") else out


def _parse_day(text: str) -> date | None:
    try:
        return datetime.strptime(text[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def format_range(first: date, last: date, lang: str) -> str:
    """'del 8 al 14 jun 2026' / '8-14 Jun 2026'; months and years written only where they change."""
    m = MONTHS[lang]
    if first == last:
        return (f"el {first.day} {m[first.month - 1]} {first.year}" if lang == "es"
                else f"on {first.day} {m[first.month - 1]} {first.year}")
    if (first.year, first.month) == (last.year, last.month):
        a, b = f"{first.day}", f"{last.day} {m[last.month - 1]} {last.year}"
    elif first.year == last.year:
        a, b = f"{first.day} {m[first.month - 1]}", f"{last.day} {m[last.month - 1]} {last.year}"
    else:
        a, b = f"{first.day} {m[first.month - 1]} {first.year}", f"{last.day} {m[last.month - 1]} {last.year}"
    return f"del {a} al {b}" if lang == "es" else f"from {a} to {b}"


# --------------------------------------------------------------------------------------------------
# the restater


def restate(sql: str, dialect: str, words: Words, lang: str, *, injected_limit: int | None = None,
            hidden: int | None = None, strict: bool = False) -> Restatement:
    """The restatement of `sql` (the guard's output) in `lang`. Never raises: an unreadable statement
    is one 'not restated' part. `injected_limit` is the row cap the guard added (not the asker's);
    `hidden` the index of an output column the guard added and the user never sees (the subject key)."""
    lang = "es" if lang == "es" else "en"
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return Restatement(lang, (), not_restated=(_W[lang]["computed"],))
    try:
        return _Restater(words, lang, dialect, injected_limit, hidden).statement(tree)
    except Exception:
        if strict:     # tests: a bug is a failure, not a quiet 'not restated'
            raise
        return Restatement(lang, (), not_restated=(_W[lang]["computed"],))


class _Restater:
    def __init__(self, words: Words, lang: str, dialect: str, injected_limit: int | None, hidden: int | None):
        self.words, self.lang, self.dialect, self.injected = words, lang, dialect, injected_limit
        self.hidden = hidden
        self.w = _W[lang]
        self.tables: dict[str, str] = {}
        self.unknown: list[str] = []

    # statement level ---------------------------------------------------------------------------

    def statement(self, tree: exp.Expression) -> Restatement:
        if tree.args.get("with"):
            self.unknown.append(f"{self.w['subquery']} (WITH)")
        select = tree if isinstance(tree, exp.Select) else None
        if select is None:
            return Restatement(self.lang, (), not_restated=(f"{self.w['computed']}: {type(tree).__name__.upper()}",))
        from_ = select.args.get("from") or select.args.get("from_")
        sources = [from_.this] if from_ is not None else []
        sources += [j.this for j in select.args.get("joins") or []]
        for s in sources:
            if isinstance(s, exp.Table):
                self.tables[s.alias_or_name] = s.name
            else:
                self.unknown.append(self.w["subquery"])
        grain = self._grain(select)
        measures, labels = [], []
        shown = [e for i, e in enumerate(select.expressions) if i != self.hidden]
        for e in shown:
            inner = e.this if isinstance(e, exp.Alias) else e
            try:
                text = self.expression(inner, grain)
            except _Unknown as why:
                self.unknown.append(f"{self.w['computed']} «{e.alias_or_name or inner.sql(self.dialect)}»"
                                    + (f" ({why})" if str(why) else ""))
                text = None
            labels.append(_capital(text) if text else _pretty_alias(e, self.dialect))
            if text:
                measures.append(text)
        aggregated = any(e.find(exp.AggFunc) for e in select.expressions)
        group = select.args.get("group")
        if aggregated and group:   # 'Número de maletas, por destino', not 'Destino y número de maletas, por destino'
            keys = {g.sql(self.dialect).lower() for g in group.expressions}
            measures = [m for m, e in zip(measures, shown) if not (
                (e.this if isinstance(e, exp.Alias) else e).sql(self.dialect).lower() in keys
                or e.alias.lower() in keys)] if len(measures) == len(shown) else measures
        if not aggregated and measures:
            # A list names what it lists: the one table all its columns come from (DISTINCT locators read
            # through coupons list bookings), else what one row of the FROM clause stands for.
            owners = {self.tables.get(c.table) if c.table else (grain if isinstance(grain, str) else None)
                      for e in shown for c in e.find_all(exp.Column)}
            listed = next(iter(owners)) if len(owners) == 1 and None not in owners else grain
            noun = self.words.noun(listed, self.lang) if isinstance(listed, str) else self.w["rows"]
            measures = [f"{self.w['list']} {noun} ({', '.join(measures)})"]
        filters = []
        where = select.args.get("where")
        if where is not None:
            filters += self.conditions(where.this)
        for j in select.args.get("joins") or []:
            on = j.args.get("on")
            if on is not None:
                filters += self.conditions(on, joins_only=True)
        grouping = []
        outputs = {e.alias.lower(): e.this for e in select.expressions if isinstance(e, exp.Alias)}
        for g in (group.expressions if group else []):
            if isinstance(g, exp.Column) and not g.table and g.name.lower() in outputs:
                g = outputs[g.name.lower()]
            elif isinstance(g, exp.Literal) and g.is_int and 0 < int(g.this) <= len(select.expressions):
                g = select.expressions[int(g.this) - 1]
                g = g.this if isinstance(g, exp.Alias) else g
            try:
                grouping.append(self.expression(g, grain))
            except _Unknown:
                self.unknown.append(f"{self.w['by']} «{g.sql(self.dialect)}»")
        having = []
        if select.args.get("having") is not None:
            having = self.conditions(select.args["having"].this, grain=grain)
        return Restatement(self.lang, tuple(measures), tuple(filters), tuple(grouping), tuple(having),
                           self.order(select, grain), bool(select.args.get("distinct")) and not aggregated,
                           tuple(dict.fromkeys(self.unknown)), tuple(labels),
                           tuple(_is_total(e.this if isinstance(e, exp.Alias) else e) for e in shown),
                           tuple(bool(e.find(exp.AggFunc)) for e in shown))

    def _grain(self, select: exp.Select) -> str | tuple[str, ...] | None:
        """The table whose rows one row of the FROM clause stands for: a join to a table that references
        the current grain moves the grain to it (one flight, many coupons); a join to a table the grain
        references keeps it. Two independent fan-outs: a tuple (rows are combinations)."""
        from_ = select.args.get("from") or select.args.get("from_")
        if from_ is None or not isinstance(from_.this, exp.Table):
            return None
        grains = [from_.this.name]
        seen = {from_.this.alias_or_name: from_.this.name}
        for j in select.args.get("joins") or []:
            if not isinstance(j.this, exp.Table):
                return None
            new, alias = j.this.name, j.this.alias_or_name
            many = self._joins_as_child(j, alias, new, seen)
            seen[alias] = new
            if many is None:                       # no key relates them: every pair is a row
                grains.append(new)
            elif many:
                if any(g in many for g in grains):
                    grains = [new if g in many else g for g in grains]
                else:
                    grains.append(new)
        grains = list(dict.fromkeys(grains))
        return grains[0] if len(grains) == 1 else tuple(grains)

    def _joins_as_child(self, join: exp.Join, alias: str, table: str, seen: Mapping[str, str]) -> set[str] | None:
        """The tables already in the FROM clause that `table` references through the join's keys (it
        is their child: one of their rows, many of its rows); empty when it is their parent (no
        fan-out); None when no column equality relates it to them (a cross join)."""
        on = join.args.get("on")
        parents: set[str] = set()
        related = False
        if on is None:
            return None
        for eq in on.find_all(exp.EQ):
            a, b = eq.this, eq.expression
            if not (isinstance(a, exp.Column) and isinstance(b, exp.Column)):
                continue
            if b.table == alias:
                a, b = b, a
            if a.table != alias or b.table not in seen:
                continue
            related = True
            other = seen[b.table]
            if self.words.references(table, a.name) == other:
                parents.add(other)          # the new table points at `other`: it is the child
            elif self.words.references(other, b.name) == table:
                return set()                # `other` points at the new table: many-to-one, no fan-out
            else:
                parents.add(other)
        return parents if related else None

    # expressions -------------------------------------------------------------------------------

    def column(self, col: exp.Column) -> tuple[str | None, str]:
        table = self.tables.get(col.table) if col.table else (next(iter(self.tables.values()))
                                                                if len(self.tables) == 1 else None)
        if col.table and table is None:
            raise _Unknown(col.sql(self.dialect))
        return table, col.name

    def expression(self, e: exp.Expression, grain=None) -> str:
        w, lang = self.w, self.lang
        if isinstance(e, exp.Paren):
            return self.expression(e.this, grain)
        if isinstance(e, exp.Column):
            if isinstance(e.this, exp.Star):
                raise _Unknown("*")
            table, name = self.column(e)
            return _lower_first(self.words.label(table, name, lang))
        if isinstance(e, exp.Count):
            return self._count(e, grain)
        for kind, word in _AGG.items():
            if isinstance(e, kind):
                inner = e.this
                flag = _flag(inner)
                if flag is not None and word in ("sum", "avg"):
                    noun = self.words.noun(grain, lang) if isinstance(grain, str) else w["rows"]
                    cond = _join(self.conditions(flag), w["and_"])
                    return w["count_if" if word == "sum" else "share_if"].format(noun=noun, cond=cond)
                if isinstance(inner, exp.Case):
                    raise _Unknown("CASE")
                return f"{w[word]} {self.expression(inner, grain)}"
        if isinstance(e, exp.Round):
            digits = e.args.get("decimals")
            base = self.expression(e.this, grain)
            return base + (f" ({w['rounded']}, {digits.sql()})" if isinstance(digits, exp.Literal) else "")
        if isinstance(e, (exp.Cast, exp.TryCast, exp.TsOrDsToTimestamp, exp.Lower, exp.Upper)) \
                and not _is_date_call(e):
            return self.expression(e.this, grain)      # case folding: the comparison shows the value
        if isinstance(e, exp.Interval) and isinstance(e.this, exp.Literal):
            unit = e.args.get("unit")
            return f"{e.this.this} {unit.name.lower() if unit is not None else ''}".strip().lower()
        span = _time_between(e)
        if span:
            unit, late, early = span
            return w["span"].format(unit=w[unit], a=self.expression(early, grain), b=self.expression(late, grain))
        if isinstance(e, (exp.Mul, exp.Div, exp.Add, exp.Sub)):
            return self._arithmetic(e, grain)
        if isinstance(e, (exp.Coalesce,)) and len(e.expressions) == 1:
            return w["filled"].format(a=self.expression(e.this, grain), b=self.literal_or_expr(e.expressions[0], grain))
        part = _date_part(e)
        if part:
            unit, inner = part
            return f"{w[unit]} {self.expression(inner, grain)}"
        if isinstance(e, (exp.DPipe, exp.Concat)):
            pieces = [p for p in e.flatten() if not isinstance(p, exp.Literal)] if isinstance(e, exp.DPipe) \
                else [p for p in e.expressions if not isinstance(p, exp.Literal)]
            return " + ".join(self.expression(p, grain) for p in pieces)
        if isinstance(e, exp.Literal):
            return e.this
        if isinstance(e, (exp.Subquery, exp.Select)):
            return self.nested(e.this if isinstance(e, exp.Subquery) else e)
        raise _Unknown()

    def nested(self, select: exp.Expression) -> str:
        """A subquery said in the same words, in parentheses; any part it cannot say makes the whole
        condition 'not restated' (half a subquery would mislead)."""
        inner = _Restater(self.words, self.lang, self.dialect, None, None).statement(select)
        if not inner.complete:
            raise _Unknown()
        text = inner.text().rstrip(".")
        return "(" + text[:1].lower() + text[1:] + ")"

    def _arithmetic(self, e: exp.Expression, grain) -> str:
        """Exact arithmetic in words: a percentage 100 × A / B is 'percentage: A out of B'."""
        w = self.w
        if isinstance(e, exp.Div):
            top = e.this.this if isinstance(e.this, exp.Paren) else e.this
            if isinstance(top, exp.Mul) and _is_hundred(top.this):
                return w["percent"].format(a=self.expression(top.expression, grain), b=self.expression(e.expression, grain))
        if isinstance(e, exp.Mul) and _is_hundred(e.this):
            inner = e.expression.this if isinstance(e.expression, exp.Paren) else e.expression
            if isinstance(inner, exp.Div):
                return w["percent"].format(a=self.expression(inner.this, grain), b=self.expression(inner.expression, grain))
        sign = {exp.Mul: "×", exp.Div: "/", exp.Add: "+", exp.Sub: "−"}[type(e)]
        a = self.expression(e.this, grain)
        b = self.expression(e.expression, grain)
        return f"({a} {sign} {b})"

    def literal_or_expr(self, e: exp.Expression, grain) -> str:
        return e.this if isinstance(e, exp.Literal) else self.expression(e, grain)

    def _count(self, e: exp.Count, grain) -> str:
        w, lang = self.w, self.lang
        arg = e.this
        distinct = isinstance(arg, exp.Distinct)
        if distinct:
            if len(arg.expressions) != 1:
                raise _Unknown("COUNT(DISTINCT …)")
            arg = arg.expressions[0]
        if arg is None or isinstance(arg, exp.Star):
            if isinstance(grain, tuple):
                return f"{w['number']} {w['combos']} " + f" {w['and_']} ".join(self.words.noun(g, lang) for g in grain)
            return f"{w['number']} {self.words.noun(grain, lang)}"
        if isinstance(arg, exp.Column):
            table, name = self.column(arg)
            ref = self.words.references(table, name)
            if distinct and (ref or self.words.is_key(table, name)):
                noun = self.words.noun(ref or table, lang)
                if lang != "es":
                    return f"{w['number']} distinct {noun}"
                return f"{w['number']} {noun} {_distinct_word(noun, lang)}"
            label = self.expression(arg, grain)
            if distinct:
                return (f"número de valores distintos de {label}" if lang == "es"
                        else f"number of distinct {label} values")
            noun = self.words.noun(grain, lang) if isinstance(grain, str) else w["rows"]
            return f"{w['number']} {noun} {w['with_']} {label}"
        if isinstance(arg, exp.Case) and len(arg.args.get("ifs") or []) == 1 and not distinct:
            cond = self.conditions(arg.args["ifs"][0].this)
            noun = self.words.noun(grain, lang) if isinstance(grain, str) else w["rows"]
            return w["count_if"].format(noun=noun, cond=_join(cond, w["and_"]))
        raise _Unknown("COUNT")

    # conditions --------------------------------------------------------------------------------

    def conditions(self, e: exp.Expression, *, joins_only: bool = False, grain=None) -> list[str]:
        """One phrase per conjunct of `e`; the keys a join matches on are mechanics, not filters."""
        conj = list(e.flatten()) if isinstance(e, exp.And) else [e]
        out: list[tuple[int, str]] = []
        used: set[int] = set()
        out += self._designators(conj, used)
        out += self._ranges(conj, used)
        for i, c in enumerate(conj):
            if i in used:
                continue
            if _is_key_match(c):
                continue
            try:
                out.append((i, self.condition(c, grain)))
            except _Unknown:
                self.unknown.append(f"{self.w['where']} «{c.sql(self.dialect)}»")
        return [text for _i, text in sorted(out)]

    def _designators(self, conj: list[exp.Expression], used: set[int]) -> list[tuple[int, str]]:
        """carrier = 'XA' AND number = 401 on one table, the catalog's flight identifier: 'vuelo XA401'."""
        carriers, numbers = {}, {}
        if self.words.designator is None:
            return []
        carrier_column, number_column = self.words.designator
        for i, c in enumerate(conj):
            if isinstance(c, exp.EQ) and isinstance(c.this, exp.Column) and isinstance(c.expression, exp.Literal):
                if c.this.name.lower() == carrier_column:
                    carriers[c.this.table] = (i, c.expression.this)
                elif c.this.name.lower() == number_column:
                    numbers[c.this.table] = (i, c.expression.this)
        out = []
        for alias, (i, carrier) in carriers.items():
            if alias in numbers:
                j, number = numbers[alias]
                used.update((i, j))
                out.append((min(i, j), f"{self.w['flight']} {carrier}{number}"))
        return out

    def _ranges(self, conj: list[exp.Expression], used: set[int]) -> list[tuple[int, str]]:
        """`col >= '2026-06-08' AND col < '2026-06-15'` (the day-range form): 'del 8 al 14 jun 2026'."""
        lows, highs = {}, {}
        for i, c in enumerate(conj):
            if i in used or not isinstance(c, (exp.GTE, exp.GT, exp.LT, exp.LTE)):
                continue
            left, right, kind = c.this, c.expression, type(c)
            if isinstance(left, exp.Literal):
                left, right, kind = right, left, _FLIP[kind]
            day = _literal_day(right)
            if day is None or isinstance(left, exp.Literal):
                continue
            key = left.sql(self.dialect)
            if kind is exp.GTE:
                lows[key] = (i, left, day)
            elif kind is exp.LT and right.this[10:].strip(" T0:") == "":
                highs[key] = (i, left, day - timedelta(days=1))
            elif kind is exp.LTE and len(right.this) == 10:
                highs[key] = (i, left, day)
        out = []
        for key, (i, left, first) in lows.items():
            if key in highs and highs[key][2] >= first:
                j, _, last = highs[key]
                try:
                    what = self._day_subject(left)
                except _Unknown:
                    continue
                used.update((i, j))
                out.append((min(i, j), f"{what} {format_range(first, last, self.lang)}"))
        return out

    def _day_subject(self, e: exp.Expression) -> str:
        inner = e.this if isinstance(e, (exp.Date, exp.DateTrunc, exp.TsOrDsToDate)) or _is_date_call(e) else e
        if _is_date_call(e):
            inner = e.expressions[0] if isinstance(e, exp.Anonymous) else e.this
        return self.expression(inner)

    def condition(self, c: exp.Expression, grain=None) -> str:
        w = self.w
        if isinstance(c, exp.Paren):
            return self.condition(c.this, grain)
        if isinstance(c, exp.Or):
            return "(" + f" {w['or_']} ".join(self.condition(p, grain) for p in c.flatten()) + ")"
        if isinstance(c, exp.And):
            return _join(self.conditions(c, grain=grain), w["and_"])
        if isinstance(c, exp.Not):
            inner = c.this
            if isinstance(inner, exp.Is):
                return f"{self.expression(inner.this, grain)} {w['not_empty']}"
            if isinstance(inner, exp.In):
                return self._in(inner, negated=True, grain=grain)
            if isinstance(inner, (exp.Like, exp.ILike)):
                return f"{w['not_']} " + self._like(inner, grain)
            return f"{w['not_']} ({self.condition(inner, grain)})"
        if isinstance(c, exp.Is):
            return f"{self.expression(c.this, grain)} {w['empty']}"
        if isinstance(c, exp.In):
            return self._in(c, negated=False, grain=grain)
        if isinstance(c, (exp.Like, exp.ILike)):
            return self._like(c, grain)
        if isinstance(c, exp.Between):
            low, high = c.args.get("low"), c.args.get("high")
            d1, d2 = _literal_day(low), _literal_day(high)
            if d1 and d2 and len(high.this) == 10:
                return f"{self._day_subject(c.this)} {format_range(d1, d2, self.lang)}"
            return (f"{self.expression(c.this, grain)} {w['between']} {self._value(c.this, low)} "
                    f"{w['and_']} {self._value(c.this, high)}")
        if type(c) in _CMP:
            left, right, kind = c.this, c.expression, type(c)
            if isinstance(left, exp.Literal) or (isinstance(left, exp.Neg) and isinstance(left.this, exp.Literal)):
                left, right, kind = right, left, _FLIP[kind]
            if not _is_value(right):
                words = _CMP_COLS if _is_time(left) or _is_time(right) else _CMP
                return f"{self.expression(left, grain)} {w[words[kind]]} {self.expression(right, grain)}"
            day = _literal_day(right)
            if day is not None and kind in _CMP_TIME:
                return f"{self._day_subject(left)} {w[_CMP_TIME[kind]]} {self._value(left, right)}"
            return f"{self.expression(left, grain)} {w[_CMP[kind]]} {self._value(left, right)}"
        raise _Unknown()

    def _in(self, c: exp.In, *, negated: bool, grain) -> str:
        query = c.args.get("query")
        if query is not None:
            verb = self.w["not_in"] if negated else self.w["in_"]
            return f"{self.expression(c.this, grain)} {verb} {self.nested(query.this if isinstance(query, exp.Subquery) else query)}"
        if not c.expressions:
            raise _Unknown()
        values = [self._value(c.this, v) for v in c.expressions]
        verb = self.w["is_not"] if negated else self.w["is_"]
        if len(values) == 1:
            return f"{self.expression(c.this, grain)} {verb} {values[0]}"
        return f"{self.expression(c.this, grain)} {verb} " + _join(values, self.w["or_"])

    def _like(self, c: exp.Expression, grain) -> str:
        pattern = c.expression
        if not isinstance(pattern, exp.Literal):
            raise _Unknown()
        p = pattern.this
        core = p.strip("%")
        if "%" in core or "_" in core:
            how = self.w["matches"]
            core = p
        elif p.startswith("%") and p.endswith("%"):
            how = self.w["contains"]
        elif p.endswith("%"):
            how = self.w["starts"]
        elif p.startswith("%"):
            how = self.w["ends"]
        else:
            how = self.w["is_"]
        return f"{self.expression(c.this, grain)} {how} «{core}»"

    def _value(self, subject: exp.Expression, v: exp.Expression) -> str:
        if isinstance(v, exp.Neg) and isinstance(v.this, exp.Literal):
            return "-" + v.this.this
        if isinstance(v, exp.Null):
            return "NULL"
        if isinstance(v, exp.Boolean):
            return v.sql()
        if not isinstance(v, exp.Literal):
            raise _Unknown()
        col = subject
        while not isinstance(col, exp.Column) and col is not None and col.args.get("this") is not None \
                and isinstance(col.this, exp.Expression):
            col = col.this
        table, name = self.column(col) if isinstance(col, exp.Column) else (None, "")
        if name and self.words.person_key and name.lower().endswith(self.words.person_key) and not v.is_string:
            return f"n.º {v.this}" if self.lang == "es" else f"no. {v.this}"
        return self.words.value(table, name, v.this, self.lang)

    # order and limit ---------------------------------------------------------------------------

    def order(self, select: exp.Select, grain) -> str:
        w = self.w
        parts = []
        order = select.args.get("order")
        outputs = {e.alias_or_name.lower(): e for e in select.expressions}
        for o in (order.expressions if order else []):
            target = o.this
            if isinstance(target, exp.Column) and not target.table and target.name.lower() in outputs:
                target = outputs[target.name.lower()]
                target = target.this if isinstance(target, exp.Alias) else target
            if isinstance(target, exp.Literal) and target.is_int and 0 < int(target.this) <= len(select.expressions):
                target = select.expressions[int(target.this) - 1]
                target = target.this if isinstance(target, exp.Alias) else target
            try:
                what = self.expression(target, grain)
            except _Unknown:
                self.unknown.append(f"{w['order']} «{o.this.sql(self.dialect)}»")
                continue
            parts.append(f"{what} ({w['desc'] if o.args.get('desc') else w['asc']})")
        text = f"{w['order']} {_join(parts, w['and_'])}" if parts else ""
        limit = select.args.get("limit")
        n = _int(limit.args.get("expression")) if limit is not None else None
        if n is not None and n != self.injected:
            shown = w["one_row"] if n == 1 else f"{w['first']} {n}"
            text = f"{text}, {shown}" if text else shown
        return text


def _pretty_alias(e: exp.Expression, dialect: str) -> str:
    name = e.alias_or_name or e.sql(dialect)
    return _capital(name.replace("_", " ")) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else name


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s[1:2].islower() else s


def _distinct_word(noun: str, lang: str) -> str:
    if lang != "es":
        return ""
    return _W["es"]["distinct_f"] if noun.split()[0].endswith("as") else _W["es"]["distinct"]


def _is_total(e: exp.Expression) -> bool:
    e = e.this if isinstance(e, (exp.Paren, exp.Cast)) else e
    return isinstance(e, (exp.Count, exp.Sum))


def _flag(e: exp.Expression | None) -> exp.Expression | None:
    """The condition of CASE WHEN cond THEN 1 ELSE 0 END (a 0/1 flag whose sum counts and whose average
    is a share), else None."""
    if not isinstance(e, exp.Case) or len(e.args.get("ifs") or []) != 1:
        return None
    then, default = e.args["ifs"][0].args.get("true"), e.args.get("default")
    one = isinstance(then, exp.Literal) and not then.is_string and float(then.this) == 1
    zero = default is None or isinstance(default, exp.Literal) and not default.is_string and float(default.this) == 0
    return e.args["ifs"][0].this if one and zero else None


def _is_hundred(e: exp.Expression) -> bool:
    return isinstance(e, exp.Literal) and not e.is_string and float(e.this) == 100


_PER = {("seconds", 60): "minutes", ("seconds", 3600): "hours", ("seconds", 86400): "days",
        ("days", 1440): "minutes", ("days", 24): "hours", ("days", 86400): "seconds", ("minutes", 60): "hours"}


def _time_between(e: exp.Expression) -> tuple[str, exp.Expression, exp.Expression] | None:
    """(unit, later, earlier) for the time between two timestamps, however the dialect spells it:
    strftime('%s', a) - strftime('%s', b), julianday(a) - julianday(b), EXTRACT(EPOCH FROM a - b),
    with a constant turning it into minutes or hours."""
    e = e.this if isinstance(e, exp.Paren) else e
    if isinstance(e, (exp.Mul, exp.Div)) and isinstance(e.expression, exp.Literal) and not e.expression.is_string:
        inner = _time_between(e.this)
        if inner:
            factor = float(e.expression.this)
            unit = _PER.get((inner[0], int(factor))) if factor.is_integer() else None
            if unit and (isinstance(e, exp.Div) == (inner[0] == "seconds" or inner[0] == "minutes")):
                return unit, inner[1], inner[2]
        return None
    if isinstance(e, exp.Extract) and isinstance(e.this, exp.Var) and e.this.name.upper() == "EPOCH":
        diff = e.expression.this if isinstance(e.expression, exp.Paren) else e.expression
        if isinstance(diff, exp.Sub):
            return "seconds", diff.this, diff.expression
        return None
    if isinstance(e, exp.Sub):
        a, b = _epoch_of(e.this), _epoch_of(e.expression)
        if a and b and a[0] == b[0]:
            return a[0], a[1], b[1]
    return None


def _epoch_of(e: exp.Expression) -> tuple[str, exp.Expression] | None:
    if isinstance(e, exp.TimeToStr) and isinstance(e.args.get("format"), exp.Literal) and e.args["format"].this == "%s":
        return "seconds", e.this
    if isinstance(e, exp.Anonymous) and e.name.lower() in ("julianday", "unixepoch") and len(e.expressions) == 1:
        return ("days" if e.name.lower() == "julianday" else "seconds"), e.expressions[0]
    if isinstance(e, (exp.UnixDate, exp.TimeToUnix)):
        return "seconds", e.this
    return None


def _int(e) -> int | None:
    return int(e.this) if isinstance(e, exp.Literal) and e.is_int else None


def _is_key_match(c: exp.Expression) -> bool:
    """`a.x = b.y` between two tables' columns: how they join, not a filter."""
    return (isinstance(c, exp.EQ) and isinstance(c.this, exp.Column) and isinstance(c.expression, exp.Column)
            and bool(c.this.table) and bool(c.expression.table) and c.this.table != c.expression.table)


def _is_value(e: exp.Expression) -> bool:
    return isinstance(e, (exp.Literal, exp.Null, exp.Boolean)) or (
        isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal))


def _literal_day(e) -> date | None:
    if isinstance(e, exp.Literal) and e.is_string and (_DAY.match(e.this) or _STAMP.match(e.this)):
        return _parse_day(e.this)
    return None


def _is_time(e: exp.Expression) -> bool:
    name = e.name.lower() if isinstance(e, exp.Column) else ""
    return any(k in name for k in ("_at", "departure", "arrival", "date", "time"))


def _is_date_call(e: exp.Expression) -> bool:
    return (isinstance(e, exp.Anonymous) and e.name.lower() == "date" and len(e.expressions) == 1) or isinstance(
        e, (exp.Date, exp.TsOrDsToDate)) or (isinstance(e, exp.Cast) and e.to.this in (
            exp.DataType.Type.DATE,))


_STRFTIME_UNITS = {"%Y": "year", "%Y-%m": "month", "%m": "month", "%Y-%m-%d": "day", "%H": "hour", "%w": "weekday"}
_EXTRACT_UNITS = {"YEAR": "year", "MONTH": "month", "DAY": "day", "HOUR": "hour", "DOW": "weekday",
                  "DAYOFWEEK": "weekday"}


def _date_part(e: exp.Expression) -> tuple[str, exp.Expression] | None:
    """('month', column) for strftime('%Y-%m', col), EXTRACT(MONTH FROM col), DATE_TRUNC('month', col),
    date(col) / CAST(col AS DATE) ('day')."""
    if _is_date_call(e):
        return "day", (e.expressions[0] if isinstance(e, exp.Anonymous) else e.this)
    if isinstance(e, exp.TimeToStr):
        fmt = e.args.get("format")
        unit = _STRFTIME_UNITS.get(fmt.this if isinstance(fmt, exp.Literal) else "")
        return (unit, e.this) if unit else None
    if isinstance(e, exp.Extract):
        unit = _EXTRACT_UNITS.get(e.this.name.upper() if isinstance(e.this, (exp.Var, exp.Identifier)) else "")
        return (unit, e.expression) if unit else None
    if isinstance(e, (exp.DateTrunc, exp.TimestampTrunc)):
        unit = e.args.get("unit")
        name = (unit.name if isinstance(unit, (exp.Var, exp.Literal)) else str(unit or "")).upper().strip("'")
        return (_EXTRACT_UNITS.get(name), e.this) if _EXTRACT_UNITS.get(name) else None
    if isinstance(e, (exp.Year, exp.Month, exp.Day)):
        return {exp.Year: "year", exp.Month: "month", exp.Day: "day"}[type(e)], e.this
    return None


def column_labels(restatement: Restatement, columns: Sequence[str]) -> list[str]:
    """One human label per result column: the restatement's, else the SQL name made readable. Extra
    columns the guard adds (none reach the user today) keep their names."""
    labels = list(restatement.labels[:len(columns)])
    labels += [str(c).replace("_", " ") for c in columns[len(labels):]]
    seen: dict[str, int] = {}
    out = []
    for label in labels:   # two columns with one label ('Origen', 'Origen') stay distinguishable
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
