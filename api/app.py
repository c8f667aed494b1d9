"""The HTTP API: `POST /v1/ask` (and its server-sent-events twin), conversations, feedback, the audit
view, health and readiness, over the same `Assistant` the CLI and the chat page use.

One process holds one chat model (in-process llama.cpp, or a client of a model server when
`openai_base_url` is set) behind a fair queue; record look-ups are cards and skip that queue. Every
error is a problem document (RFC 9457: `application/problem+json` with a stable `code`), never a
traceback, and a refused request leaves an audit record like an answered one.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from api import conversations
from assistant.errors import AssistantError, ModelNotFound
from assistant.llm import TEST_MODEL_ENV, make_chat_model, seam_model
from assistant.llm.openai_compat import is_unreachable
from assistant.pipeline import Cancelled
from assistant.queue import FairQueue, QueueTimeout
from assistant.users import User, get_user, verify_token
from db.errors import DatabaseUnreachable, DbError
from db.settings import Settings, load_settings
from sql_tools.audit import AuditRecord, get_audit_log
from sql_tools.errors import SqlToolError

log = logging.getLogger("abordo.api")
MAX_QUESTION = 2000


class Problem(Exception):
    """An error answered as a problem document; `code` is stable, `detail` is for people."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers or {}


def _problem(status: int, code: str, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"type": f"https://abordo.invalid/problems/{code}", "title": code.replace("_", " "),
                         "status": status, "code": code, "detail": detail},
                        status_code=status, media_type="application/problem+json", headers=headers)


class AskBody(BaseModel):
    question: str
    conversation_id: str | None = None
    today: _dt.date | None = None


class FeedbackBody(BaseModel):
    question: str = Field(max_length=MAX_QUESTION)
    rating: int = Field(ge=-1, le=1)
    sql: str | None = None
    comment: str | None = Field(default=None, max_length=2000)


class RateLimit:
    """At most `per_minute` requests per user in any 60 s (per worker process)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, user: str) -> float | None:
        """None when allowed (and counted); else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(user, deque())
            while seen and now - seen[0] >= 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return 60 - (now - seen[0])
            seen.append(now)
            return None


class Service:
    """What one API process shares between requests: settings, the chat model, its queue, assistants."""

    def __init__(self, settings: Settings, chat_model=None):
        self.settings = settings
        self._chat = chat_model
        self._lock = threading.Lock()
        self._assistants: dict[tuple, object] = {}
        self.queue = FairQueue(slots=settings.queue_slots)
        self.rate = RateLimit(max(1, settings.api_rate_per_minute))
        self.queue_timeout = float(max(1, settings.queue_timeout_s))

    def chat(self):
        with self._lock:
            if self._chat is None:
                self._chat = seam_model(self.settings) or make_chat_model(self.settings)
            return self._chat

    def assistant(self, user: User, today: _dt.date | None):
        from assistant.pipeline import Assistant

        key = (user.name, user.role, today)
        with self._lock:
            found = self._assistants.get(key)
        if found is None:
            s = dataclasses.replace(self.settings, today=today) if today else self.settings
            found = Assistant(s, chat_model=self.chat(), role=user.role, user=user.name)
            with self._lock:
                self._assistants[key] = found
        return found

    def audit_refusal(self, request: Request, code: str, reason: str, user: User | None) -> None:
        """The record a refused request leaves (no query ran); a store that cannot take it is logged."""
        try:
            get_audit_log(self.settings.app_url).append(AuditRecord(
                user=user.name if user else "anonymous", role=user.role if user else "-", verdict="refused",
                code=code, reason=f"{request.method} {request.url.path}: {reason}"[:500],
                question=getattr(request.state, "question", None), row_count=0))
        except Exception:
            log.exception("could not audit a refused request")


