"""Execution-accuracy evaluation: question sets, placeholder filling, scoring, reports.

Everything here measures what users get: every question goes through `Assistant.ask` (the object the
CLI and the UI use), and the SQL that *ran* (`Answer.sql`, as the guard regenerated it) is executed
again beside the gold SQL on a plain read-only connection. Results are compared as multisets of rows
following ``shared/eval/README.md``:

* row order matters only when the gold SQL has a top-level ORDER BY;
* column names are ignored (columns compare by position);
* numbers compare as numbers within 0.005;
* timestamps compare as 'YYYY-MM-DD HH:MM:SS', dates as 'YYYY-MM-DD'; NULL equals NULL.

The guard appends a hidden subject-key column to some queries and always injects a LIMIT of the role's
``max_rows``. The first is dropped before comparing (exactly as `sql_tools.service` drops it). For the
second, when the gold result has more rows than the cap, the prediction is correct if it returned
exactly ``cap`` rows that are the first ``cap`` gold rows (ordered gold) or a sub-multiset of the gold
rows (unordered gold); the record says ``capped``. Run with a role whose cap exceeds every gold result
(``supervisor``, 1000 rows, the default) to avoid the case altogether.

Nothing is question-specific: placeholder values are sampled by generic queries built from the set of
placeholders a question uses and a small vocabulary of conditions read from its notes.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import platform
import re
import sqlite3
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from assistant.errors import AssistantError

TOLERANCE = 0.005


class EvalError(AssistantError):
    """Bad evaluation input (missing file, bad JSON line, unknown placeholder...): one line, exit 2."""


# ------------------------------------------------------------------------------------------------
# question sets


@dataclass
class Question:
    id: str
    lang: str
    question: str
    gold: dict[str, str]            # dialect ('sqlite' / 'postgres') -> gold SQL
    category: str = ""
    notes: str = ""
    db_id: str | None = None        # Spider: the database the question is about
    fill: dict[str, str] = field(default_factory=dict)   # placeholder values used (needs-data)

    def gold_sql(self, dialect: str) -> str:
        sql = self.gold.get(dialect) or self.gold.get("sqlite" if dialect == "postgres" else "postgres")
        if not sql:
            raise EvalError(f"question {self.id}: no gold SQL for {dialect}")
        return sql


def question_lines(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON-lines question file, each object with a
    'question' string, read as it goes: the one reader of question files (`load_questions`, the
    benchmarks). EvalError names the file and line of the first bad one."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"question file {path} does not exist")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}: line {n} is not valid JSON: {exc.msg}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            raise EvalError(f"{path}: line {n} has no 'question' string")
        yield n, obj


def load_questions(path: str | Path) -> list[Question]:
    """Read a JSON-lines question file in the shared/eval format or in Spider's format."""
    path = Path(path)
    out: list[Question] = []
    seen: set[str] = set()
    for n, obj in question_lines(path):
        if "db_id" in obj and "sql" in obj:      # Spider
            q = Question(id=str(obj.get("id") or f"{path.stem}-{n}"), lang=obj.get("lang") or "en",
                         question=obj["question"], gold={"sqlite": obj["sql"]}, category=obj["db_id"],
                         notes=obj.get("notes", ""), db_id=obj["db_id"])
        elif "sql_sqlite" in obj or "sql_postgres" in obj:
            gold = {d: obj[k] for d, k in (("sqlite", "sql_sqlite"), ("postgres", "sql_postgres"))
                    if isinstance(obj.get(k), str) and obj[k].strip()}
            if not gold:
                raise EvalError(f"{path}: line {n} has no gold SQL")
            q = Question(id=str(obj.get("id") or f"{path.stem}-{n}"), lang=obj.get("lang") or "en",
                         question=obj["question"], gold=gold, category=obj.get("category") or "",
                         notes=obj.get("notes") or "")
        else:
            raise EvalError(f"{path}: line {n} has neither sql_sqlite/sql_postgres nor db_id/sql")
        if q.id in seen:
            raise EvalError(f"{path}: line {n} repeats id {q.id}")
        seen.add(q.id)
        out.append(q)
    if not out:
        raise EvalError(f"{path} holds no questions")
    return out


