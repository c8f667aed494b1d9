"""👍/👎 on answers, stored with the question and the SQL that ran, in abordo's own store (app_url).

Why keep the SQL: a thumbs-up on a question and its SQL is a verified example, the material a later
step uses to curate few-shot examples and evaluation questions; a thumbs-down points at a question to
fix. Only the question and SQL are kept, never result rows (they hold personal data).

A 👎 may carry a correction (what the answer should have been): it waits in `review_queue` for a
supervisor, who can fix the answer and verify it; nothing is ever verified from feedback by itself.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import sqlalchemy as sa

from db.appstore import add_missing_columns, store_engine, utcnow

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
    sa.Column("comment", sa.Text),                      # a correction staff wrote with their rating
)
_ADDED_COLUMNS = {"comment": "TEXT"}     # what an older store lacks, added when it is opened


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
    comment: str | None = None
    ts: _dt.datetime | None = None
    id: int | None = None


def _engine(app_url: str) -> sa.Engine:
    # a store error stays SQLAlchemy's: the API answers it with a 503
    return store_engine(app_url, metadata, setup=lambda e: add_missing_columns(e, "feedback", _ADDED_COLUMNS))


def add_feedback(app_url: str, fb: Feedback) -> int:
    """Store one rating; returns its id. The rating must be +1 or -1."""
    if fb.rating not in (1, -1):
        raise ValueError("rating must be +1 or -1")
    with _engine(app_url).begin() as conn:
        res = conn.execute(feedback.insert().values(
            ts=fb.ts or utcnow(), user_name=fb.user, role=fb.role,
            question=fb.question, sql=fb.sql, rating=fb.rating, lang=fb.lang, model=fb.model, error=fb.error,
            comment=fb.comment or None))
        return res.inserted_primary_key[0]


def _read(app_url: str, *where, limit: int) -> list[Feedback]:
    with _engine(app_url).connect() as conn:
        rows = conn.execute(sa.select(feedback).where(*where).order_by(feedback.c.id.desc()).limit(limit)).mappings()
        return [Feedback(id=r["id"], ts=r["ts"], user=r["user_name"], role=r["role"], question=r["question"],
                         sql=r["sql"], rating=r["rating"], lang=r["lang"], model=r["model"], error=r["error"],
                         comment=r["comment"]) for r in rows]


def list_feedback(app_url: str, limit: int = 100) -> list[Feedback]:
    """The newest ratings first."""
    return _read(app_url, limit=limit)


def set_comment(app_url: str, feedback_id: int, user: str, comment: str) -> bool:
    """Add the correction to a rating `user` gave (a 👎, then what it should have been)."""
    with _engine(app_url).begin() as conn:
        return bool(conn.execute(feedback.update().where(feedback.c.id == feedback_id, feedback.c.user_name == user)
                                 .values(comment=comment.strip()[:2000] or None)).rowcount)


def review_queue(app_url: str, limit: int = 100) -> list[Feedback]:
    """👎 with a correction, newest first: what a supervisor reviews (never verified automatically)."""
    return _read(app_url, feedback.c.rating == -1, feedback.c.comment.is_not(None), limit=limit)
