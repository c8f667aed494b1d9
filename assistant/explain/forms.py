"""What a node of the checked SQL is, however the dialect spells it: a comparison and the word for it,
a 0/1 flag, the 100 of a percentage, the time between two timestamps, a part of a date, a day
literal, the key match of a join. A construct the restater does not know raises `Unknown`: its part
is reported as not restated, never guessed."""
from __future__ import annotations

from datetime import date

from sqlglot import exp

from assistant.explain.phrasing import DAY, STAMP, parse_day

AGG = {exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max"}
CMP = {exp.EQ: "is_", exp.NEQ: "is_not", exp.GT: "gt", exp.GTE: "gte", exp.LT: "lt", exp.LTE: "lte"}
CMP_TIME = {exp.EQ: "on", exp.GTE: "since", exp.GT: "after", exp.LT: "before", exp.LTE: "until"}
CMP_COLS = {exp.EQ: "same_as", exp.NEQ: "differs", exp.GT: "later", exp.LT: "earlier", exp.GTE: "at_least",
            exp.LTE: "at_most"}
FLIP = {exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE, exp.EQ: exp.EQ, exp.NEQ: exp.NEQ}


class Unknown(Exception):
    """A construct the restater does not know: its part is reported, not guessed."""


def is_total(e: exp.Expression) -> bool:
    e = e.this if isinstance(e, (exp.Paren, exp.Cast)) else e
    return isinstance(e, (exp.Count, exp.Sum))


def flag_condition(e: exp.Expression | None) -> exp.Expression | None:
    """The condition of CASE WHEN cond THEN 1 ELSE 0 END (a 0/1 flag whose sum counts and whose average
    is a share), else None."""
    if not isinstance(e, exp.Case) or len(e.args.get("ifs") or []) != 1:
        return None
    then, default = e.args["ifs"][0].args.get("true"), e.args.get("default")
    one = isinstance(then, exp.Literal) and not then.is_string and float(then.this) == 1
    zero = default is None or isinstance(default, exp.Literal) and not default.is_string and float(default.this) == 0
    return e.args["ifs"][0].this if one and zero else None


def is_hundred(e: exp.Expression) -> bool:
    return isinstance(e, exp.Literal) and not e.is_string and float(e.this) == 100


_PER = {("seconds", 60): "minutes", ("seconds", 3600): "hours", ("seconds", 86400): "days",
        ("days", 1440): "minutes", ("days", 24): "hours", ("days", 86400): "seconds", ("minutes", 60): "hours"}


def time_between(e: exp.Expression) -> tuple[str, exp.Expression, exp.Expression] | None:
    """(unit, later, earlier) for the time between two timestamps, however the dialect spells it:
    strftime('%s', a) - strftime('%s', b), julianday(a) - julianday(b), EXTRACT(EPOCH FROM a - b),
    with a constant turning it into minutes or hours."""
    e = e.this if isinstance(e, exp.Paren) else e
    if isinstance(e, (exp.Mul, exp.Div)) and isinstance(e.expression, exp.Literal) and not e.expression.is_string:
        inner = time_between(e.this)
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


def int_value(e) -> int | None:
    return int(e.this) if isinstance(e, exp.Literal) and e.is_int else None


def is_key_match(c: exp.Expression) -> bool:
    """`a.x = b.y` between two tables' columns: how they join, not a filter."""
    return (isinstance(c, exp.EQ) and isinstance(c.this, exp.Column) and isinstance(c.expression, exp.Column)
            and bool(c.this.table) and bool(c.expression.table) and c.this.table != c.expression.table)


def is_value(e: exp.Expression) -> bool:
    return isinstance(e, (exp.Literal, exp.Null, exp.Boolean)) or (
        isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal))


def literal_day(e) -> date | None:
    if isinstance(e, exp.Literal) and e.is_string and (DAY.match(e.this) or STAMP.match(e.this)):
        return parse_day(e.this)
    return None


def is_time(e: exp.Expression) -> bool:
    name = e.name.lower() if isinstance(e, exp.Column) else ""
    return any(k in name for k in ("_at", "departure", "arrival", "date", "time"))


def is_date_call(e: exp.Expression) -> bool:
    return (isinstance(e, exp.Anonymous) and e.name.lower() == "date" and len(e.expressions) == 1) or isinstance(
        e, (exp.Date, exp.TsOrDsToDate)) or (isinstance(e, exp.Cast) and e.to.this in (
            exp.DataType.Type.DATE,))


_STRFTIME_UNITS = {"%Y": "year", "%Y-%m": "month", "%m": "month", "%Y-%m-%d": "day", "%H": "hour", "%w": "weekday"}
_EXTRACT_UNITS = {"YEAR": "year", "MONTH": "month", "DAY": "day", "HOUR": "hour", "DOW": "weekday",
                  "DAYOFWEEK": "weekday"}


def date_part(e: exp.Expression) -> tuple[str, exp.Expression] | None:
    """('month', column) for strftime('%Y-%m', col), EXTRACT(MONTH FROM col), DATE_TRUNC('month', col),
    date(col) / CAST(col AS DATE) ('day')."""
    if is_date_call(e):
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