def create_app(settings: Settings | None = None, *, chat_model=None) -> FastAPI:
    """The API over `settings` (default: the ABORDO_* environment); `chat_model` for tests."""
    service = Service(settings or load_settings(), chat_model)
    app = FastAPI(title="abordo", version="1", summary="Passenger look-up assistant: guarded, read-only, audited.")
    app.state.service = service

    app.add_middleware(_ServedBy)

    @app.exception_handler(Problem)
    async def _on_problem(request: Request, exc: Problem):
        if exc.status in (401, 403, 413, 422, 429):
            service.audit_refusal(request, exc.code, exc.detail, getattr(request.state, "user", None))
        return _problem(exc.status, exc.code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(request: Request, exc: RequestValidationError):
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()[:5])
        service.audit_refusal(request, "invalid_request", where, getattr(request.state, "user", None))
        return _problem(422, "invalid_request", f"the request body is not valid: {where}")

    @app.exception_handler(Exception)
    async def _on_crash(request: Request, exc: Exception):
        log.exception("unexpected failure on %s", request.url.path)
        return _problem(500, "internal_error", "something went wrong on our side; the request was not completed")

    def current_user(request: Request) -> User:
        s = service.settings
        header = request.headers.get("authorization", "")
        user = None
        if header[:7].lower() == "bearer ":
            user = verify_token(s.app_url, header[7:])
        elif s.trusted_user_header and request.headers.get(s.trusted_user_header):
            user = get_user(s.app_url, request.headers[s.trusted_user_header].strip())
        if user is None:
            raise Problem(401, "unauthenticated", "send 'Authorization: Bearer <token>' with a token from "
                                                  "`abordo users token NAME`", headers={"WWW-Authenticate": "Bearer"})
        request.state.user = user
        wait = service.rate.check(user.name)
        if wait is not None:
            raise Problem(429, "rate_limited", f"too many requests; try again in {wait:.0f} s",
                          headers={"Retry-After": str(max(1, round(wait)))})
        return user

    def supervisor(user: User = Depends(current_user)) -> User:
        if user.role != "supervisor":
            raise Problem(403, "forbidden", f"the audit log is for supervisors; your role is {user.role}")
        return user

    def _checked_question(request: Request, body: AskBody) -> str:
        question = body.question.strip()
        request.state.question = question[:MAX_QUESTION]
        if not question:
            raise Problem(422, "empty_question", "the question is empty")
        if len(question) > MAX_QUESTION:
            raise Problem(413, "question_too_long", f"a question has at most {MAX_QUESTION} characters")
        return question

    def _answer(user: User, body: AskBody, question: str, on_stage=None, on_queue=None, on_token=None,
                cancelled=None, request: Request | None = None) -> dict:
        """One question through the Assistant: a card at once, else its turn at the model."""
        s = service.settings
        conversation_id = body.conversation_id or conversations.new_id()
        try:
            memory = (conversations.load(s.app_url, body.conversation_id, user.name) if body.conversation_id
                      else conversations.Memory())
        except conversations.ConversationNotFound:
            detail = f"no conversation {body.conversation_id!r}"
            if request is not None:
                service.audit_refusal(request, "unknown_conversation", detail, user)
            raise Problem(404, "unknown_conversation", detail) from None
        try:
            assistant = service.assistant(user, body.today)
            ans = assistant.look_up(question, memory=memory)
            if ans is None:
                def waiting(n: int) -> None:
                    if cancelled is not None and cancelled():
                        raise Cancelled("withdrawn while waiting")    # the queue releases the ticket
                    (on_queue or (lambda _n: None))(n)

                queued = time.perf_counter()
                with service.queue.turn(timeout=service.queue_timeout, on_position=waiting):
                    waited = time.perf_counter() - queued
                    ans = assistant.ask(question, memory=memory, on_stage=on_stage, on_token=on_token,
                                        cancelled=cancelled)
                ans.timings["queue"] = waited         # the wait for a model slot, apart from the work
        except Cancelled:
            raise
        except SqlToolError as exc:          # raised by the query service, which has audited the query
            code = exc.code if exc.code in ("audit_failed", "database_unreachable") else "database_error"
            raise Problem(503, code, exc.text("en")) from None
        except Exception as exc:
            failed = _failure(exc, service.queue_timeout)
            if failed is None:
                raise
            if request is not None:          # no query ran, so this is the request's one audit record
                service.audit_refusal(request, failed.code, failed.detail, user)
            raise failed from None
        if ans.error == "audit_failed":     # nothing leaves without its audit record
            raise Problem(503, "audit_unavailable", "the audit log could not be written, so no answer is given")
        if ans.error == "database_unreachable":
            raise Problem(503, "database_unreachable", "the passenger database does not answer; try again shortly",
                          headers={"Retry-After": "10"})
        conversations.save(s.app_url, conversation_id, user.name, memory)
        return {**ans.to_dict(), "conversation_id": conversation_id}

    @app.post("/v1/ask", summary="Answer one question (an `abordo ask --json` object)")
    def ask(request: Request, body: AskBody, user: User = Depends(current_user)) -> dict:
        return _answer(user, body, _checked_question(request, body), request=request)

    @app.post("/v1/ask/stream", summary="The same, as server-sent events: stage, queue, token, answer")
    def ask_stream(request: Request, body: AskBody, user: User = Depends(current_user)) -> StreamingResponse:
        question = _checked_question(request, body)
        events: queue.Queue = queue.Queue()
        gone = threading.Event()

        def run() -> None:
            try:
                result = _answer(user, body, question, on_stage=lambda st: events.put(("stage", {"stage": st})),
                                 on_queue=lambda n: events.put(("queue", {"position": n})),
                                 on_token=lambda tok: events.put(("token", {"text": tok})), cancelled=gone.is_set,
                                 request=request)
                events.put(("answer", result))
            except Cancelled:
                service.audit_refusal(request, "client_disconnected", "the client went away before the answer",
                                      user)
            except Problem as exc:
                events.put(("problem", {"status": exc.status, "code": exc.code, "detail": exc.detail}))
            except Exception:
                log.exception("unexpected failure in a stream")
                events.put(("problem", {"status": 500, "code": "internal_error", "detail": "something went wrong"}))
            finally:
                events.put(None)

        threading.Thread(target=run, name="abordo-ask-stream", daemon=True).start()

        async def stream() -> AsyncIterator[str]:
            """Events as they come; a client that went away withdraws the question (its generation
            stops, and on a model server its slot is freed)."""
            try:
                while True:
                    try:
                        item = events.get_nowait()
                    except queue.Empty:
                        if await request.is_disconnected():
                            return
                        await asyncio.sleep(0.05)
                        continue
                    if item is None:
                        return
                    kind, data = item
                    yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
            finally:
                gone.set()

        return StreamingResponse(stream(), media_type="text/event-stream")

    @app.get("/v1/conversations/{conversation_id}", summary="A conversation's remembered turns")
    def conversation(conversation_id: str, user: User = Depends(current_user)) -> dict:
        try:
            memory = conversations.load(service.settings.app_url, conversation_id, user.name)
        except conversations.ConversationNotFound:
            raise Problem(404, "unknown_conversation", f"no conversation {conversation_id!r}") from None
        return {"conversation_id": conversation_id, "turns": memory.to_list()}

    @app.post("/v1/feedback", summary="👍/👎 on an answer", status_code=201)
    def feedback(body: FeedbackBody, user: User = Depends(current_user)) -> dict:
        from assistant.feedback import Feedback, add_feedback

        if body.rating == 0:
            raise Problem(422, "invalid_request", "rating is 1 (good) or -1 (bad)")
        add_feedback(service.settings.app_url, Feedback(user=user.name, role=user.role, question=body.question,
                                                        sql=body.sql, rating=body.rating, lang="", model="",
                                                        error=None))
        return {"stored": True}

    @app.get("/v1/audit", summary="The latest audit records (supervisors)")
    def audit(n: int = 50, user: User = Depends(supervisor)) -> dict:
        log_ = get_audit_log(service.settings.app_url)
        records = [r.as_dict() for r in log_.tail(max(1, min(n, 500)))]
        log_.append(AuditRecord(user=user.name, role=user.role, verdict="accepted", code="audit_view",
                                reason=f"read the last {len(records)} audit records", row_count=len(records)))
        return {"records": records}

    @app.get("/healthz", summary="The process answers")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="Database, app store and model reachable")
    def readyz() -> JSONResponse:
        checks = _readiness(service.settings)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)

    return app


