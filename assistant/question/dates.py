"""Relative and absolute dates in Spanish and English, resolved against a given `today`.

A small model gets dates wrong more often than anything else ('last week', 'antier', 'en lo que va
del mes'), so the linker resolves them here and hands the model the literal days to write, in the
shortest form both engines read: ``date(col) = 'day'`` or ``date(col) BETWEEN 'first' AND 'last'``
(every digit is a token, and tokens are what a question costs on 2 cores). `assistant.rewrite.day_ranges`
turns those into half-open ranges on the column before the query runs.

Conventions (shared/eval/README.md, plus the choices documented where they are made):
- weeks run Monday..Sunday; 'last week' is the previous Monday..Sunday, 'this week' the whole current
  week, 'next week' the following one;
- 'this month' / 'this year' are the whole month / year; 'so far this month' ends today inclusive;
- a bare month ('en marzo', 'in March') is that month of today's year; 'last March' / 'marzo pasado'
  is the most recent March before the current month;
- 'the last N days' are the N days ending today inclusive; 'the next N days' the N days from today;
- 'hace 3 días' / '3 days ago' is one day;
- a bare weekday ('el viernes', 'on Friday') is today when today is that weekday, otherwise the most
  recent past one, unless the question speaks of the future ('sale', 'will', 'próximo'...), in which
  case it is the next one; 'el lunes pasado' / 'last Monday' is always strictly before today and
  'el próximo lunes' / 'next Monday' strictly after;
- numeric dates are day first ('20/06/2026'); '20/06' is in today's year.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from assistant.question.lang import fold


@dataclass(frozen=True)
class DateSpan:
    """A date expression found in a text: [start, end) with end exclusive."""
    text: str
    start: date
    end: date
    pos: int
    endpos: int

    @property
    def single_day(self) -> bool:
        return self.end - self.start == timedelta(days=1)

    def describe(self) -> str:
        """One prompt line: the words and the condition to write for them (inclusive last day)."""
        if self.single_day:
            return f"'{self.text}': date(col) = '{self.start.isoformat()}'"
        last = self.end - timedelta(days=1)
        return f"'{self.text}': date(col) BETWEEN '{self.start.isoformat()}' AND '{last.isoformat()}'"


# The months in both languages, the one table the linker, the restatement (`explain.phrasing`) and the
# training-question wording (`train.shapes.wording`) all read.
MONTH_NAMES: dict[str, tuple[str, ...]] = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "en": ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"),
}
MONTH_SHORT: dict[str, tuple[str, ...]] = {
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
    "en": ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
}
MONTHS: dict[str, int] = {name: i for names in MONTH_NAMES.values() for i, name in enumerate(names, 1)} | {
    "setiembre": 9}
MONTH_ABBR: dict[str, int] = {name: i for names in MONTH_SHORT.values() for i, name in enumerate(names, 1)} | {
    "sept": 9, "set": 9}
# English month names that are also ordinary words or first names need a preposition to count alone.
_EN_BARE_NEEDS_CONTEXT = {"may", "march", "june", "april", "august", "january", "february", "july",
                          "september", "october", "november", "december"}
WEEKDAYS: dict[str, int] = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}
NUMBER_WORDS: dict[str, int] = {
    "un": 1, "una": 1, "uno": 1, "a": 1, "an": 1, "one": 1, "dos": 2, "two": 2, "tres": 3, "three": 3,
    "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "siete": 7, "seven": 7,
    "ocho": 8, "eight": 8, "nueve": 9, "nine": 9, "diez": 10, "ten": 10, "once": 11, "eleven": 11,
    "doce": 12, "twelve": 12, "quince": 15, "fifteen": 15, "treinta": 30, "thirty": 30,
}

_FULL = "|".join(sorted(MONTHS, key=len, reverse=True))
_ANY_MONTH = "|".join(sorted(set(MONTHS) | set(MONTH_ABBR), key=len, reverse=True))
_WD = "|".join(WEEKDAYS)
_NUM = r"\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_YEAR = r"(?:19|20)\d\d"
_FUTURE_CUES = re.compile(
    r"\b(?:sale|salen|saldra|saldran|llega|llegan|llegara|vuela|vuelan|volara|va a|van a|tiene programad\w*|"
    r"programad\w*|will|departs|leaves|leaving|arrives|is scheduled|are scheduled|upcoming|coming|proxim\w*|"
    r"siguiente|next)\b")


def _month_range(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    return start, (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1))


def _add_months(d: date, n: int) -> date:
    """First day of the month `n` months after d's month."""
    m = d.year * 12 + (d.month - 1) + n
    return date(m // 12, m % 12 + 1, 1)


def _num(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _month(word: str) -> int:
    return MONTHS.get(word) or MONTH_ABBR[word]


def _day(year: int, month: int, day: int) -> tuple[date, date] | None:
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    return d, d + timedelta(days=1)


def _week(today: date, offset_weeks: int) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=offset_weeks)
    return monday, monday + timedelta(days=7)


def _year2(y: str | None, today: date) -> int:
    if not y:
        return today.year
    y = int(y)
    return y + 2000 if y < 100 else y


# Each rule: a regex over the folded text and a function (match, today, folded text) -> (start, end).
# Rules are tried in order and a span claimed by an earlier rule is not matched again, so longer and
# more specific expressions come first.
def _rules():
    R = []

    def rule(pattern):
        def deco(fn):
            R.append((re.compile(pattern), fn))
            return fn
        return deco

    # --- ranges between two explicit days -------------------------------------------------------
    @rule(rf"\b(?:del|de|entre el|entre|desde el|desde)\s+(\d{{1,2}})\s+(?:al|a|y el|y|hasta el|hasta)\s+"
          rf"(\d{{1,2}})\s+de\s+({_ANY_MONTH})(?:\s+(?:de|del)\s+({_YEAR}))?\b")
    def _es_day_range(m, today, _t):
        y = _year2(m.group(4), today)
        a, b = _day(y, _month(m.group(3)), int(m.group(1))), _day(y, _month(m.group(3)), int(m.group(2)))
        return (a[0], b[1]) if a and b and a[0] <= b[0] else None

    @rule(rf"\b(?:from|between)?\s*({_ANY_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:-|–|to|through|thru|and|until)\s*"
          rf"(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+({_YEAR}))?\b")
    def _en_day_range(m, today, _t):
        y = _year2(m.group(4), today)
        a, b = _day(y, _month(m.group(1)), int(m.group(2))), _day(y, _month(m.group(1)), int(m.group(3)))
        return (a[0], b[1]) if a and b and a[0] <= b[0] else None

    # --- explicit days ---------------------------------------------------------------------------
    @rule(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
    def _iso(m, _today, _t):
        return _day(int(m.group(1)), int(m.group(2)), int(m.group(3)))

    @rule(r"(?<![\d/.-])(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?![\d/.-])")
    def _dmy(m, today, _t):
        return _day(_year2(m.group(3), today), int(m.group(2)), int(m.group(1)))

    @rule(r"(?<![\d/.])(\d{1,2})/(\d{1,2})(?![\d/])")
    def _dm(m, today, _t):
        return _day(today.year, int(m.group(2)), int(m.group(1)))

    @rule(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+|of\s+)?({_ANY_MONTH})\b\.?(?:,?\s+(?:de\s+|del\s+)?({_YEAR}))?\b")
    def _d_month(m, today, _t):
        return _day(_year2(m.group(3), today), _month(m.group(2)), int(m.group(1)))

    @rule(rf"\b({_ANY_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+({_YEAR}))?\b")
    def _month_d(m, today, _t):
        return _day(_year2(m.group(3), today), _month(m.group(1)), int(m.group(2)))

    # --- months and years ------------------------------------------------------------------------
    @rule(rf"\b({_ANY_MONTH})\.?,?\s+(?:de\s+|del\s+|of\s+)?({_YEAR})\b")
    def _month_year(m, _today, _t):
        return _month_range(int(m.group(2)), _month(m.group(1)))

    @rule(rf"\b(?:(?:en|el|de|del)\s+)?({_FULL})\s+(?:pasado|anterior)\b|\b(?:last|previous)\s+({_FULL})\b")
    def _last_named_month(m, today, _t):
        mo = MONTHS[m.group(1) or m.group(2)]
        y = today.year if mo < today.month else today.year - 1
        return _month_range(y, mo)

    @rule(rf"\b(?:(?:el\s+)?(?:proximo|siguiente)\s+({_FULL})|({_FULL})\s+(?:proximo|que viene)|next\s+({_FULL}))\b")
    def _next_named_month(m, today, _t):
        mo = MONTHS[m.group(1) or m.group(2) or m.group(3)]
        y = today.year if mo > today.month else today.year + 1
        return _month_range(y, mo)

    @rule(r"\b(?:en lo que va del|en lo que va de este|en lo que va de|lo que va del|lo que va de este|lo que va de)\s+mes\b"
          r"|\b(?:so far this month|this month so far|month to date|month-to-date|mtd)\b")
    def _month_to_date(_m, today, _t):
        return date(today.year, today.month, 1), today + timedelta(days=1)

    @rule(r"\b(?:en lo que va del|en lo que va de este|lo que va del|lo que va de este|lo que va de)\s+ano\b"
          r"|\b(?:so far this year|this year so far|year to date|year-to-date|ytd)\b")
    def _year_to_date(_m, today, _t):
        return date(today.year, 1, 1), today + timedelta(days=1)

    @rule(r"\b(?:este mes|el mes en curso|mes en curso|this month|the current month|current month)\b")
    def _this_month(_m, today, _t):
        return _month_range(today.year, today.month)

    @rule(r"\b(?:el mes pasado|mes pasado|el mes anterior|mes anterior|el pasado mes|last month|previous month|the previous month)\b")
    def _last_month(_m, today, _t):
        s = _add_months(today, -1)
        return s, _add_months(today, 0)

    @rule(r"\b(?:el proximo mes|proximo mes|el mes que viene|mes que viene|el siguiente mes|el mes siguiente|next month|the following month)\b")
    def _next_month(_m, today, _t):
        return _add_months(today, 1), _add_months(today, 2)

    @rule(r"\b(?:este ano|el ano en curso|this year|the current year|current year)\b")
    def _this_year(_m, today, _t):
        return date(today.year, 1, 1), date(today.year + 1, 1, 1)

    @rule(r"\b(?:el ano pasado|ano pasado|el ano anterior|el pasado ano|last year|previous year|the previous year)\b")
    def _last_year(_m, today, _t):
        return date(today.year - 1, 1, 1), date(today.year, 1, 1)

    @rule(r"\b(?:el proximo ano|proximo ano|el ano que viene|ano que viene|el siguiente ano|next year)\b")
    def _next_year(_m, today, _t):
        return date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)

    # --- weeks -----------------------------------------------------------------------------------
    @rule(r"\b(?:la semana antepasada|the week before last)\b")
    def _week_before_last(_m, today, _t):
        return _week(today, -2)

    @rule(r"\b(?:el fin de semana pasado|el pasado fin de semana|last weekend)\b")
    def _last_weekend(_m, today, _t):
        mon = _week(today, -1)[0]
        return mon + timedelta(days=5), mon + timedelta(days=7)

    @rule(r"\b(?:este fin de semana|el fin de semana|this weekend|the weekend)\b")
    def _this_weekend(_m, today, _t):
        mon = _week(today, 0)[0]
        return mon + timedelta(days=5), mon + timedelta(days=7)

    @rule(r"\b(?:la semana pasada|semana pasada|la pasada semana|la semana anterior|last week|the previous week|previous week|past week)\b")
    def _last_week(_m, today, _t):
        return _week(today, -1)

    @rule(r"\b(?:esta semana|la semana en curso|this week|the current week)\b")
    def _this_week(_m, today, _t):
        return _week(today, 0)

    @rule(r"\b(?:la proxima semana|proxima semana|la semana que viene|semana que viene|la siguiente semana|la semana siguiente|next week|the following week)\b")
    def _next_week(_m, today, _t):
        return _week(today, 1)

    # --- last / next N units, N units ago ----------------------------------------------------------
    @rule(rf"\b(?:(?:en\s+)?(?:los|las)\s+)?(?:ultimos|ultimas)\s+({_NUM})\s+(dias|semanas|meses)\b"
          rf"|\b(?:the\s+)?(?:last|past|previous)\s+({_NUM})\s+(days|weeks|months)\b")
    def _last_n(m, today, _t):
        n, unit = _num(m.group(1) or m.group(3)), (m.group(2) or m.group(4))
        end = today + timedelta(days=1)
        if unit.startswith(("mes", "month")):
            m0 = today.year * 12 + today.month - 1 - n
            y, mo = divmod(m0, 12)
            day = min(today.day, calendar.monthrange(y, mo + 1)[1])
            return date(y, mo + 1, day) + timedelta(days=1), end
        days = n * 7 if unit.startswith(("semana", "week")) else n
        return end - timedelta(days=days), end

    @rule(rf"\b(?:(?:en\s+)?(?:los|las)\s+)?(?:proximos|proximas|siguientes)\s+({_NUM})\s+(dias|semanas)\b"
          rf"|\b(?:the\s+)?(?:next|coming|following)\s+({_NUM})\s+(days|weeks)\b")
    def _next_n(m, today, _t):
        n, unit = _num(m.group(1) or m.group(3)), (m.group(2) or m.group(4))
        days = n * 7 if unit.startswith(("semana", "week")) else n
        return today, today + timedelta(days=days)

    @rule(rf"\bhace\s+({_NUM})\s+(dias?|semanas?)\b|\b({_NUM})\s+(days?|weeks?)\s+ago\b")
    def _ago(m, today, _t):
        n, unit = _num(m.group(1) or m.group(3)), (m.group(2) or m.group(4))
        d = today - timedelta(days=n * 7 if unit.startswith(("semana", "week")) else n)
        return d, d + timedelta(days=1)

    @rule(rf"\bdentro de\s+({_NUM})\s+(dias?|semanas?)\b|\bin\s+({_NUM})\s+(days?|weeks?)(?!\s+ago)\b")
    def _in_n(m, today, _t):
        n, unit = _num(m.group(1) or m.group(3)), (m.group(2) or m.group(4))
        d = today + timedelta(days=n * 7 if unit.startswith(("semana", "week")) else n)
        return d, d + timedelta(days=1)

    # --- single relative days -----------------------------------------------------------------------
    @rule(r"\b(?:pasado manana|the day after tomorrow)\b")
    def _after_tomorrow(_m, today, _t):
        d = today + timedelta(days=2)
        return d, d + timedelta(days=1)

    @rule(r"\b(?:antier|anteayer|antes de ayer|antes de anoche|the day before yesterday)\b")
    def _before_yesterday(_m, today, _t):
        d = today - timedelta(days=2)
        return d, d + timedelta(days=1)

    @rule(r"\b(?:ayer|anoche|yesterday|last night)\b")
    def _yesterday(_m, today, _t):
        d = today - timedelta(days=1)
        return d, d + timedelta(days=1)

    @rule(r"\b(?:esta manana|esta tarde|esta noche|this morning|this afternoon|this evening|tonight)\b")
    def _today_part(_m, today, _t):
        return today, today + timedelta(days=1)

    # 'mañana' is 'tomorrow' except as 'the morning': 'la mañana', 'las mañanas', 'media mañana'.
    @rule(r"(?<!\bla )(?<!\blas )(?<!\bmedia )(?<!\buna )\bmanana\b|\btomorrow\b")
    def _tomorrow(_m, today, _t):
        d = today + timedelta(days=1)
        return d, d + timedelta(days=1)

    @rule(r"\b(?:hoy|today|el dia de hoy)\b")
    def _today(_m, today, _t):
        return today, today + timedelta(days=1)

    # --- weekdays ----------------------------------------------------------------------------------
    @rule(rf"\b(?:el\s+)?({_WD})\s+(?:pasado|anterior)\b|\b(?:el\s+)?pasado\s+({_WD})\b|\b(?:last|previous)\s+({_WD})\b")
    def _last_weekday(m, today, _t):
        wd = WEEKDAYS[m.group(1) or m.group(2) or m.group(3)]
        back = (today.weekday() - wd) % 7 or 7
        d = today - timedelta(days=back)
        return d, d + timedelta(days=1)

    @rule(rf"\b(?:el\s+)?(?:proximo|siguiente)\s+({_WD})\b|\b(?:el\s+)?({_WD})\s+(?:proximo|que viene|siguiente)\b"
          rf"|\b(?:next|this coming|coming)\s+({_WD})\b")
    def _next_weekday(m, today, _t):
        wd = WEEKDAYS[m.group(1) or m.group(2) or m.group(3)]
        ahead = (wd - today.weekday()) % 7 or 7
        d = today + timedelta(days=ahead)
        return d, d + timedelta(days=1)

    @rule(rf"\b(?:(?:el|este|on|this)\s+)?({_WD})\b")
    def _weekday(m, today, text):
        wd = WEEKDAYS[m.group(1)]
        if wd == today.weekday():
            d = today
        elif _FUTURE_CUES.search(text):
            d = today + timedelta(days=(wd - today.weekday()) % 7)
        else:
            d = today - timedelta(days=(today.weekday() - wd) % 7)
        return d, d + timedelta(days=1)

    # --- bare months and years (need a preposition in English) -------------------------------------
    @rule(rf"\b(?:en|de|del|durante|desde|hasta|in|of|during|for|since|until)\s+(?:el\s+mes\s+de\s+|the\s+month\s+of\s+)?({_FULL})\b")
    def _bare_month_prep(m, today, _t):
        return _month_range(today.year, MONTHS[m.group(1)])

    @rule(rf"\b({_FULL})\b")
    def _bare_month(m, today, _t):
        if m.group(1) in _EN_BARE_NEEDS_CONTEXT:
            return None
        return _month_range(today.year, MONTHS[m.group(1)])

    @rule(rf"\b(?:en el|en|del|de|durante|durante el|in|during|for|of|el ano|the year|year)\s+({_YEAR})\b")
    def _year(m, _today, _t):
        y = int(m.group(1))
        return date(y, 1, 1), date(y + 1, 1, 1)

    return R


RULES = _rules()


def find_dates(text: str, today: date) -> list[DateSpan]:
    """Every date expression in `text`, left to right, without overlaps (earlier rules win)."""
    folded = fold(text)
    taken: list[tuple[int, int]] = []
    found: list[DateSpan] = []
    for regex, fn in RULES:
        for m in regex.finditer(folded):
            s, e = m.span()
            # Trim leading whitespace a rule may have swallowed.
            while s < e and folded[s].isspace():
                s += 1
            if s >= e or any(s < te and ts < e for ts, te in taken):
                continue
            try:
                r = fn(m, today, folded)
            except (ValueError, KeyError, OverflowError):
                r = None
            if not r:
                continue
            taken.append((s, e))
            found.append(DateSpan(text[s:e], r[0], r[1], s, e))
    found.sort(key=lambda d: d.pos)
    return found


_RANGE_OPEN = re.compile(r"(?:\bdel|\bde|\bdesde el|\bdesde|\bentre el|\bentre|\bfrom|\bbetween)\s*$")
_RANGE_JOIN = re.compile(r"^\s*(?:al|a|y el|y|hasta el|hasta|to|through|thru|until|and|-|–)\s*(?:el\s+|the\s+)?$")
_SINCE = re.compile(r"(?:\bdesde el|\bdesde|\ba partir del|\ba partir de|\bsince|\bstarting)\s*$")


def _merge(text: str, spans: list[DateSpan], today: date) -> list[DateSpan]:
    """Join 'del 1 de junio al 15 de junio' / 'from June 1 to June 15' into one range, and turn
    'desde el 1 de junio' / 'since June 1' into [that day, tomorrow) when it is not in the future."""
    folded = fold(text)
    out: list[DateSpan] = []
    i = 0
    while i < len(spans):
        a = spans[i]
        if i + 1 < len(spans):
            b = spans[i + 1]
            if (_RANGE_JOIN.match(folded[a.endpos:b.pos]) and _RANGE_OPEN.search(folded[:a.pos])
                    and a.start < b.end):
                out.append(DateSpan(text[a.pos:b.endpos], a.start, b.end, a.pos, b.endpos))
                i += 2
                continue
        if _SINCE.search(folded[max(0, a.pos - 16):a.pos]) and a.start <= today:
            m = _SINCE.search(folded[max(0, a.pos - 16):a.pos])
            pos = max(0, a.pos - 16) + m.start()
            out.append(DateSpan(text[pos:a.endpos], a.start, today + timedelta(days=1), pos, a.endpos))
        else:
            out.append(a)
        i += 1
    return out


def resolve_dates(text: str, today: date) -> list[DateSpan]:
    """What the linker calls: `find_dates` plus ranges between two dates and 'since <date>'."""
    return _merge(text, find_dates(text, today), today)
