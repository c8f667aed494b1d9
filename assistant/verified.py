"""Verified questions (issue 27): answers a supervisor has checked, answered again exactly and at once
for any flight, date, airport, record or category the same question names, with no model call.

A verified entry keeps the question's *shape* (its words with each linked value set aside: 'cuantos
pasajeros volaron de <airport> a <airport> <date>'), the values it named (the slots, in order) and
the query the model wrote for it (over a view, or over the tables). A new question whose shape is the
same, with the same kinds of values in the same order, gets that query with each slot's literals
replaced by the new question's values, all at once (MEX->CUN and CUN->MEX swap cleanly). Anything
less than a confident match goes to the model as before: a different word, a slot whose old value
is not a literal of the query, two slots that would write different values over one literal, a
different number of values (one passenger against three namesakes).

Prepositions are part of the shape on purpose: 'de MEX a CUN' and 'a MEX desde CUN' have the same
values in the opposite roles. The entry's query runs like any answer (expanded, guarded, masked,
audited with the trace 'verified #id'); an entry that no longer compiles or passes the guard is
never run: it is marked broken (`abordo verified list` shows why) and the question goes to the model.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import sqlglot
from sqlglot import exp

from assistant.errors import AssistantError
from assistant.question.lang import detect_language, fold
from db.appstore import store_engine, utcnow

# Linked values that stand for "another one of the same kind": what a verified question can be asked
# again with. A glossary term is one too when it means one column equal to one value (`_slot`); any
# other term ('sin contar cancelados', 'how many') stays a word of the shape.
SLOT_KINDS = ("airport", "route", "country", "flight", "locator", "ticket", "bag", "date", "date_range",
              "passenger", "value")
VERIFIERS = ("supervisor",)
# Errors that say the database or catalog changed under an entry (not that this role may not read it).
SCHEMA_DRIFT = frozenset({"unknown_column", "unknown_table", "parse_error", "database_error", "execution_error"})

metadata = sa.MetaData()
verified = sa.Table(
    "verified_questions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("lang", sa.Text, nullable=False),
    sa.Column("shape", sa.Text, nullable=False, index=True),
    sa.Column("slots", sa.Text, nullable=False),         # JSON: [[kind, [literal, ...]], ...] in question order
    sa.Column("sql", sa.Text, nullable=False),           # the query the model wrote (over a view or the tables)
    sa.Column("path", sa.Text, nullable=False),          # 'views' | 'tables'
    sa.Column("verified_by", sa.Text, nullable=False),
    sa.Column("verified_at", sa.DateTime, nullable=False),
    sa.Column("broken", sa.Text),                        # why it was last skipped, None while it runs
)


class VerifiedError(AssistantError):
    """A verification refused (the role may not verify, the answer has no query, nothing to store),
    or a file that cannot be imported. The message says which."""


@dataclass(frozen=True)
class Entry:
    id: int | None
    question: str
    lang: str
    shape: str
    slots: tuple[tuple[str, tuple], ...]
    sql: str
    path: str
    verified_by: str
    verified_at: _dt.datetime | None = None
    broken: str | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "question": self.question, "lang": self.lang, "shape": self.shape,
                "slots": [[k, list(v)] for k, v in self.slots], "sql": self.sql, "path": self.path,
                "verified_by": self.verified_by,
                "verified_at": self.verified_at.isoformat() + "Z" if self.verified_at else None,
                "broken": self.broken}


def _engine(app_url: str) -> sa.Engine:
    return store_engine(app_url, metadata)


# --- shape and slots ------------------------------------------------------------------------------

def _literal_values(hint) -> tuple:
    """The literals a hint puts into a query: 'MEX'; ('XA', 401); a day; a range's first day, last
    day and the day after (a model writes BETWEEN first AND last, the rewrites first <= d < after)."""
    v = hint.value
    if hint.kind == "date_range" and isinstance(v, tuple) and len(v) == 2:
        start, after = v
        return (start.isoformat(), (after - _dt.timedelta(days=1)).isoformat(), after.isoformat())
    if isinstance(v, _dt.date):
        return (v.isoformat(),)
    if isinstance(v, (tuple, list)):
        return tuple(x.isoformat() if isinstance(x, _dt.date) else x for x in v)
    return (v,)


_TERM_EQUALS = re.compile(r"^(\w+\.\w+) = '([^']*)'$")


def _slot(hint) -> tuple[str, tuple] | None:
    """(kind, literals) when `hint` is a slot. A glossary term that means one column equal to one value
    ('business class' -> ticket_segments.cabin = 'business', 'volaron' -> status 'flown') is a slot of
    that column: 'en turista' can stand where 'en business' was, never where a status was."""
    if hint.kind == "term":
        m = _TERM_EQUALS.match(str(hint.value))
        return (f"term {m.group(1)}", (m.group(2),)) if m else None
    return (hint.kind, _literal_values(hint)) if hint.kind in SLOT_KINDS else None


def shape_of(question: str, hints: Iterable) -> tuple[str, tuple[tuple[str, tuple], ...]]:
    """The question's shape (folded words, each slot's span as '<kind>') and its slots in order."""
    slots = sorted(((h, s) for h in hints if h.found and h.pos >= 0 and h.text and (s := _slot(h))),
                   key=lambda hs: hs[0].pos)
    text, out, at = "", [], 0
    for h, slot in slots:
        start = question.find(h.text, h.pos)
        if start < at or start < 0:
            continue
        text += question[at:start] + f" <{slot[0].split()[0]}> "
        at = start + len(h.text)
        out.append(slot)
    text += question[at:]
    words = re.findall(r"<\w+>|\w+", fold(text))
    return " ".join(words), tuple(out)


# --- substitution ---------------------------------------------------------------------------------

def _same(literal: exp.Literal, value) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        if literal.is_string:
            return False
        try:
            return float(literal.this) == float(value)
        except ValueError:
            return False
    return literal.is_string and literal.this == str(value)


def _new_literal(value) -> exp.Literal:
    return exp.Literal.number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else exp.Literal.string(str(value))


def substitute(sql: str, dialect: str, old: Sequence[tuple[str, tuple]], new: Sequence[tuple[str, tuple]]) -> str | None:
    """`sql` with each old slot's literals replaced by the new slot's, in one pass; None when that is
    not a confident match (another kind or arity, an old value the query does not hold, one literal
    that would get two values)."""
    if len(old) != len(new) or any(o[0] != n[0] or len(o[1]) != len(n[1]) for o, n in zip(old, new)):
        return None
    mapping: list[tuple[object, object]] = []
    for (_, before), (_, after) in zip(old, new):
        for b, a in zip(before, after):
            if any(_equal(b, b2) and not _equal(a, a2) for b2, a2 in mapping):
                return None                              # one literal, two new values: ambiguous
            mapping.append((b, a))
    from assistant.plan.compile import SQLGLOT_DIALECT

    d = SQLGLOT_DIALECT.get(dialect, dialect)
    try:
        tree = sqlglot.parse_one(sql, read=d)
    except sqlglot.errors.SqlglotError:
        return None
    literals = list(tree.find_all(exp.Literal))
    used = set()
    for lit in literals:
        for i, (b, a) in enumerate(mapping):
            if _same(lit, b):
                lit.replace(_new_literal(a))
                used.add(i)
                break
    # Every slot must reach the query: a value the query does not hold means the shape matched but
    # the query says something else (a range written another way): not confident. A range's three
    # literal forms count as used when one of them is.
    at = 0
    for _, before in old:
        if not any(i in used for i in range(at, at + len(before))):
            return None
        at += len(before)
    return tree.sql(dialect=d)


def _equal(a, b) -> bool:
    return type(a) is type(b) and a == b


# --- the store ------------------------------------------------------------------------------------

def _row(entry: Entry) -> dict:
    return dict(question=entry.question, lang=entry.lang, shape=entry.shape,
                slots=json.dumps([[k, list(v)] for k, v in entry.slots], ensure_ascii=False, default=str),
                sql=entry.sql, path=entry.path, verified_by=entry.verified_by,
                verified_at=entry.verified_at or utcnow(), broken=None)


def add(app_url: str, entry: Entry) -> int:
    with _engine(app_url).begin() as conn:
        return conn.execute(verified.insert().values(**_row(entry))).inserted_primary_key[0]


def _entry(r) -> Entry:
    return Entry(id=r["id"], question=r["question"], lang=r["lang"], shape=r["shape"],
                 slots=tuple((k, tuple(v)) for k, v in json.loads(r["slots"])), sql=r["sql"], path=r["path"],
                 verified_by=r["verified_by"], verified_at=r["verified_at"], broken=r["broken"])


def entries(app_url: str, shape: str | None = None) -> list[Entry]:
    """Every entry (oldest first), or those of one shape."""
    q = sa.select(verified).order_by(verified.c.id)
    if shape is not None:
        q = q.where(verified.c.shape == shape)
    with _engine(app_url).connect() as conn:
        return [_entry(r) for r in conn.execute(q).mappings()]


def remove(app_url: str, entry_id: int) -> bool:
    with _engine(app_url).begin() as conn:
        return bool(conn.execute(verified.delete().where(verified.c.id == entry_id)).rowcount)


def mark(app_url: str, entry_id: int, broken: str | None) -> None:
    with _engine(app_url).begin() as conn:
        conn.execute(verified.update().where(verified.c.id == entry_id).values(broken=broken))


def export_lines(app_url: str) -> list[str]:
    """One JSON object per entry (without its id and status): what `import_lines` reads elsewhere."""
    return [json.dumps({k: v for k, v in e.as_dict().items() if k not in ("id", "broken")}, ensure_ascii=False)
            for e in entries(app_url)]


def import_lines(app_url: str, lines: Iterable[str]) -> int:
    """Entries from `export_lines`' JSONL; all or nothing (a bad line names its number, stores none)."""
    parsed = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            at = d.get("verified_at")
            parsed.append(Entry(id=None, question=str(d["question"]), lang=str(d["lang"]), shape=str(d["shape"]),
                                slots=tuple((str(k), tuple(v)) for k, v in d["slots"]), sql=str(d["sql"]),
                                path=str(d["path"]), verified_by=str(d["verified_by"]),
                                verified_at=_dt.datetime.fromisoformat(at.rstrip("Z")) if at else None))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerifiedError(f"line {n} is not a verified question: {exc}") from None
        if parsed[-1].path not in ("views", "tables"):
            raise VerifiedError(f"line {n}: path must be 'views' or 'tables'")
    with _engine(app_url).begin() as conn:
        for e in parsed:
            conn.execute(verified.insert().values(**_row(e)))
    return len(parsed)