def _failure(exc: Exception, queue_timeout: float) -> Problem | None:
    """The 503 problem for a failure before any query ran (None: a bug, answered as a 500)."""
    if isinstance(exc, QueueTimeout):       # past what one machine takes: say when to come back
        return Problem(503, "busy", f"every model slot stayed busy for {queue_timeout:g} s; try again",
                       headers={"Retry-After": "30"})
    if isinstance(exc, ModelNotFound):
        return Problem(503, "model_unavailable", str(exc))
    if isinstance(exc, DatabaseUnreachable):
        return Problem(503, "database_unreachable", f"{exc}; try again shortly", headers={"Retry-After": "10"})
    if isinstance(exc, (DbError, AssistantError)):
        return Problem(503, "service_unavailable", str(exc))
    if is_unreachable(exc):
        return Problem(503, "model_unavailable", "the model server did not answer; try again shortly",
                       headers={"Retry-After": "10"})
    return None


class _ServedBy:
    """Names the worker process that answered (`X-Abordo-Worker`), for logs behind a load balancer
    and the scale tests. Plain ASGI, so streams and disconnects pass through untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def tagged(message):
            if message["type"] == "http.response.start":
                worker = (b"x-abordo-worker", str(os.getpid()).encode())
                message = {**message, "headers": [*message.get("headers", []), worker]}
            await send(message)

        await self.app(scope, receive, tagged)


def _readiness(s: Settings) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        from sql_tools.lookup import make_fetch

        make_fetch(s, s.role)("SELECT 1", {})
        out["database"] = "ok"
    except Exception as exc:
        out["database"] = f"unreachable ({type(exc).__name__})"
    try:
        get_audit_log(s.app_url).count()
        out["app_store"] = "ok"
    except Exception as exc:
        out["app_store"] = f"unreachable ({type(exc).__name__})"
    if os.environ.get(TEST_MODEL_ENV):
        out["model"] = "ok"
    elif s.openai_base_url:
        import urllib.request

        try:
            with urllib.request.urlopen(s.openai_base_url.rstrip("/") + "/models", timeout=3) as r:
                out["model"] = "ok" if r.status == 200 else f"status {r.status}"
        except Exception as exc:
            out["model"] = f"unreachable ({type(exc).__name__})"
    else:
        try:
            from assistant.models import locate

            locate(s.model)
            out["model"] = "ok"
        except Exception as exc:
            out["model"] = f"missing ({type(exc).__name__})"
    return out


def app_from_environment() -> FastAPI:
    """The factory uvicorn's workers call (`abordo serve`): settings from the ABORDO_* environment."""
    return create_app()
