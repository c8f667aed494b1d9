"""Needs-data questions: filling their {PLACEHOLDER}s with values sampled from the evaluated database.

Nothing is question-specific: placeholder values are sampled by generic queries built from the set of
placeholders a question uses and a small vocabulary of conditions read from its notes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections import Counter
from decimal import Decimal

from evaluation.errors import EvalError
from evaluation.questions import Question
from evaluation.readonly_db import ReadOnlyDB

PLACEHOLDER = re.compile(r"\{([A-Z][A-Z_]*)\}")
FLIGHT_KEYS = {"FLIGHT_NUMBER", "FLIGHT_DESIGNATOR", "FLIGHT_DESIGNATOR_SPACED", "FLIGHT_DESIGNATOR_LOOSE",
               "FLIGHT_DATE"}
BOOKING_KEYS = {"RECORD_LOCATOR", "RECORD_LOCATOR_LC"}
TICKET_KEYS = {"TICKET_NUMBER", "TICKET_NUMBER_DASHED"}
PASSENGER_KEYS = {"PASSENGER_ID", "PASSENGER_FULL_NAME", "PASSENGER_FULL_NAME_PLAIN"}
BAG_KEYS = {"BAG_TAG"}
KNOWN = FLIGHT_KEYS | BOOKING_KEYS | TICKET_KEYS | PASSENGER_KEYS | BAG_KEYS
CARRIER = "XA"
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "una": 1, "dos": 2, "tres": 3}


def placeholders_of(q: Question) -> set[str]:
    names = set(PLACEHOLDER.findall(q.question))
    for sql in q.gold.values():
        names |= set(PLACEHOLDER.findall(sql))
    return names


def strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _name_key(*parts) -> str:
    """Accent- and case-insensitive full name."""
    return " ".join(" ".join(strip_accents(str(p)).lower().split()) for p in parts if p)


def note_conditions(notes: str) -> list[str]:
    """SQL predicates (over aliases f, s, t, b, p, g) for the sampling conditions a note states.

    A small vocabulary of phrases the shared/eval notes use; it knows nothing of particular questions."""
    n = notes.lower()
    preds: list[str] = []
    m = re.search(r"departing (\d{4}-\d{2}-\d{2})", n)
    if m:
        day = dt.date.fromisoformat(m.group(1))
        preds.append(f"f.scheduled_departure >= '{day}' AND f.scheduled_departure < '{day + dt.timedelta(days=1)}'")
    if re.search(r"later than scheduled|departed late|delayed flight|running late", n):
        preds.append("f.actual_departure IS NOT NULL AND f.actual_departure > f.scheduled_departure")
    if re.search(r"non-cancelled coupon|not cancelled coupon", n):
        preds.append("s.status <> 'cancelled'")
    m = re.search(r"ticket with (\w+) coupons?", n)
    if m:
        count = NUMBER_WORDS.get(m.group(1)) or (int(m.group(1)) if m.group(1).isdigit() else None)
        if count:
            preds.append(f"(SELECT COUNT(*) FROM ticket_segments s2 WHERE s2.ticket_number = t.ticket_number) = {count}")
    return preds


def _needs_bag(names: set[str], notes: str) -> bool:
    return bool(names & BAG_KEYS) or bool(re.search(r"\bbags?\b|baggage|maleta", notes.lower()))


def _sampling_sql(names: set[str], notes: str) -> tuple[str, list[str]]:
    """One query returning candidate rows for this placeholder combination, and its column names."""
    preds = note_conditions(notes)
    needs_flight = bool(names & FLIGHT_KEYS)
    only_flight = needs_flight and not (names - FLIGHT_KEYS) and not any(p.startswith("s.") for p in preds) \
        and not _needs_bag(names, notes)
    if only_flight:
        cols = ["f.carrier_code", "f.flight_number", "f.scheduled_departure", "f.flight_id"]
        sql = f"SELECT {', '.join(cols)} FROM flights f WHERE f.carrier_code = '{CARRIER}'"
    else:
        cols = ["f.carrier_code", "f.flight_number", "f.scheduled_departure", "f.flight_id", "b.record_locator",
                "t.ticket_number", "p.passenger_id", "p.first_name", "p.last_name", "p.second_last_name",
                "s.segment_id"]
        sql = ("SELECT {cols} FROM ticket_segments s JOIN tickets t ON t.ticket_number = s.ticket_number "
               "JOIN bookings b ON b.booking_id = t.booking_id JOIN passengers p ON p.passenger_id = t.passenger_id "
               "JOIN flights f ON f.flight_id = s.flight_id")
        if _needs_bag(names, notes):
            cols.append("g.bag_tag")
            sql += " JOIN baggage g ON g.segment_id = s.segment_id"
        sql = sql.format(cols=", ".join(cols)) + " WHERE 1 = 1"
        if needs_flight:
            sql += f" AND f.carrier_code = '{CARRIER}'"
    for p in preds:
        sql += f" AND {p}"
    return sql, [c.split(".")[1] for c in cols]


def _date_of(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def values_for(row: dict) -> dict[str, str]:
    """Every placeholder value derivable from one sampled row."""
    v: dict[str, str] = {}
    if row.get("flight_number") is not None:
        num = int(row["flight_number"])
        carrier = str(row.get("carrier_code") or CARRIER).strip()
        v.update(FLIGHT_NUMBER=str(num), FLIGHT_DESIGNATOR=f"{carrier}{num}", FLIGHT_DESIGNATOR_SPACED=f"{carrier} {num}",
                 FLIGHT_DESIGNATOR_LOOSE=f"{carrier.lower()}{num:04d}", FLIGHT_DATE=_date_of(row["scheduled_departure"]))
    if row.get("record_locator"):
        loc = str(row["record_locator"]).strip()
        v.update(RECORD_LOCATOR=loc, RECORD_LOCATOR_LC=loc.lower())
    if row.get("ticket_number"):
        tn = str(row["ticket_number"]).strip()
        v.update(TICKET_NUMBER=tn, TICKET_NUMBER_DASHED=f"{tn[:3]}-{tn[3:]}")
    if row.get("passenger_id") is not None:
        full = " ".join(str(x) for x in (row.get("first_name"), row.get("last_name"), row.get("second_last_name")) if x)
        v.update(PASSENGER_ID=str(int(row["passenger_id"])), PASSENGER_FULL_NAME=full,
                 PASSENGER_FULL_NAME_PLAIN=strip_accents(full))
    if row.get("bag_tag"):
        v["BAG_TAG"] = str(row["bag_tag"])
    return v


def substitute(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), text)


def _is_informative(rows: list[tuple]) -> bool:
    """A gold result worth scoring against: not empty, not a single row of zeros/NULLs."""
    if not rows:
        return False
    return not (len(rows) == 1 and all(v is None or (isinstance(v, (int, float, Decimal)) and v == 0)
                                       for v in rows[0]))


class PlaceholderFiller:
    """Fills needs-data questions from the database, deterministically, one sample per question.

    Candidates come from a generic query per placeholder combination (plus the note conditions); a
    passenger's accent-insensitive full name must be unique in the database. They are tried in the order
    of sha256(question id + candidate key), and the first whose filled gold SQL returns an informative
    result (non-empty, not just zeros) is used. The same database and question id give the same values.
    """

    MAX_TRIES = 200

    def __init__(self, db: ReadOnlyDB):
        self.db = db
        self._unique_names: set[int] | None = None

    def unique_name_ids(self) -> set[int]:
        if self._unique_names is None:
            _, rows = self.db.run("SELECT passenger_id, first_name, last_name, second_last_name FROM passengers")
            keys = Counter(_name_key(*r[1:]) for r in rows)
            self._unique_names = {int(r[0]) for r in rows if keys[_name_key(*r[1:])] == 1}
        return self._unique_names

    def fill(self, q: Question) -> Question:
        names = placeholders_of(q)
        if not names:
            return q
        unknown = names - KNOWN
        if unknown:
            raise EvalError(f"question {q.id}: unknown placeholder(s) {', '.join(sorted(unknown))}")
        sql, cols = _sampling_sql(names, q.notes)
        try:
            _, rows = self.db.run(sql)
        except RuntimeError as exc:
            raise EvalError(f"question {q.id}: cannot sample placeholder values ({exc}); is this the passenger "
                            "schema?") from None
        candidates = [dict(zip(cols, r)) for r in rows]
        if names & PASSENGER_KEYS:
            unique = self.unique_name_ids()
            candidates = [c for c in candidates if int(c["passenger_id"]) in unique]

        def order(c: dict) -> str:
            key = "|".join(str(c.get(k)) for k in cols)
            return hashlib.sha256(f"{q.id}|{key}".encode()).hexdigest()

        candidates.sort(key=order)
        dialect = self.db.dialect
        for c in candidates[: self.MAX_TRIES]:
            values = values_for(c)
            if names - values.keys():
                continue
            try:
                _, gold_rows = self.db.run(substitute(q.gold_sql(dialect), values))
            except RuntimeError:
                continue
            if _is_informative(gold_rows):
                used = {k: values[k] for k in sorted(names)}
                return Question(id=q.id, lang=q.lang, question=substitute(q.question, values),
                                gold={d: substitute(s, values) for d, s in q.gold.items()},
                                category=q.category, notes=q.notes, db_id=q.db_id, fill=used)
        raise EvalError(f"question {q.id}: no rows satisfy its placeholders ({', '.join(sorted(names))}) "
                        "in this database")
