"""What the UI shares across sessions (one model, one queue) and the one place answers are produced.

Why shared: a server process can afford ONE loaded model; every session's questions go through one
fair queue in front of it (assistant.queue). Why per-user Assistants: the Assistant carries the role
(masking, caps) and the user name (audit), so each signed-in user gets a light Assistant built around
the shared chat model. Nothing per-session lives here: conversation, memory and answers stay in
`st.session_state`, so answers never cross sessions.

Errors become user messages HERE (the UI edge): `ask()` never raises; the exception goes to the server
log and the page gets a friendly message in the question's language.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from assistant.errors import ModelNotFound
from assistant.llm import TEST_MODEL_ENV
from assistant.memory import Memory
from assistant.question.lang import detect_language
from assistant.queue import FairQueue, QueueTimeout
from assistant.warmup import Warmup
from db.engines import require_database
from db.errors import DatabaseUnreachable, DbError
from db.settings import Settings, load_settings
from sql_tools.errors import SqlToolError
from ui.texts import error_message

log = logging.getLogger("abordo.ui")



def _configure_logging() -> None:
    """Send abordo's INFO logs (queue positions, failures) to the server's stderr once."""
    for name in ("abordo", "assistant"):
        lg = logging.getLogger(name)
        if not lg.handlers:
            h = logging.StreamHandler()
            h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            lg.addHandler(h)
            lg.setLevel(logging.INFO)
            lg.propagate = False


_configure_logging()


def settings() -> Settings:
    """The Settings from the ABORDO_* environment (set by `abordo ui`). Raises DbError (ConfigError)."""
    return load_settings()


def _model_key(s: Settings) -> tuple:
    return (s.model, s.chat_format, s.n_ctx, s.n_threads, s.openai_base_url, s.openai_model,
            os.environ.get(TEST_MODEL_ENV, ""))


@st.cache_resource(show_spinner=False)
def _shared_model(key: tuple, _settings: Settings):
    """The one chat model of this server process (not cached if it fails, so a fetched model is picked up)."""
    from assistant.llm import make_chat_model, seam_model

    if key[-1]:
        return seam_model(_settings)
    return make_chat_model(_settings)


@st.cache_resource(show_spinner=False)
def _warmup(key: tuple, _settings: Settings, _model) -> Warmup:
    """The model loaded and its prompt prefix restored (or read and saved) in the background, once per
    server process, from the first page view on, before anyone asks. The prefix is the same for every
    role, and generation holds the model's lock, so a question arriving meanwhile waits for it."""
    def work() -> dict:
        from assistant.pipeline import Assistant

        require_database(_settings.database_url)
        return Assistant(_settings, chat_model=_model, role=_settings.role, user="warm-up").warm()

    return Warmup(work).start()


def warmup(s: Settings) -> Warmup | None:
    """This process's warm-up (started on the first call): the page shows it while it runs. Building
    the chat model object loads nothing; the warm-up's thread does. None when no model is configured
    (the first question says so; record look-ups work without one)."""
    key = _model_key(s)
    try:
        return _warmup(key, s, _shared_model(key, s))
    except ModelNotFound:
        return None


@st.cache_resource(show_spinner=False)
def shared_queue(slots: int = 1) -> FairQueue:
    """The page's queue in front of the model: one at a time for the in-process model, as many as the
    model server has slots when the page shares one (`abordo model serve --parallel N`)."""
    return FairQueue(slots=slots)


@st.cache_resource(show_spinner=False)
def _assistant(key: tuple, role: str, user: str, _settings: Settings):
    from assistant.pipeline import Assistant

    return Assistant(_settings, chat_model=_shared_model(_model_key(_settings), _settings), role=role, user=user)


def assistant_for(s: Settings, role: str, user: str):
    """A per-user Assistant around the shared model. Raises ModelNotFound / SqlToolError / DbError."""
    require_database(s.database_url)
    return _assistant((repr(s), _model_key(s)), role, user, s)


def model_label(s: Settings) -> str:
    if os.environ.get(TEST_MODEL_ENV):
        return "test model"
    return f"{s.openai_model} @ {s.openai_base_url}" if s.openai_base_url else s.model


def database_label(s: Settings) -> str:
    from db.engines import dialect_of, parse_url, sqlite_path

    try:
        if dialect_of(s.database_url) == "sqlite":
            return f"SQLite · {sqlite_path(s.database_url).name}"
        url = parse_url(s.database_url)
        return f"PostgreSQL · {url.host or 'localhost'}/{url.database}"
    except DbError:
        return "?"


@dataclass
class Reply:
    """One assistant turn as the page keeps it (plain data: safe in session_state)."""
    question: str
    lang: str
    text: str
    sql: str = ""
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    row_count: int = 0
    truncated: bool = False
    refused: bool = False
    error: str | None = None
    fast_path: bool = False
    model: str = ""
    seconds: float = 0.0
    queue_position: int = 0       # the worst place this question waited at (0: served at once)
    max_rows: int = 0             # the role's row cap (for the truncation notice)
    restatement: str = ""         # what the query computed, in the question's language
    restatement_complete: bool = True
    labels: dict = field(default_factory=dict)       # UI language -> one header per column
    namesakes: list = field(default_factory=list)    # passengers sharing the name asked for
    card: dict | None = None      # a record look-up's card (assistant.cards)
    path: str = ""                # 'views' or 'tables': how the model's query was written
    view: str = ""                # on the views path: the view it read
    plan: dict | None = None      # on the views path: the plan (what staff can edit)
    edited: str = ""              # the edit that made this reply from an earlier one
    query: str = ""               # the query the model (or an edit) wrote: what a supervisor verifies
    verified: dict | None = None  # answered from a verified question: who verified it and when


