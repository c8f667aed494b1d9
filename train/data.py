"""`abordo train data`: generate execution-verified (question, SQL) training pairs for a database.

For each pair: a shape (`train.shapes`) writes a clean question and its gold query from the
database's facts; `train.noise` types it the way staff do; the assistant's own linker reads the typed
question (so the hints are exactly the ones the model will see at inference) and resolves its dates,
which fill the query's date slot; the guard must accept the query for the dialect; the query must run
on every database given (SQLite and PostgreSQL, seeded alike) with the same, plausible result. Pairs
that fail any step are dropped and counted by reason. The prompt of each pair is built by
`assistant.prompts` — the same functions the assistant calls.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from assistant import prompts
from assistant.question.lang import search_form
from assistant.question.link import link
from db.catalog import Catalog
from db.engines import dialect_of, make_engine
from train.errors import TrainingDataError
from train.facts import Facts, read_facts
from train.noise import roughen
from train.shapes import SHAPES
from train.shapes.draft import DATE_SLOT, Ctx, Draft

FORMAT = "abordo-train-data/1"
GENERATOR_VERSION = 1
ZERO_KEEP = 0.15          # share of zero-count answers kept: "none today" is a real answer, but rarer
MAX_PER_SQL = 2           # at most this many phrasings of one exact query
VALID_SHARE = 0.05


@dataclass
class Pair:
    id: str
    shape: str
    lang: str
    dialect: str
    question: str
    sql: str
    messages: list[dict]
    source: str = "generated"

    def to_json(self) -> dict:
        return {"id": self.id, "shape": self.shape, "lang": self.lang, "dialect": self.dialect,
                "question": self.question, "sql": self.sql, "messages": self.messages,
                "completion": self.sql, "source": self.source}


@dataclass
class Report:
    pairs: list[Pair] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)


def _normal(v):
    if isinstance(v, (float, Decimal)):
        f = float(v)
        return None if math.isnan(f) else round(f, 2)
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return v


def _result(conn, sql: str, limit: int = 2000) -> list[tuple]:
    rows = conn.execute(sa.text(sql.replace(":", r"\:"))).fetchmany(limit)
    return sorted((tuple(_normal(v) for v in r) for r in rows), key=repr)


class Verifier:
    """Runs gold queries on each database and compares what they return."""

    def __init__(self, urls: Sequence[str], catalog: Catalog):
        self.catalog = catalog
        self.engines = [(dialect_of(u), make_engine(u)) for u in urls]
        self.conns = [(d, e.connect()) for d, e in self.engines]

    def close(self) -> None:
        for _d, c in self.conns:
            c.close()
        for _d, e in self.engines:
            e.dispose()

    def check(self, sql_of: Callable[[str], str]) -> tuple[str | None, list[tuple] | None]:
        """(None, rows) when every database agrees and the guard accepts; else (reason, None)."""
        from sql_tools.errors import SqlToolError
        from sql_tools.guard import check_sql

        results = []
        for dialect, conn in self.conns:
            sql = sql_of(dialect)
            try:
                check_sql(sql, catalog=self.catalog, dialect=dialect, role="supervisor")
            except SqlToolError as exc:
                return f"guard:{getattr(exc, 'code', 'rejected')}", None
            try:
                results.append(_result(conn, sql))
            except sa.exc.DBAPIError as exc:
                conn.rollback()
                return f"error:{dialect}:{type(exc.orig).__name__}", None
        if any(r != results[0] for r in results[1:]):
            return "engines_disagree", None
        return None, results[0]


def _plausible(rows: list[tuple], rng: random.Random) -> str | None:
    if not rows:
        return "no_rows"
    if len(rows) == 1 and len(rows[0]) == 1:
        v = rows[0][0]
        if v is None:
            return "null_result"
        if v == 0 and rng.random() > ZERO_KEEP:
            return "zero_result"
    if all(v is None for r in rows for v in r):
        return "null_result"
    return None


def _fill_date(draft: Draft, linked) -> str | None:
    """The date slot as the linker resolved the question's period, in the form the hints show."""
    dates = [h for h in linked.hints if h.kind in ("date", "date_range")]
    if len(dates) != 1:
        return None
    h = dates[0]
    col = draft.date_column
    if h.kind == "date":
        return f"date({col}) = '{h.value.isoformat()}'"
    first, end = h.value
    return f"date({col}) BETWEEN '{first.isoformat()}' AND '{(end - timedelta(days=1)).isoformat()}'"


def _with_date(sql: str, date_sql: str | None) -> str:
    """Fill the date slot; a one-table query names its columns without the alias, as it was built."""
    if date_sql and " JOIN " not in sql:
        date_sql = re.sub(r"\(\w+\.(\w+)\)", r"(\1)", date_sql)
    return sql.replace(DATE_SLOT, date_sql or "")