# ------------------------------------------------------------------------------------------------
# read-only execution


class ReadOnlyDB:
    """A plain read-only connection to the evaluated database (not the guarded path)."""

    def __init__(self, url: str, timeout_s: float = 30.0):
        from db.engines import dialect_of, parse_url, sqlite_path

        self.url = url
        self.dialect = dialect_of(url)
        self.timeout_s = timeout_s
        if self.dialect == "sqlite":
            path = sqlite_path(url)
            if not path.exists():
                raise EvalError(f"no database at {path}")
            self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self._conn.execute("PRAGMA query_only = 1")
        else:
            import psycopg2

            parsed = parse_url(url)
            dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            try:
                self._conn = psycopg2.connect(dsn, connect_timeout=5)
            except psycopg2.OperationalError as exc:
                raise EvalError(f"cannot connect to {parsed.render_as_string(hide_password=True)}: "
                                f"{str(exc).strip().splitlines()[0]}") from None
            self._conn.set_session(readonly=True, autocommit=False)

    def run(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Columns and rows; raises RuntimeError with a one-line message on any database error."""
        if self.dialect == "sqlite":
            import time

            deadline = time.monotonic() + self.timeout_s
            self._conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10000)
            try:
                cur = self._conn.execute(sql)
                rows = cur.fetchall()
                cols = [d[0] for d in cur.description or ()]
            except (sqlite3.Error, sqlite3.Warning, ValueError) as exc:
                raise RuntimeError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
            finally:
                self._conn.set_progress_handler(None, 0)
            return cols, rows
        import psycopg2

        try:
            with self._conn.cursor() as cur:
                cur.execute(f"SET LOCAL statement_timeout = {int(self.timeout_s * 1000)}")
                cur.execute(sql)
                rows = [tuple(r) for r in cur.fetchall()]
                cols = [d[0] for d in cur.description or ()]
            return cols, rows
        except psycopg2.Error as exc:
            raise RuntimeError(str(exc).strip().splitlines()[0]) from None
        finally:
            self._conn.rollback()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


# ------------------------------------------------------------------------------------------------
# placeholders


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


# ------------------------------------------------------------------------------------------------
# comparison


_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(?:Z|[+-]00(?::?00)?)?$")


def normalise(v):
    """A comparable form of one value (numbers as float, timestamps as 'YYYY-MM-DD HH:MM:SS')."""
    if v is None:
        return None
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float, Decimal)):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, dt.timedelta):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    s = str(v)
    m = _TS.match(s)
    if m:
        t = m.group(2)
        return f"{m.group(1)} {t if len(t) == 8 else t + ':00'}"
    return s


def _values_equal(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TOLERANCE + 1e-9
    return a == b


def _rows_equal(r1: tuple, r2: tuple) -> bool:
    return len(r1) == len(r2) and all(_values_equal(a, b) for a, b in zip(r1, r2))


def _sort_key(row: tuple):
    return tuple((0, "") if v is None else (1, round(v, 2), "") if isinstance(v, float) else (2, 0, str(v))
                 for v in row)


def _multiset_diff(gold: list[tuple], pred: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """(gold rows with no match in pred, pred rows left over), matching within the tolerance."""
    g_sorted, p_sorted = sorted(gold, key=_sort_key), sorted(pred, key=_sort_key)
    if len(g_sorted) == len(p_sorted) and all(_rows_equal(a, b) for a, b in zip(g_sorted, p_sorted)):
        return [], []
    remaining = list(p_sorted)
    missing = []
    for row in g_sorted:
        for i, cand in enumerate(remaining):
            if _rows_equal(row, cand):
                del remaining[i]
                break
        else:
            missing.append(row)
    return missing, remaining


def has_top_level_order_by(sql: str) -> bool:
    """ORDER BY at parenthesis depth 0, outside strings and comments."""
    depth, i, n = 0, 0, len(sql)
    text = sql
    while i < n:
        c = text[i]
        if c in "'\"":
            j = text.find(c, i + 1)
            while j != -1 and j + 1 < n and text[j + 1] == c:
                j = text.find(c, j + 2)
            i = n if j == -1 else j + 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j == -1 else j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and re.match(r"order\s+by\b", text[i:i + 20], re.IGNORECASE) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            return True
        i += 1
    return False


def _has_top_level_distinct(sql: str) -> bool:
    return bool(re.match(r"\s*select\s+distinct\b", sql, re.IGNORECASE))


@dataclass
class Comparison:
    correct: bool
    reason: str = ""        # '' when correct; else error code / row count / value mismatch
    detail: str = ""
    gold_rows: int = 0
    pred_rows: int = 0
    ordered: bool = False
    capped: bool = False


def _fmt(row: tuple) -> str:
    return "(" + ", ".join("NULL" if v is None else f"{v:g}" if isinstance(v, float) else repr(v) for v in row) + ")"


def compare_results(gold: list[tuple], pred: list[tuple], *, ordered: bool, cap: int | None = None) -> Comparison:
    """Compare two result sets by the shared/eval scoring rules (values are normalised here)."""
    g = [tuple(normalise(v) for v in r) for r in gold]
    p = [tuple(normalise(v) for v in r) for r in pred]
    res = Comparison(correct=False, gold_rows=len(g), pred_rows=len(p), ordered=ordered)
    if g and p and len(g[0]) != len(p[0]):
        res.reason, res.detail = "column_count", f"gold has {len(g[0])} columns, prediction {len(p[0])}"
        return res
    if cap is not None and len(g) > cap and len(p) == cap:
        res.capped = True
        if ordered:
            g = g[:cap]
        else:
            missing, extra = _multiset_diff(g, p)
            if not extra:
                res.correct = True
                return res
            res.reason, res.detail = "value_mismatch", "not in gold: " + ", ".join(_fmt(r) for r in extra[:3])
            return res
    if len(g) != len(p):
        res.reason = "row_count"
        res.detail = f"gold {len(g)} rows, prediction {len(p)} rows"
        missing, extra = _multiset_diff(g, p) if len(g) + len(p) <= 4000 else ([], [])
        if missing[:2] or extra[:2]:
            res.detail += "; missing " + ", ".join(_fmt(r) for r in missing[:2]) if missing else ""
            res.detail += "; extra " + ", ".join(_fmt(r) for r in extra[:2]) if extra else ""
        return res
    if ordered:
        for i, (a, b) in enumerate(zip(g, p)):
            if not _rows_equal(a, b):
                missing, extra = _multiset_diff(g, p)
                res.reason = "order_mismatch" if not missing and not extra else "value_mismatch"
                res.detail = f"row {i + 1}: gold {_fmt(a)}, prediction {_fmt(b)}"
                return res
        res.correct = True
        return res
    missing, extra = _multiset_diff(g, p)
    if missing or extra:
        res.reason = "value_mismatch"
        res.detail = ("missing " + ", ".join(_fmt(r) for r in missing[:2]) + "; extra "
                      + ", ".join(_fmt(r) for r in extra[:2]))
        return res
    res.correct = True
    return res


# ------------------------------------------------------------------------------------------------
# one question


@dataclass
class Record:
    id: str
    lang: str
    category: str
    question: str
    gold_sql: str
    system: str = "abordo"
    db_id: str | None = None
    predicted_sql: str = ""
    sql_generated: str = ""
    correct: bool = False
    reason: str = ""
    detail: str = ""
    error: str | None = None
    refused: bool = False
    fast_path: bool = False
    join_fixed: bool = False
    gold_rows: int = 0
    pred_rows: int = 0
    ordered: bool = False
    capped: bool = False
    latency_s: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0
    new_prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)
    answer: str = ""
    fill: dict[str, str] = field(default_factory=dict)


def _strip_subject_key(cols: list[str], rows: list[tuple], shown_columns: int | None, sql: str):
    """Drop the guard's hidden trailing subject-key column, as sql_tools.service does."""
    if shown_columns is None or not cols or len(cols) != shown_columns + 1:
        return rows
    rows = [r[:-1] for r in rows]
    if _has_top_level_distinct(sql):
        seen, out = set(), []
        for r in rows:
            if r not in seen:
                seen.add(r)
                out.append(r)
        rows = out
    return rows


def score(db: ReadOnlyDB, q: Question, predicted_sql: str, *, cap: int | None = None,
          shown_columns: int | None = None) -> Comparison:
    """Run gold and predicted SQL on `db` and compare them."""
    gold_sql = q.gold_sql(db.dialect)
    ordered = has_top_level_order_by(gold_sql)
    try:
        _, gold_rows = db.run(gold_sql)
    except RuntimeError as exc:
        return Comparison(False, "gold_error", str(exc)[:200], ordered=ordered)
    if not predicted_sql.strip():
        return Comparison(False, "no_sql", "", gold_rows=len(gold_rows), ordered=ordered)
    try:
        cols, pred_rows = db.run(predicted_sql)
    except RuntimeError as exc:
        return Comparison(False, "execution_error", str(exc)[:200], gold_rows=len(gold_rows), ordered=ordered)
    pred_rows = _strip_subject_key(cols, pred_rows, shown_columns, predicted_sql)
    if cap is not None and len(pred_rows) > cap:
        # The guard injects LIMIT cap + 1 so the executor can tell a truncated result; users see `cap` rows.
        pred_rows = pred_rows[:cap]
    return compare_results(gold_rows, pred_rows, ordered=ordered, cap=cap)


def evaluate_answer(db: ReadOnlyDB, q: Question, ans, *, cap: int | None) -> Record:
    """Score one `Answer` from `Assistant.ask`."""
    rec = Record(id=q.id, lang=q.lang, category=q.category, question=q.question, gold_sql=q.gold_sql(db.dialect),
                 db_id=q.db_id, predicted_sql=ans.sql or "", sql_generated=ans.sql_generated or "",
                 error=ans.error, refused=ans.refused, fast_path=ans.fast_path,
                 join_fixed=ans.join_fixed, latency_s=round(ans.timings.get("total", 0.0), 4), llm_calls=ans.llm_calls,
                 prompt_tokens=ans.prompt_tokens, new_prompt_tokens=ans.new_prompt_tokens,
                 completion_tokens=ans.completion_tokens, cache_hit=ans.cache_hit,
                 timings={k: round(v, 4) for k, v in ans.timings.items()}, answer=ans.text or "", fill=dict(q.fill))
    if ans.refused or ans.error or not ans.sql:
        cmp_ = score(db, q, "", cap=cap)
        rec.gold_rows, rec.ordered = cmp_.gold_rows, cmp_.ordered
        rec.reason = "refused" if ans.refused else (ans.error or "no_sql")
        rec.detail = (ans.text or "")[:200]
        if cmp_.reason == "gold_error":
            rec.reason, rec.detail = "gold_error", cmp_.detail
        return rec
    shown = len(ans.rows.columns) or None
    cmp_ = score(db, q, ans.sql, cap=cap, shown_columns=shown)
    rec.correct, rec.reason, rec.detail = cmp_.correct, cmp_.reason, cmp_.detail
    rec.gold_rows, rec.pred_rows, rec.ordered, rec.capped = cmp_.gold_rows, cmp_.pred_rows, cmp_.ordered, cmp_.capped
    return rec


# ------------------------------------------------------------------------------------------------
# aggregation and reports


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarise(records: list[Record]) -> dict:
    n = len(records)
    if not n:
        return {"questions": 0}
    lat = [r.latency_s for r in records]
    fast = [r for r in records if r.fast_path]
    model = [r for r in records if not r.fast_path]

    def acc(rs):
        return {"n": len(rs), "correct": sum(r.correct for r in rs),
                "accuracy": round(sum(r.correct for r in rs) / len(rs), 4) if rs else None}

    by = lambda key: {k: acc(v) for k, v in sorted(_group(records, key).items())}
    return {
        "questions": n, **acc(records),
        "by_lang": by(lambda r: r.lang), "by_category": by(lambda r: r.category or "-"),
        "fast_path": acc(fast), "model_path": acc(model), "fast_path_share": round(len(fast) / n, 4),
        "join_fixed": acc([r for r in records if r.join_fixed]),
        "p50_s": round(pct(lat, 0.5), 3), "p95_s": round(pct(lat, 0.95), 3), "mean_s": round(statistics.fmean(lat), 3),
        "model_p50_s": round(pct([r.latency_s for r in model], 0.5), 3) if model else None,
        "llm_calls_per_q": round(sum(r.llm_calls for r in records) / n, 3),
        "prompt_tokens_per_q": round(sum(r.prompt_tokens for r in records) / n, 1),
        "new_prompt_tokens_per_q": round(sum(r.new_prompt_tokens for r in records) / n, 1),
        "completion_tokens_per_q": round(sum(r.completion_tokens for r in records) / n, 1),
        "errors": dict(Counter(r.reason for r in records if not r.correct)),
        "stage_p50_s": {s: round(pct([r.timings.get(s, 0.0) for r in records], 0.5), 3)
                        for s in ("link", "generate", "execute", "summarise")},
    }


def _group(records, key) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        out[key(r)].append(r)
    return out


def _a(x: dict) -> str:
    return "-" if not x.get("n") else f"{x['accuracy'] * 100:5.1f}% ({x['correct']}/{x['n']})"


def format_summary(s: dict, title: str = "abordo") -> str:
    if not s.get("questions"):
        return f"{title}: no questions"
    lines = [f"== {title}: {s['questions']} questions ==",
             f"{'accuracy':<28}{_a(s)}",
             f"{'  model path':<28}{_a(s['model_path'])}",
             f"{'  fast path':<28}{_a(s['fast_path'])}   (share {s['fast_path_share'] * 100:.0f}%)"]
    if s.get("join_fixed", {}).get("n"):
        lines.append(f"{'  joins repaired':<28}{_a(s['join_fixed'])}")
    for lang, v in s["by_lang"].items():
        lines.append(f"{'  lang ' + lang:<28}{_a(v)}")
    lines.append("by category:")
    for cat, v in s["by_category"].items():
        lines.append(f"{'  ' + cat:<28}{_a(v)}")
    lines += [f"{'latency p50 / p95':<28}{s['p50_s']:.2f} s / {s['p95_s']:.2f} s",
              f"{'model calls / question':<28}{s['llm_calls_per_q']:.2f}",
              f"{'prompt tokens / question':<28}{s['prompt_tokens_per_q']:.0f}",
              f"{'new prompt tokens / q':<28}{s['new_prompt_tokens_per_q']:.0f}",
              f"{'stage p50 (s)':<28}" + "  ".join(f"{k} {v:.2f}" for k, v in s["stage_p50_s"].items())]
    if s.get("errors"):
        lines.append(f"{'failures by reason':<28}" + ", ".join(f"{k} {v}" for k, v in sorted(s["errors"].items())))
    return "\n".join(lines)


def format_failures(records: list[Record], limit: int | None = None) -> str:
    out = []
    bad = [r for r in records if not r.correct]
    for r in bad[:limit]:
        out += [f"--- {r.id} [{r.lang}/{r.category}]{' fast-path' if r.fast_path else ''}: {r.reason}",
                f"  question:  {r.question}",
                f"  gold:      {r.gold_sql}",
                f"  predicted: {r.predicted_sql or r.sql_generated or '(none)'}"]
        if r.detail:
            out.append(f"  why:       {r.detail}")
    return "\n".join(out)


def format_side_by_side(a: dict, b: dict, name_a: str = "abordo", name_b: str = "langchain-sql-agent") -> str:
    def ratio(x, y):
        return "-" if not x or not y else f"{x / y:.2f}x"

    rows = [("accuracy", f"{a['accuracy'] * 100:.1f}%", f"{b['accuracy'] * 100:.1f}%", ratio(a["accuracy"], b["accuracy"])),
            ("p50 latency (s)", f"{a['p50_s']:.2f}", f"{b['p50_s']:.2f}", ratio(b["p50_s"], a["p50_s"])),
            ("p95 latency (s)", f"{a['p95_s']:.2f}", f"{b['p95_s']:.2f}", ratio(b["p95_s"], a["p95_s"])),
            ("model calls / question", f"{a['llm_calls_per_q']:.2f}", f"{b['llm_calls_per_q']:.2f}",
             ratio(b["llm_calls_per_q"], a["llm_calls_per_q"])),
            ("prompt tokens / question", f"{a['prompt_tokens_per_q']:.0f}", f"{b['prompt_tokens_per_q']:.0f}",
             ratio(b["prompt_tokens_per_q"], a["prompt_tokens_per_q"]))]
    for lang in sorted(set(a["by_lang"]) | set(b["by_lang"])):
        x, y = a["by_lang"].get(lang, {}), b["by_lang"].get(lang, {})
        rows.append((f"accuracy ({lang})", _pc(x), _pc(y), ratio(x.get("accuracy"), y.get("accuracy"))))
    w = max(len(name_a), 10)
    head = f"{'':<26}{name_a:>{w}}  {name_b:>20}  {'ratio':>8}"
    body = [f"{k:<26}{x:>{w}}  {y:>20}  {r:>8}" for k, x, y, r in rows]
    note = "ratio: accuracy abordo/baseline; latency, calls and tokens baseline/abordo (higher = abordo better)"
    return "\n".join([head, *body, note])


def _pc(x: dict) -> str:
    return "-" if not x.get("n") else f"{x['accuracy'] * 100:.1f}%"


def machine_info(settings=None) -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cores": os.cpu_count(),
            "cpu": _cpu_model()}
    try:
        import llama_cpp

        info["llama_cpp"] = llama_cpp.__version__
    except Exception:  # noqa: BLE001
        info["llama_cpp"] = None
    if settings is not None:
        info["model_setting"] = settings.model
        try:
            from assistant.models import locate

            local = locate(settings.model)
            info["model_file"] = str(local.path)
            info["model"] = local.label
        except Exception:  # noqa: BLE001
            info["model_file"] = None
        info["n_threads"] = settings.n_threads
        info["n_ctx"] = settings.n_ctx
        info["openai_base_url"] = settings.openai_base_url or None
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def records_to_json(records: list[Record]) -> list[dict]:
    return [asdict(r) for r in records]


