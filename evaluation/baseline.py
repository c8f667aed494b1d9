"""The baseline: LangChain's stock SQL agent (`create_sql_agent`, ReAct) with the SAME chat model.

Used by `abordo eval --baseline langchain-sql-agent`. Stock means stock: the toolkit's default prompt,
tools and parsing; we only add what a fair, finishing run needs:

* a READ-ONLY connection (SQLite ``file:...?mode=ro`` through a SQLAlchemy creator; PostgreSQL with
  ``default_transaction_read_only``) -- the stock agent has no guard, no masking and no audit, so it must
  never get a writable connection (and should only be pointed at demo data);
* ``handle_parsing_errors=True`` (small models often break the ReAct format), ``max_iterations`` 6 and a
  wall-clock cap per question (``max_execution_time``);
* a callback that counts model calls and tokens and records the last SQL given to ``sql_db_query`` and
  the agent's final answer. That last SQL is what gets scored, exactly like `Answer.sql` for abordo.

Requires the ``eval`` extra: ``langchain-community`` and ``langchain-classic`` (the classic agents).
"""
from __future__ import annotations

import sqlite3
import time
import warnings
from dataclasses import dataclass, field

from assistant.errors import AssistantError
from assistant.llm.calls import token_usage
from assistant.pipeline import Answer
from assistant.question.lang import detect_language

NAME = "langchain-sql-agent"


class BaselineUnavailable(AssistantError):
    """The baseline's packages are not installed."""


@dataclass
class BaselineAnswer(Answer):
    """An `Answer` as the evaluator reads it, plus what the agent did on its way."""
    queries_run: int = 0
    tools: list[str] = field(default_factory=list)


def readonly_engine(url: str):
    """A SQLAlchemy engine that can only read the database at `url`."""
    import sqlalchemy as sa

    from db.engines import dialect_of, parse_url, sqlite_path

    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)

        def connect():
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            return conn

        return sa.create_engine("sqlite://", creator=connect)
    return sa.create_engine(parse_url(url), connect_args={
        "options": "-c default_transaction_read_only=on -c statement_timeout=30000", "connect_timeout": 5})


def _make_handler():
    from langchain_core.callbacks import BaseCallbackHandler

    class Recorder(BaseCallbackHandler):
        """Counts model calls/tokens; keeps the last SQL run by sql_db_query."""

        def __init__(self):
            self.calls = 0
            self.prompt_tokens = 0
            self.new_prompt_tokens = 0
            self.completion_tokens = 0
            self.cache_hits: list[bool] = []
            self.last_sql = ""
            self.queries = 0
            self.tools: list[str] = []

        def on_chat_model_start(self, serialized, messages, **kwargs):
            self.calls += 1

        def on_llm_start(self, serialized, prompts, **kwargs):
            self.calls += 1

        def on_llm_end(self, response, **kwargs):
            for gens in response.generations:
                for g in gens:
                    msg = getattr(g, "message", None)
                    used = token_usage(getattr(msg, "response_metadata", None) or {},
                                       getattr(msg, "usage_metadata", None))
                    self.prompt_tokens += used.prompt
                    self.new_prompt_tokens += used.new_prompt
                    self.completion_tokens += used.completion
                    if used.cache_hit is not None:
                        self.cache_hits.append(used.cache_hit)

        def on_tool_start(self, serialized, input_str, **kwargs):
            name = (serialized or {}).get("name") or kwargs.get("name")
            self.tools.append(str(name))
            if name == "sql_db_query":
                inputs = kwargs.get("inputs") or {}
                sql = inputs.get("query") if isinstance(inputs, dict) else None
                self.last_sql = (sql or input_str or "").strip()
                self.queries += 1

    return Recorder


class LangChainSqlAgent:
    """`create_sql_agent` over a read-only connection with the given chat model."""

    def __init__(self, chat_model, database_url: str, *, max_iterations: int = 6, time_cap_s: float = 60.0,
                 top_k: int = 1000):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from langchain_community.agent_toolkits.sql.base import create_sql_agent
                from langchain_community.utilities import SQLDatabase
        except ImportError as exc:
            raise BaselineUnavailable(f"the baseline needs the eval extra ({exc.name} missing): "
                                      "pip install -e '.[eval]'") from None
        self.engine = readonly_engine(database_url)
        self.db = SQLDatabase(self.engine)
        self.chat = chat_model
        self.time_cap_s = time_cap_s
        self._recorder_cls = _make_handler()
        self.executor = create_sql_agent(llm=chat_model, db=self.db, top_k=top_k, max_iterations=max_iterations,
                                         max_execution_time=time_cap_s, verbose=False,
                                         agent_executor_kwargs={"handle_parsing_errors": True})

    def ask(self, question: str) -> BaselineAnswer:
        rec = self._recorder_cls()
        ans = BaselineAnswer(question=question, lang=detect_language(question))
        started = time.perf_counter()
        try:
            out = self.executor.invoke({"input": question}, config={"callbacks": [rec]})
            ans.text = str(out.get("output", "")) if isinstance(out, dict) else str(out)
            if "stopped due to iteration limit or time limit" in ans.text.lower():
                ans.error = "agent_limit"
        except Exception as exc:  # noqa: BLE001 - a failing baseline question is a wrong answer, not a crash
            ans.error = f"agent_error:{type(exc).__name__}"
            ans.text = str(exc)[:200]
        ans.timings["total"] = time.perf_counter() - started
        ans.sql = ans.sql_generated = rec.last_sql
        if ans.sql and ans.error:   # scored on the last SQL it ran, whatever stopped it
            ans.text = f"[{ans.error}] {ans.text}"
            ans.error = None
        ans.llm_calls, ans.prompt_tokens = rec.calls, rec.prompt_tokens
        ans.new_prompt_tokens, ans.completion_tokens = rec.new_prompt_tokens, rec.completion_tokens
        ans.cache_hit = all(rec.cache_hits) if rec.cache_hits else None
        ans.queries_run = rec.queries
        ans.tools = list(rec.tools)
        if not ans.sql:   # say what it did instead (a final answer without running a query is not scorable)
            ans.text = f"[tools used: {', '.join(rec.tools) or 'none'}] {ans.text}"
        return ans

    def close(self) -> None:
        self.engine.dispose()


def make_baseline(name: str, chat_model, database_url: str, **kwargs):
    if name != NAME:
        raise AssistantError(f"unknown baseline {name!r} (known: {NAME})")
    return LangChainSqlAgent(chat_model, database_url, **kwargs)
