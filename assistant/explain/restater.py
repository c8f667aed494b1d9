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

This module reads the statement: what is measured or listed, the grain its rows stand for, the
grouping, the order and the limit. The conditions are read in `conditions`, the shapes of SQL nodes
in `forms`, the catalog's words in `labels`, and the per-language words and the `Restatement` in
`phrasing`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp

from assistant.explain.conditions import ConditionReader
from assistant.explain.forms import (
    AGG,
    Unknown,
    date_part,
    flag_condition,
    int_value,
    is_date_call,
    is_hundred,
    is_total,
    time_between,
)
from assistant.explain.labels import Words
from assistant.explain.phrasing import PHRASES, Restatement, capital, join_phrases


def restate(sql: str, dialect: str, words: Words, lang: str, *, injected_limit: int | None = None,
            hidden: int | None = None, strict: bool = False) -> Restatement:
    """The restatement of `sql` (the guard's output) in `lang`. Never raises: an unreadable statement
    is one 'not restated' part. `injected_limit` is the row cap the guard added (not the asker's);
    `hidden` the index of an output column the guard added and the user never sees (the subject key)."""
    lang = "es" if lang == "es" else "en"
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return Restatement(lang, (), not_restated=(PHRASES[lang]["computed"],))
    try:
        return _Restater(words, lang, dialect, injected_limit, hidden).statement(tree)
    except Exception:
        if strict:     # tests: a bug is a failure, not a quiet 'not restated'
            raise
        return Restatement(lang, (), not_restated=(PHRASES[lang]["computed"],))


class _Restater(ConditionReader):
    def __init__(self, words: Words, lang: str, dialect: str, injected_limit: int | None, hidden: int | None):
        self.words, self.lang, self.dialect, self.injected = words, lang, dialect, injected_limit
        self.hidden = hidden
        self.w = PHRASES[lang]
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
            except Unknown as why:
                self.unknown.append(f"{self.w['computed']} «{e.alias_or_name or inner.sql(self.dialect)}»"
                                    + (f" ({why})" if str(why) else ""))
                text = None
            labels.append(capital(text) if text else _pretty_alias(e, self.dialect))
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
            except Unknown:
                self.unknown.append(f"{self.w['by']} «{g.sql(self.dialect)}»")
        having = []
        if select.args.get("having") is not None:
            having = self.conditions(select.args["having"].this, grain=grain)
        return Restatement(self.lang, tuple(measures), tuple(filters), tuple(grouping), tuple(having),
                           self.order(select, grain), bool(select.args.get("distinct")) and not aggregated,
                           tuple(dict.fromkeys(self.unknown)), tuple(labels),
                           tuple(is_total(e.this if isinstance(e, exp.Alias) else e) for e in shown),
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
            raise Unknown(col.sql(self.dialect))
        return table, col.name

    def expression(self, e: exp.Expression, grain=None) -> str:
        w, lang = self.w, self.lang
        if isinstance(e, exp.Paren):
            return self.expression(e.this, grain)
        if isinstance(e, exp.Column):
            if isinstance(e.this, exp.Star):
                raise Unknown("*")
            table, name = self.column(e)
            return _lower_first(self.words.label(table, name, lang))
        if isinstance(e, exp.Count):
            return self._count(e, grain)
        for kind, word in AGG.items():
            if isinstance(e, kind):
                inner = e.this
                flag = flag_condition(inner)
                if flag is not None and word in ("sum", "avg"):
                    noun = self.words.noun(grain, lang) if isinstance(grain, str) else w["rows"]
                    cond = join_phrases(self.conditions(flag), w["and_"])
                    return w["count_if" if word == "sum" else "share_if"].format(noun=noun, cond=cond)
                if isinstance(inner, exp.Case):
                    raise Unknown("CASE")
                return f"{w[word]} {self.expression(inner, grain)}"
        if isinstance(e, exp.Round):
            digits = e.args.get("decimals")
            base = self.expression(e.this, grain)
            return base + (f" ({w['rounded']}, {digits.sql()})" if isinstance(digits, exp.Literal) else "")
        if isinstance(e, (exp.Cast, exp.TryCast, exp.TsOrDsToTimestamp, exp.Lower, exp.Upper)) \
                and not is_date_call(e):
            return self.expression(e.this, grain)      # case folding: the comparison shows the value
        if isinstance(e, exp.Interval) and isinstance(e.this, exp.Literal):
            unit = e.args.get("unit")
            return f"{e.this.this} {unit.name.lower() if unit is not None else ''}".strip().lower()
        span = time_between(e)
        if span:
            unit, late, early = span
            return w["span"].format(unit=w[unit], a=self.expression(early, grain), b=self.expression(late, grain))
        if isinstance(e, (exp.Mul, exp.Div, exp.Add, exp.Sub)):
            return self._arithmetic(e, grain)
        if isinstance(e, (exp.Coalesce,)) and len(e.expressions) == 1:
            return w["filled"].format(a=self.expression(e.this, grain), b=self.literal_or_expr(e.expressions[0], grain))
        part = date_part(e)
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
        raise Unknown()

    def nested(self, select: exp.Expression) -> str:
        """A subquery said in the same words, in parentheses; any part it cannot say makes the whole
        condition 'not restated' (half a subquery would mislead)."""
        inner = _Restater(self.words, self.lang, self.dialect, None, None).statement(select)
        if not inner.complete:
            raise Unknown()
        text = inner.text().rstrip(".")
        return "(" + text[:1].lower() + text[1:] + ")"

    def _arithmetic(self, e: exp.Expression, grain) -> str:
        """Exact arithmetic in words: a percentage 100 × A / B is 'percentage: A out of B'."""
        w = self.w
        if isinstance(e, exp.Div):
            top = e.this.this if isinstance(e.this, exp.Paren) else e.this
            if isinstance(top, exp.Mul) and is_hundred(top.this):
                return w["percent"].format(a=self.expression(top.expression, grain), b=self.expression(e.expression, grain))
        if isinstance(e, exp.Mul) and is_hundred(e.this):
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
                raise Unknown("COUNT(DISTINCT …)")
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
            return w["count_if"].format(noun=noun, cond=join_phrases(cond, w["and_"]))
        raise Unknown("COUNT")

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
            except Unknown:
                self.unknown.append(f"{w['order']} «{o.this.sql(self.dialect)}»")
                continue
            parts.append(f"{what} ({w['desc'] if o.args.get('desc') else w['asc']})")
        text = f"{w['order']} {join_phrases(parts, w['and_'])}" if parts else ""
        limit = select.args.get("limit")
        n = int_value(limit.args.get("expression")) if limit is not None else None
        if n is not None and n != self.injected:
            shown = w["one_row"] if n == 1 else f"{w['first']} {n}"
            text = f"{text}, {shown}" if text else shown
        return text


def _pretty_alias(e: exp.Expression, dialect: str) -> str:
    name = e.alias_or_name or e.sql(dialect)
    return capital(name.replace("_", " ")) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else name


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s[1:2].islower() else s


def _distinct_word(noun: str, lang: str) -> str:
    if lang != "es":
        return ""
    return PHRASES["es"]["distinct_f"] if noun.split()[0].endswith("as") else PHRASES["es"]["distinct"]