def compare_runs(old: dict, new: dict) -> str:
    """What got better or worse between two `--json` outputs."""
    out = []
    for system in sorted(set(old.get("systems", {})) | set(new.get("systems", {}))):
        o = {r["id"]: r for r in old.get("systems", {}).get(system, {}).get("records", [])}
        n = {r["id"]: r for r in new.get("systems", {}).get(system, {}).get("records", [])}
        so = old.get("systems", {}).get(system, {}).get("summary", {})
        sn = new.get("systems", {}).get(system, {}).get("summary", {})
        out.append(f"== {system} ==")
        better = sorted(i for i in o.keys() & n.keys() if not o[i]["correct"] and n[i]["correct"])
        worse = sorted(i for i in o.keys() & n.keys() if o[i]["correct"] and not n[i]["correct"])
        out.append(f"better ({len(better)}): " + (", ".join(better) or "-"))
        out.append(f"worse ({len(worse)}): " + (", ".join(worse) or "-"))
        for i in worse:
            out.append(f"  {i}: {n[i]['reason']} {n[i].get('detail', '')}"[:300])
        only_o, only_n = sorted(o.keys() - n.keys()), sorted(n.keys() - o.keys())
        if only_o or only_n:
            out.append(f"only in old: {len(only_o)}; only in new: {len(only_n)}")
        for key, label, unit in (("accuracy", "accuracy", "%"), ("p50_s", "p50 latency", " s"),
                                 ("p95_s", "p95 latency", " s"), ("llm_calls_per_q", "model calls / q", ""),
                                 ("new_prompt_tokens_per_q", "new prompt tokens / q", ""),
                                 ("fast_path_share", "fast-path share", "%")):
            a, b = so.get(key), sn.get(key)
            if a is None or b is None:
                continue
            scale = 100 if unit == "%" else 1
            out.append(f"{label:<24}{a * scale:10.2f} -> {b * scale:10.2f}{unit}  ({(b - a) * scale:+.2f})")
    return "\n".join(out)
