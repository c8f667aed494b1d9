"""The WHERE, ON and HAVING clauses in words, one phrase per conjunct: a flight designator ('vuelo
XA401'), a day range ('del 8 al 14 jun 2026'), comparisons, IN, LIKE, emptiness and subqueries, with
the values as staff say them. The keys a join matches on are mechanics, not filters."""
from __future__ import annotations

from datetime import timedelta

from sqlglot import exp

from assistant.explain.forms import (
    CMP,
    CMP_COLS,
    CMP_TIME,
    FLIP,
    Unknown,
    is_date_call,
    is_key_match,
    is_time,
    is_value,
    literal_day,
)
from assistant.explain.labels import Words
from assistant.explain.phrasing import format_range, join_phrases


class ConditionReader:
    """The restater's reading of conditions. Mixed into the restater, whose `column`, `expression`
    and `nested` say the operands and subqueries; a part it cannot say is added to `unknown`."""

    words: Words
    lang: str
    dialect: str
    w: dict[str, str]
    unknown: list[str]

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
            if is_key_match(c):
                continue
            try:
                out.append((i, self.condition(c, grain)))
            except Unknown:
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
                left, right, kind = right, left, FLIP[kind]
            day = literal_day(right)
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
                except Unknown:
                    continue
                used.update((i, j))
                out.append((min(i, j), f"{what} {format_range(first, last, self.lang)}"))
        return out

    def _day_subject(self, e: exp.Expression) -> str:
        inner = e.this if isinstance(e, (exp.Date, exp.DateTrunc, exp.TsOrDsToDate)) or is_date_call(e) else e
        if is_date_call(e):
            inner = e.expressions[0] if isinstance(e, exp.Anonymous) else e.this
        return self.expression(inner)

    def condition(self, c: exp.Expression, grain=None) -> str:
        w = self.w
        if isinstance(c, exp.Paren):
            return self.condition(c.this, grain)
        if isinstance(c, exp.Or):
            return "(" + f" {w['or_']} ".join(self.condition(p, grain) for p in c.flatten()) + ")"
        if isinstance(c, exp.And):
            return join_phrases(self.conditions(c, grain=grain), w["and_"])
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
            d1, d2 = literal_day(low), literal_day(high)
            if d1 and d2 and len(high.this) == 10:
                return f"{self._day_subject(c.this)} {format_range(d1, d2, self.lang)}"
            return (f"{self.expression(c.this, grain)} {w['between']} {self._value(c.this, low)} "
                    f"{w['and_']} {self._value(c.this, high)}")
        if type(c) in CMP:
            left, right, kind = c.this, c.expression, type(c)
            if isinstance(left, exp.Literal) or (isinstance(left, exp.Neg) and isinstance(left.this, exp.Literal)):
                left, right, kind = right, left, FLIP[kind]
            if not is_value(right):
                words = CMP_COLS if is_time(left) or is_time(right) else CMP
                return f"{self.expression(left, grain)} {w[words[kind]]} {self.expression(right, grain)}"
            day = literal_day(right)
            if day is not None and kind in CMP_TIME:
                return f"{self._day_subject(left)} {w[CMP_TIME[kind]]} {self._value(left, right)}"
            return f"{self.expression(left, grain)} {w[CMP[kind]]} {self._value(left, right)}"
        raise Unknown()

    def _in(self, c: exp.In, *, negated: bool, grain) -> str:
        query = c.args.get("query")
        if query is not None:
            verb = self.w["not_in"] if negated else self.w["in_"]
            return f"{self.expression(c.this, grain)} {verb} {self.nested(query.this if isinstance(query, exp.Subquery) else query)}"
        if not c.expressions:
            raise Unknown()
        values = [self._value(c.this, v) for v in c.expressions]
        verb = self.w["is_not"] if negated else self.w["is_"]
        if len(values) == 1:
            return f"{self.expression(c.this, grain)} {verb} {values[0]}"
        return f"{self.expression(c.this, grain)} {verb} " + join_phrases(values, self.w["or_"])

    def _like(self, c: exp.Expression, grain) -> str:
        pattern = c.expression
        if not isinstance(pattern, exp.Literal):
            raise Unknown()
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
            raise Unknown()
        col = subject
        while not isinstance(col, exp.Column) and col is not None and col.args.get("this") is not None \
                and isinstance(col.this, exp.Expression):
            col = col.this
        table, name = self.column(col) if isinstance(col, exp.Column) else (None, "")
        if name and self.words.person_key and name.lower().endswith(self.words.person_key) and not v.is_string:
            return f"n.º {v.this}" if self.lang == "es" else f"no. {v.this}"
        return self.words.value(table, name, v.this, self.lang)