class Sampler:
    """Stored values to fill slots, read once per column, drawn with the generator's seed."""

    def __init__(self, url: str, rng: random.Random):
        self.engine = make_engine(url)
        self.rng = rng
        self.cache: dict[tuple[str, str], list] = {}

    def __call__(self, table: str, column: str, n: int) -> list:
        key = (table, column)
        if key not in self.cache:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.text(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL '
                                            f'ORDER BY "{column}" LIMIT 20000')).fetchall()
            self.cache[key] = [r[0] for r in rows]
        values = self.cache[key]
        return self.rng.sample(values, k=min(n, len(values))) if values else []

    def people(self, facts: Facts) -> list[tuple[int, str]]:
        """(id, 'First Last') of people whose first and last name together are unique (accent-blind)."""
        subject = facts.catalog.subject_table
        if not subject:
            return []
        st = facts.tables[subject]
        names = [c.name for c in st.columns.values() if c.pii == "identifier" and c.lookup_key
                 and "search" not in c.name][:2]
        if len(names) < 2 or not st.primary_key:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(f'SELECT "{st.primary_key[0]}", "{names[0]}", "{names[1]}" FROM "{subject}" '
                                        f'ORDER BY "{st.primary_key[0]}" LIMIT 50000')).fetchall()
        forms = Counter(search_form(f"{a} {b}") for _i, a, b in rows)
        return [(int(i), f"{a} {b}") for i, a, b in rows if forms[search_form(f"{a} {b}")] == 1]

    def close(self):
        self.engine.dispose()


def _stored_values(facts: Facts) -> dict[tuple[str, str], list[str]]:
    return {(t.name, c.name): c.values for t in facts.tables.values() for c in t.columns.values() if c.values}


def _fetch_for(url: str, catalog_path: str | None):
    from db.settings import load_settings
    from sql_tools.lookup import make_fetch

    settings = load_settings().replace(database_url=url, catalog_path=catalog_path or "")
    if dialect_of(url) == "postgres":
        settings = settings.replace(reader_url=url)
    return make_fetch(settings, "supervisor")


def generate(catalog: Catalog, url: str, *, n: int, seed: int = 20261203, verify_on: Sequence[str] = (),
             catalog_path: str | None = None, dialects: Sequence[str] = ("sqlite", "postgres"),
             today_range: tuple[date, date] | None = None, feedback: Sequence[tuple[str, str]] = (),
             progress: Callable[[int, int], None] | None = None) -> Report:
    """`n` verified pairs from the database at `url` (facts, linker), each also run on `verify_on`."""
    rng = random.Random(seed)
    facts = read_facts(catalog, url)
    sampler = Sampler(url, rng)
    people = sampler.people(facts)
    fetch = _fetch_for(url, catalog_path)
    values = _stored_values(facts)
    verifier = Verifier([url, *verify_on], catalog)
    names, weights = zip(*[(k, w) for k, (_f, w) in SHAPES.items()])
    lo, hi = today_range or (date(2025, 3, 1), date(2026, 11, 30))
    span = (hi - lo).days
    report = Report()
    seen_q: set[str] = set()
    per_sql: Counter = Counter()
    attempts = 0
    try:
        for question, sql in feedback:
            _add_feedback_pair(report, catalog, verifier, fetch, values, question, sql, rng, dialects)
        while len(report.pairs) < n:
            attempts += 1
            if attempts > n * 25:
                raise TrainingDataError(f"only {len(report.pairs)} of {n} pairs verified after {attempts} attempts "
                                        f"(dropped: {dict(report.dropped.most_common(6))}): does the database hold data?")
            shape = rng.choices(names, weights=weights)[0]
            lang = rng.choice(["es", "en"])
            today = lo + timedelta(days=rng.randrange(span + 1))
            ctx = Ctx(facts=facts, rng=rng, lang=lang, today=today, samples=sampler, extra={"people": people})
            try:
                draft = SHAPES[shape][0](ctx)
            except (ValueError, IndexError):
                draft = None
            if draft is None:
                report.dropped["shape_not_applicable"] += 1
                continue
            question = roughen(re.sub(r"\s+", " ", draft.question), lang, rng, protect=draft.protect)
            key = search_form(question)
            if key in seen_q:
                report.dropped["duplicate_question"] += 1
                continue
            linked = link(question, catalog=catalog, today=today, fetch=fetch, values=values)
            dialect = rng.choice(list(dialects))
            if draft.refusal:
                pair_sql = {d: "REFUSE" for d in dialects}
            else:
                date_sql = None
                if draft.date_column:
                    date_sql = _fill_date(draft, linked)
                    if date_sql is None:
                        report.dropped["date_not_linked"] += 1
                        continue
                pair_sql = {d: _with_date(draft.sql_for(d), date_sql) for d in dialects}
                if any(h.kind == "passenger" and "ambiguous" in h.line for h in linked.hints):
                    report.dropped["name_ambiguous"] += 1
                    continue
                reason, rows = verifier.check(lambda d, sqls=pair_sql: sqls.get(d, sqls[dialects[0]]))
                if reason is None:
                    reason = _plausible(rows, rng)
                if reason:
                    report.dropped[reason] += 1
                    continue
            if per_sql[pair_sql[dialect]] >= MAX_PER_SQL:
                report.dropped["duplicate_sql"] += 1
                continue
            per_sql[pair_sql[dialect]] += 1
            seen_q.add(key)
            report.pairs.append(_pair(len(report.pairs), draft.shape, lang, dialect, question,
                                      pair_sql[dialect], linked.prompt_lines(), catalog))
            if progress:
                progress(len(report.pairs), n)
    finally:
        verifier.close()
        sampler.close()
    return report