# --- answering from an entry, and verifying an answer ------------------------------------------------

def answer_verified(assistant, ans, question: str, hints, stage) -> bool:
    """Answer `ans` from the newest verified entry `question` confidently matches; False when none
    does (or the store cannot be read: the model answers as before)."""
    from assistant.checks import REPAIRABLE

    app_url = assistant.settings.app_url
    shape, slots = shape_of(question, hints)
    try:
        candidates = entries(app_url, shape)
    except sa.exc.SQLAlchemyError:
        return False
    for entry in reversed(candidates):
        if entry.broken:
            continue
        sql = substitute(entry.sql, assistant.dialect, entry.slots, slots)
        if sql is None:
            continue
        try:
            run_sql, trace, plan = prepared(assistant, entry.path, sql, question)
        except AssistantError as exc:
            mark(app_url, entry.id, f"no longer compiles: {exc}")
            continue
        ans.trace = ("verified", f"verified #{entry.id}", *trace)
        error = assistant._execute(ans, run_sql, question, stage)
        if error is not None and error.code in REPAIRABLE:
            if error.code in SCHEMA_DRIFT:      # the database no longer has what it reads: never again
                mark(app_url, entry.id, f"{error.code}: {error.message}")
            ans.error, ans.sql, ans.trace = None, "", ()   # a rejection for this role: the model answers
            continue
        if error is not None:
            assistant._fail(ans, error)                             # final: a limit, the database down
        ans.sql_generated, ans.path, ans.plan, ans.fast_path = sql, "verified", plan, True   # no model, no summary
        ans.verified = {"id": entry.id, "by": entry.verified_by,
                        "at": entry.verified_at.date().isoformat() if entry.verified_at else None,
                        "question": entry.question}
        return True
    return False