def ask(question: str, *, s: Settings, role: str, user: str, memory: Memory,
        on_stage: Callable[[str], None], on_queue: Callable[[int], None],
        on_token: Callable[[str], None] | None = None) -> Reply:
    """Answer one question in this user's session, waiting for its turn at the shared model. Never raises
    a domain error: every failure becomes a Reply with `error` set and a friendly text."""
    started = time.perf_counter()
    lang = detect_language(question) if question.strip() else "es"
    worst = 0

    def queued(n: int) -> None:
        nonlocal worst
        worst = max(worst, n)
        on_queue(n)

    def failed(code: str) -> Reply:
        return Reply(question=question, lang=lang, text=error_message(code, lang) or "", error=code,
                     seconds=time.perf_counter() - started, queue_position=worst, model=model_label(s))

    try:
        assistant = assistant_for(s, role, user)
        # A record look-up is a card with no model call: answered at once, not queued behind the model.
        ans = assistant.look_up(question, memory=memory)
        if ans is None:
            with shared_queue(s.queue_slots).turn(timeout=max(1, s.queue_timeout_s), on_position=queued):
                on_stage("start")
                ans = assistant.ask(question, memory=memory, on_stage=on_stage, on_token=on_token)
    except ModelNotFound:
        log.exception("model missing")
        return failed("model_missing")
    except DatabaseUnreachable as exc:
        log.warning("database down: %s", exc)
        return failed("database_down")
    except SqlToolError as exc:
        log.warning("sql_tools error %s: %s", exc.code, exc)
        return failed(exc.code if error_message(exc.code, lang) else "database_down")
    except DbError as exc:
        log.warning("database error: %s", exc)
        return failed("database_down")
    except QueueTimeout:
        log.warning("queue timeout for %s", user)
        return failed("busy")
    except Exception:
        # Streamlit's stop/rerun signals derive from BaseException and pass through untouched.
        log.exception("unexpected failure answering a question")
        return failed("internal")
    return _reply_of(ans, question, assistant.catalog.role(role).max_rows, time.perf_counter() - started, worst)


def _reply_of(ans, question: str, cap: int, seconds: float, worst: int = 0, edited: str = "") -> Reply:
    text = ans.text
    if ans.error and not ans.refused:
        text = error_message(ans.error, ans.lang) or ans.text
    return Reply(question=question, lang=ans.lang, text=text, sql=ans.sql if not ans.error else "",
                 rows=ans.rows if not ans.error else pd.DataFrame(), row_count=ans.row_count, truncated=ans.truncated,
                 refused=ans.refused, error=ans.error, fast_path=ans.fast_path, model=ans.model,
                 seconds=seconds, queue_position=worst, max_rows=cap,
                 restatement=ans.restatement if not ans.error else "",
                 restatement_complete=ans.restatement_complete, labels=dict(ans.labels_by_lang),
                 namesakes=list(ans.namesakes), card=ans.card, path=ans.path if not ans.error else "",
                 view=(ans.plan or {}).get("view") or "", plan=ans.plan if not ans.error else None, edited=edited,
                 query=((ans.plan or {}).get("sql") or ans.sql_generated) if not ans.error else "",
                 verified=ans.verified)


def verify(reply: Reply, *, s: Settings, role: str, user: str) -> str:
    """Store `reply`'s question and query as verified by `user`: the message to show (stored, or why not)."""
    from assistant.verified import VerifiedError

    path = "views" if reply.plan else "tables"
    try:
        entry = assistant_for(s, role, user).verify(reply.question, reply.query, path, user=user)
    except VerifiedError as exc:
        return str(exc)
    except (ModelNotFound, DbError, SqlToolError) as exc:
        log.warning("verify failed: %s", exc)
        return error_message("database_down", reply.lang) or str(exc)
    return f"#{entry.id}"


def edit(reply: Reply, change, *, s: Settings, role: str, user: str) -> Reply:
    """`reply` again with its plan changed by `change` (`assistant.plan.edit.Edit`): no model call, so
    no turn at the model's queue. An edit that cannot apply is a Reply saying why."""
    from assistant.plan.edit import EditError

    started = time.perf_counter()
    try:
        assistant = assistant_for(s, role, user)
        ans = assistant.edit(reply.question, (reply.plan or {}).get("sql", ""), change)
    except EditError as exc:
        return Reply(question=reply.question, lang=reply.lang, text=str(exc), error="edit_invalid",
                     seconds=time.perf_counter() - started, edited=change.describe())
    except (ModelNotFound, DbError, SqlToolError) as exc:
        log.warning("edit failed: %s", exc)
        code = "model_missing" if isinstance(exc, ModelNotFound) else "database_down"
        return Reply(question=reply.question, lang=reply.lang, text=error_message(code, reply.lang) or "",
                     error=code, seconds=time.perf_counter() - started)
    return _reply_of(ans, reply.question, assistant.catalog.role(role).max_rows, time.perf_counter() - started,
                     edited=change.describe())