def _pair(index: int, shape: str, lang: str, dialect: str, question: str, sql: str, hints: list[str],
          catalog: Catalog, source: str = "generated") -> Pair:
    messages = [{"role": "system", "content": prompts.taught_prefix(catalog, dialect)},
                {"role": "user", "content": prompts.question_message(question, hints=hints, context=[])}]
    digest = hashlib.sha256(f"{question}\n{sql}".encode()).hexdigest()[:12]
    return Pair(id=f"{source[:3]}-{index:05d}-{digest}", shape=shape, lang=lang, dialect=dialect,
                question=question, sql=sql, messages=messages, source=source)


def _add_feedback_pair(report: Report, catalog, verifier: Verifier, fetch, values, question: str, sql: str,
                       rng, dialects) -> None:
    """A staff-verified pair (👍 on an answer): kept when its SQL still runs alike everywhere."""
    from assistant.question.lang import detect_language
    from db.settings import DEFAULT_TODAY

    reason, _rows = verifier.check(lambda _d: sql)
    if reason:
        report.dropped[f"feedback_{reason}"] += 1
        return
    linked = link(question, catalog=catalog, today=DEFAULT_TODAY, fetch=fetch, values=values)
    report.pairs.append(_pair(len(report.pairs), "feedback", detect_language(question), rng.choice(list(dialects)), question, sql,
                              linked.prompt_lines(), catalog, source="feedback"))


def feedback_pairs(app_url: str) -> list[tuple[str, str]]:
    """(question, SQL) of answers staff rated 👍 in the feedback store (none when there is no store)."""
    from assistant.feedback import list_feedback

    try:
        rows = list_feedback(app_url, limit=100_000)
    except sa.exc.SQLAlchemyError:
        return []
    seen, out = set(), []
    for fb in rows:
        if fb.rating == 1 and fb.sql and not fb.error and (fb.question, fb.sql) not in seen:
            seen.add((fb.question, fb.sql))
            out.append((fb.question, fb.sql))
    return out


def write_dataset(report: Report, out: Path, *, seed: int, meta: dict) -> dict:
    """train.jsonl, valid.jsonl and manifest.json in `out` (written whole, then renamed into place)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 1)
    pairs = list(report.pairs)
    rng.shuffle(pairs)
    n_valid = max(1, int(len(pairs) * VALID_SHARE)) if len(pairs) >= 20 else 0
    splits = {"valid": pairs[:n_valid], "train": pairs[n_valid:]}
    digest = hashlib.sha256()
    for name, rows in splits.items():
        text = "".join(json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in rows)
        digest.update(text.encode())
        tmp = out / f".{name}.jsonl.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out / f"{name}.jsonl")
    counts = Counter((p.shape, p.lang) for p in pairs)
    manifest = {
        "format": FORMAT, "generator_version": GENERATOR_VERSION, "seed": seed,
        "data_hash": digest.hexdigest(), "pairs": len(pairs),
        "splits": {k: len(v) for k, v in splits.items()},
        "by_shape": {s: {lang: counts[(s, lang)] for lang in ("es", "en")} for s in sorted({s for s, _ in counts})},
        "by_lang": dict(Counter(p.lang for p in pairs)), "by_dialect": dict(Counter(p.dialect for p in pairs)),
        "by_source": dict(Counter(p.source for p in pairs)),
        "dropped": dict(report.dropped.most_common()), **meta,
    }
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out / "manifest.json")
    return manifest


def read_dataset(data_dir: Path) -> tuple[list[dict], list[dict], dict]:
    """(train, valid, manifest) of a dataset written by `write_dataset`, with its hash re-checked."""
    try:
        manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
        texts = {name: (data_dir / f"{name}.jsonl").read_text(encoding="utf-8") for name in ("valid", "train")}
    except FileNotFoundError as exc:
        raise TrainingDataError(f"{data_dir} is not a training dataset ({Path(exc.filename).name} is missing): "
                                "make one with 'abordo train data'") from None
    except (OSError, ValueError) as exc:
        raise TrainingDataError(f"{data_dir}: cannot read the dataset ({exc})") from None
    digest = hashlib.sha256()
    for name in ("valid", "train"):
        digest.update(texts[name].encode())
    if digest.hexdigest() != manifest.get("data_hash"):
        raise TrainingDataError(f"{data_dir}: the data does not match its manifest's hash (edited or truncated); "
                                "regenerate it with 'abordo train data'")
    rows = {name: [json.loads(line) for line in text.splitlines() if line.strip()] for name, text in texts.items()}
    return rows["train"], rows["valid"], manifest