def prepared(assistant, path: str, sql: str, question: str):
    """The SQL to run for a stored query: over a view, read into its plan and expanded; then the
    rewrite passes, as the path that wrote it ran them. Raises an AssistantError (a PlanError, a
    JoinUnclear) when it no longer fits the catalog."""
    from assistant.plan.answer import runnable
    from assistant.plan.compile import parse
    from assistant.plan.plan import read_plan
    from assistant.question.asked import read_asked
    from assistant.rewrite import JoinUnclear

    asked = read_asked(question)
    if path == "views":
        tree = parse(sql, assistant.dialect)
        plan = read_plan(tree, assistant.catalog.views, assistant.dialect).as_dict()
        return (*runnable(assistant, tree, asked), plan)
    try:
        return (*assistant.rewritten(sql, asked), None)
    except JoinUnclear as exc:
        raise VerifiedError(str(exc)) from None


def verify(assistant, question: str, sql: str, path: str, *, user: str, role: str) -> Entry:
    """Store `question` and the query that answered it as verified by `user`. Refused for a role that
    may not verify, a query that no longer runs here, or one that does not hold every value the
    question names (it could not be asked again with others)."""
    if role not in VERIFIERS:
        raise VerifiedError(f"only a {' or '.join(VERIFIERS)} can verify answers (you are {role})")
    if path not in ("views", "tables") or not sql.strip():
        raise VerifiedError("only an answer the model wrote a query for can be verified")
    shape, slots = shape_of(question, assistant._link(question).hints)
    if slots and substitute(sql, assistant.dialect, slots, slots) is None:
        raise VerifiedError("the query does not use every value the question names, so it cannot be reused "
                            "for other values; correct the answer first")
    try:
        prepared(assistant, path, sql, question)
    except AssistantError as exc:
        raise VerifiedError(f"the query does not run on this catalog: {exc}") from None
    entry = Entry(id=None, question=question, lang=detect_language(question), shape=shape, slots=slots,
                  sql=sql, path=path, verified_by=user, verified_at=utcnow())
    return dataclasses.replace(entry, id=add(assistant.settings.app_url, entry))


def status(assistant, entry: Entry) -> str | None:
    """None when `entry` would run today (it compiles against the catalog and the guard accepts it
    for the assistant's role), else why it is skipped."""
    from sql_tools.errors import SqlToolError
    from sql_tools.guard import check_sql

    if entry.broken:
        return entry.broken
    try:
        run_sql, _, _ = prepared(assistant, entry.path, entry.sql, entry.question)
        check_sql(run_sql, catalog=assistant.catalog, dialect=assistant.dialect, role=assistant.role)
    except (AssistantError, SqlToolError) as exc:
        return str(exc)
    return None
