"""Conversations kept in the app store, so any API worker can continue one.

A conversation is the bounded memory of follow-ups (`assistant.memory`): the last turns' question, SQL
and row count, never result rows. It belongs to the user who started it; another user's id is
answered like an unknown one (404), so ids reveal nothing.
"""
from __future__ import annotations

import json
import secrets

import sqlalchemy as sa

from assistant.memory import Memory
from db.appstore import store_engine, utcnow

metadata = sa.MetaData()
conversations = sa.Table(
    "conversations", metadata,
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("user_name", sa.Text, nullable=False, index=True),
    sa.Column("turns", sa.Text, nullable=False),          # JSON list of Memory turns
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("updated", sa.DateTime, nullable=False),
)


class ConversationNotFound(LookupError):
    pass


def _engine(app_url: str) -> sa.Engine:
    return store_engine(app_url, metadata)   # a store error stays SQLAlchemy's: the API answers it with a 503


def new_id() -> str:
    return "c_" + secrets.token_urlsafe(12)


def load(app_url: str, conversation_id: str, user: str) -> Memory:
    """The conversation's memory. Raises ConversationNotFound (also for another user's conversation)."""
    with _engine(app_url).connect() as conn:
        row = conn.execute(sa.select(conversations.c.turns).where(
            conversations.c.conversation_id == conversation_id, conversations.c.user_name == user)).first()
    if row is None:
        raise ConversationNotFound(conversation_id)
    return Memory.from_list(json.loads(row.turns))


def save(app_url: str, conversation_id: str, user: str, memory: Memory) -> None:
    turns = json.dumps(memory.to_list(), ensure_ascii=False)
    now = utcnow()
    with _engine(app_url).begin() as conn:
        done = conn.execute(conversations.update().where(
            conversations.c.conversation_id == conversation_id, conversations.c.user_name == user)
            .values(turns=turns, updated=now)).rowcount
        if not done:
            conn.execute(conversations.insert().values(conversation_id=conversation_id, user_name=user, turns=turns,
                                                       created=now, updated=now))
