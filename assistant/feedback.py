"""👍/👎 on answers, stored with the question and the SQL that ran, in abordo's own store (app_url).

Why keep the SQL: a thumbs-up on a question and its SQL is a verified example, the material a later
step uses to curate few-shot examples and evaluation questions; a thumbs-down points at a question to
fix. Only the question and SQL are kept, never result rows (they hold personal data).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import sqlalchemy as sa

from db.appstore import store_engine, utcnow

metadata = sa.MetaData()
feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("sql", sa.Text),
    sa.Column("rating", sa.Integer, nullable=False),     # +1 or -1
    sa.Column("lang", sa.Text),
    sa.Column("model", sa.Text),
    sa.Column("error", sa.Text),
)


@dataclass(frozen=True)
class Feedback:
    user: str
    role: str
    question: str
    sql: str | None
    rating: int
    lang: str | None = None
    model: str | None = None
    error: str | None = None
    ts: _dt.datetime | None = None
    id: int | None = None


def _engine(app_url: str) -> sa.Engine:
    return store_engine(app_url, metadata)   # a store error stays SQLAlchemy's: the API answers it with a 503


def add_feedback(app_url: str, fb: Feedback) -> int:
    """Store one rating; returns its id. The rating must be +1 or -1."""
    if fb.rating not in (1, -1):
        raise ValueError("rating must be +1 or -1")
    with _engine(app_url).begin() as conn:
        res = conn.execute(feedback.insert().values(
            ts=fb.ts or utcnow(), user_name=fb.user, role=fb.role,
            question=fb.question, sql=fb.sql, rating=fb.rating, lang=fb.lang, model=fb.model, error=fb.error))
        return res.inserted_primary_key[0]


def list_feedback(app_url: str, limit: int = 100) -> list[Feedback]:
    """The newest ratings first."""
    with _engine(app_url).connect() as conn:
        rows = conn.execute(sa.select(feedback).order_by(feedback.c.id.desc()).limit(limit)).mappings().all()
    return [Feedback(id=r["id"], ts=r["ts"], user=r["user_name"], role=r["role"], question=r["question"],
                     sql=r["sql"], rating=r["rating"], lang=r["lang"], model=r["model"], error=r["error"])
            for r in rows]
