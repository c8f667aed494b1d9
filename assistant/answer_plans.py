"""The queries of recent answers, kept in the app store so staff can edit or verify an answer later
(issue 27).

An API client edits or verifies an answer by its id, never by sending SQL: the server keeps the query
the model wrote (over one view: the plan; or over the tables) with the question, the user and the
role, and an edit can only change that plan. An id belongs to the user who got the answer; another
user's id is answered like an unknown one, so ids reveal nothing. Only the question and the plan are
kept, never rows, and each user keeps the newest `KEEP_PER_USER` plans, so the store cannot be grown
without bound.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from db.appstore import store_engine, utcnow

KEEP_PER_USER = 200

metadata = sa.MetaData()
answer_plans = sa.Table(
    "answer_plans", metadata,
    sa.Column("answer_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),          # per user, newest highest: what pruning keeps
    sa.Column("user_name", sa.Text, nullable=False, index=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("plan_sql", sa.Text, nullable=False),       # the model's query (over a view: the plan's)
    sa.Column("path", sa.Text, nullable=False),           # 'views' | 'tables'
    sa.Column("created", sa.DateTime, nullable=False),
)


@dataclass(frozen=True)
class KeptPlan:
    answer_id: str
    user: str
    role: str
    question: str
    plan_sql: str
    path: str = "views"


def _engine(app_url: str) -> sa.Engine:
    return store_engine(app_url, metadata)   # a store error stays SQLAlchemy's: the API answers it with a 503


def keep(app_url: str, user: str, role: str, question: str, plan_sql: str, path: str = "views") -> str:
    """Keep one answer's plan; returns its new id. Drops the user's oldest beyond KEEP_PER_USER."""
    answer_id = "a_" + secrets.token_urlsafe(12)
    with _engine(app_url).begin() as conn:
        last = conn.execute(sa.select(sa.func.max(answer_plans.c.seq))
                            .where(answer_plans.c.user_name == user)).scalar() or 0
        conn.execute(answer_plans.insert().values(answer_id=answer_id, seq=last + 1, user_name=user, role=role,
                                                  question=question, plan_sql=plan_sql, path=path,
                                                  created=utcnow()))
        conn.execute(answer_plans.delete().where(answer_plans.c.user_name == user,
                                                 answer_plans.c.seq <= last + 1 - KEEP_PER_USER))
    return answer_id


def find(app_url: str, answer_id: str, user: str) -> KeptPlan | None:
    """The plan kept under `answer_id` for `user`; None for an unknown id or another user's."""
    with _engine(app_url).connect() as conn:
        row = conn.execute(sa.select(answer_plans).where(answer_plans.c.answer_id == answer_id,
                                                         answer_plans.c.user_name == user)).mappings().first()
    if row is None:
        return None
    return KeptPlan(answer_id=row["answer_id"], user=row["user_name"], role=row["role"], question=row["question"],
                    plan_sql=row["plan_sql"], path=row["path"])
