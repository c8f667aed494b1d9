"""The HTTP API: `POST /v1/ask` (and its server-sent-events twin), conversations, feedback, the audit
view, health and readiness, over the same `Assistant` the CLI and the chat page use.

One process holds one chat model (in-process llama.cpp, or a client of a model server when
`openai_base_url` is set) behind a fair queue; record look-ups are cards and skip that queue. Every
error is a problem document (RFC 9457: `application/problem+json` with a stable `code`), never a
traceback, and a refused request leaves an audit record like an answered one.
"""
from __future__ import annotations

import asyncio
import contextvars
import datetime as _dt
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import conversations
from api.gate import Gate
from api.problems import COMMON, Problem, ProblemDoc, problem_body, problem_response, responses
from assistant import answer_plans
from assistant.errors import AssistantError, Cancelled, ModelNotFound
from assistant.llm import TEST_MODEL_ENV, make_chat_model, seam_model
from assistant.llm.openai_compat import is_unreachable
from assistant.queue import FairQueue, QueueTimeout
from assistant.users import User, get_user, verify_token
from assistant.warmup import Warmup
from db.errors import DatabaseUnreachable, DbError
from db.settings import Settings, load_settings
from sql_tools.audit import AuditError, AuditRecord, get_audit_log
from sql_tools.errors import SqlToolError

log = logging.getLogger("abordo.api")
MAX_QUESTION = 2000
MAX_SQL = 20_000
# A question holds at least one character that is neither white space nor a control character.
SOME_TEXT = r"[^\s\x00-\x1f\x7f]"
CONVERSATION_ID = r"^c_[A-Za-z0-9_-]{1,64}$"
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _valid_text(text: str | None) -> str | None:
    """Text any store and model can take: an unpaired UTF-16 surrogate (JSON's "\\ud800") is not a
    character, so it is refused (422, audited with the text escaped) rather than stored or asked."""
    if text is not None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("the text holds an unpaired UTF-16 surrogate, which is not a character") from None
    return text


def _iso_date(value):
    """A date only as JSON can carry one: a YYYY-MM-DD string (not a number of seconds)."""
    if not isinstance(value, str):
        raise ValueError("a date is a string YYYY-MM-DD")
    return _dt.date.fromisoformat(value)


def _exact_int(value):
    """An integer as JSON writes one: not true/false, not 1.0."""
    if type(value) is not int:
        raise ValueError("an integer is expected")
    return value


Text = Annotated[str, AfterValidator(_valid_text)]
IsoDate = Annotated[_dt.date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
# Request bodies are read strictly: no field the schema does not name, no number where text is asked.
STRICT = ConfigDict(extra="forbid", strict=True)
ConversationId = Annotated[str, StringConstraints(pattern=CONVERSATION_ID, max_length=66)]


class AskBody(BaseModel):
    model_config = STRICT
    question: Text = Field(min_length=1, max_length=MAX_QUESTION, pattern=SOME_TEXT,
                           description="The question, in Spanish or English (control characters count as spaces)")
    conversation_id: ConversationId | None = Field(default=None,
                                                   description="Continue this conversation (from an earlier answer)")
    today: IsoDate | None = Field(default=None, description="The day 'today' means for this question "
                                                             "(default: the today setting)")


class FeedbackBody(BaseModel):
    model_config = STRICT
    question: Text = Field(min_length=1, max_length=MAX_QUESTION)
    rating: Annotated[Literal[-1, 1], BeforeValidator(_exact_int)] = Field(description="1 good, -1 bad")
    sql: Text | None = Field(default=None, max_length=MAX_SQL)
    comment: Text | None = Field(default=None, max_length=2000)


ANSWER_ID = r"^a_[A-Za-z0-9_-]{1,64}$"
EditValue = Annotated[str | int | float | None, Field(union_mode="left_to_right")]


class EditBody(BaseModel):
    """One change to an answer's plan (`plan` in the answer): a filter removed, changed or added, the
    grouping, a measure, the order or the limit. Columns are the plan's view's columns."""
    model_config = ConfigDict(extra="forbid")
    kind: Literal["remove_filter", "set_filter", "add_filter", "set_grouping", "set_measure", "set_order",
                  "set_limit"]
    index: int | None = Field(default=None, ge=0, le=100, description="Which filter or measure, from 0")
    columns: list[Annotated[str, StringConstraints(max_length=64)]] = Field(default=[], max_length=8)
    operator: Literal["=", "<>", ">", ">=", "<", "<=", "IN", "NOT IN", "BETWEEN", "IS NULL", "IS NOT NULL"] = "="
    values: list[EditValue] = Field(default=[], max_length=50)
    function: Literal["", "COUNT", "SUM", "AVG", "MIN", "MAX"] = ""
    distinct: bool = False
    descending: bool = True
    limit: int | None = Field(default=None, ge=1, le=100_000)


class Service:
    """What one API process shares between requests: settings, the chat model, its queue, and one
    Assistant per role (the asker and the day are per question, so nothing grows with users or dates)."""

    def __init__(self, settings: Settings, chat_model=None):
        self.settings = settings
        self._chat = chat_model
        self.warmup: Warmup | None = None
        self._lock = threading.Lock()
        self._assistants: dict[str, object] = {}
        self.queue = FairQueue(slots=settings.queue_slots)
        self.queue_timeout = float(max(1, settings.queue_timeout_s))

    def chat(self):
        """The shared chat model, loaded the first time a question needs it (a card never does)."""
        with self._lock:
            if self._chat is None:
                self._chat = seam_model(self.settings) or make_chat_model(self.settings)
            return self._chat

    def assistant(self, role: str):
        from assistant.pipeline import Assistant

        with self._lock:
            found = self._assistants.get(role)
        if found is None:
            found = Assistant(self.settings, chat_factory=self.chat, role=role, user="api")
            with self._lock:
                found = self._assistants.setdefault(role, found)
        return found

    def start_warmup(self) -> Warmup:
        """Load the model and restore (or read and save) the prompt prefix in the background, now, so
        the first question waits only for its own tokens; `/readyz` says "warming" until it is done."""
        if self.warmup is None:
            self.warmup = Warmup(lambda: self.assistant(self.settings.role).warm()).start()
        return self.warmup

    @property
    def cached_assistants(self) -> int:
        return len(self._assistants)

    def authenticate(self, headers: dict[str, str]) -> User | None:
        """The user a request's headers name (a bearer token, or the trusted proxy's header), or None.
        Raises a 503 Problem when the user store does not answer."""
        s = self.settings
        header = headers.get("authorization", "")
        try:
            if header[:7].lower() == "bearer ":
                return verify_token(s.app_url, header[7:], legacy_days=s.token_days)
            if s.trusted_user_header and headers.get(s.trusted_user_header.lower(), "").strip():
                return get_user(s.app_url, headers[s.trusted_user_header.lower()].strip())
        except (AssistantError, sa.exc.SQLAlchemyError) as exc:
            log.error("user store unavailable: %s", type(exc).__name__)
            raise Problem(503, "app_store_unavailable", "the user store does not answer; try again shortly") from None
        return None

    def audit(self, request: Request, user: User, code: str, reason: str, *, verdict: str = "accepted",
              row_count: int = 0) -> None:
        """The record of a route that reads or writes app data, written before its answer leaves."""
        try:
            get_audit_log(self.settings.app_url).append(AuditRecord(
                user=user.name, role=user.role, verdict=verdict, code=code, row_count=row_count,
                reason=f"{request.method} {request.url.path}: {reason}"[:1000]))
        except AuditError:
            raise Problem(503, "audit_unavailable", "the audit log could not be written, so nothing is shown") from None


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


STREAM_EVENTS = """Server-sent events, in order: `stage` ({"stage": link|generate|execute|summarise}),
`queue` ({"position": n}, while waiting for a model slot), `token` ({"text": ...}, the answer as it is
written), then exactly one of `answer` (the same object as POST /v1/ask) or `problem` (a problem
document: status, code, detail) for a failure after the stream started. Errors known before it starts
(authentication, validation, unknown conversation, limits) are HTTP errors, not events."""


# One server-sent event, as a client parses it: its name and its JSON data.
SSE_EVENT = {"type": "object", "required": ["event", "data"], "properties": {
    "event": {"type": "string", "enum": ["stage", "queue", "token", "answer", "problem"]},
    "data": {"type": "string", "description": "JSON: {stage}, {position}, {text}, the answer, or a problem"}}}


def create_app(settings: Settings | None = None, *, chat_model=None, warm: bool = False) -> FastAPI:
    """The API over `settings` (default: the ABORDO_* environment); `chat_model` for tests. With `warm`
    (`abordo serve`), the model and its prompt prefix are made ready in the background at once."""
    service = Service(settings or load_settings(), chat_model)
    if warm:
        service.start_warmup()
    app = FastAPI(title="abordo", version="1", summary="Passenger look-up assistant: guarded, read-only, audited.")
    app.state.service = service
    app.add_middleware(Gate, service=service)

    def _respond(request: Request, problem: Problem):
        request.state.problem = (problem.status, problem.code, problem.detail)   # the gate audits it
        return problem_response(problem)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException):
        if not isinstance(exc, Problem):     # the router's and FastAPI's own: 404, 405, 400
            code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}.get(
                exc.status_code, f"http_{exc.status_code}")
            detail = {400: "the request body could not be read as JSON",
                      404: f"no route {request.url.path}",
                      405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
            exc = Problem(exc.status_code, code, detail, headers=getattr(exc, "headers", None))
        return _respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(request: Request, exc: RequestValidationError):
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()[:5])
        body = getattr(exc, "body", None)
        if isinstance(body, dict) and isinstance(body.get("question"), str):
            request.state.question = body["question"][:MAX_QUESTION]   # audited as sent (escaped if need be)
        return _respond(request, Problem(422, "invalid_request", f"the request is not valid: {where}"[:1000]))

    @app.exception_handler(Exception)
    async def _on_crash(request: Request, exc: Exception):
        log.exception("unexpected failure on %s", request.url.path)
        return _respond(request, Problem(500, "internal_error",
                                         "something went wrong on our side; the request was not completed"))

    def current_user(request: Request) -> User:
        """The user the gate signed in (it lets no request without one reach a route)."""
        user = getattr(request.state, "user", None)
        if user is None:
            raise Problem(401, "unauthenticated", "send 'Authorization: Bearer <token>'")
        return user

    def supervisor(user: User = Depends(current_user)) -> User:
        if user.role != "supervisor":
            raise Problem(403, "forbidden", f"the audit log is for supervisors; your role is {user.role}")
        return user

    def _checked_question(request: Request, body: AskBody) -> str:
        question = _CONTROLS.sub(" ", body.question).strip()
        request.state.question = question
        if not question:
            raise Problem(422, "empty_question", "the question is empty")
        return question

    def _conversation(user: User, body: AskBody) -> tuple[conversations.Memory, str]:
        if not body.conversation_id:
            return conversations.Memory(), conversations.new_id()
        try:
            return conversations.load(service.settings.app_url, body.conversation_id, user.name), body.conversation_id
        except conversations.ConversationNotFound:
            raise Problem(404, "unknown_conversation", f"no conversation {body.conversation_id!r}") from None
        except sa.exc.SQLAlchemyError:
            raise Problem(503, "app_store_unavailable", "the conversation store does not answer") from None

    def _guarded(work):
        """`work()`, its failures as the 503 problems they are (a bug stays a bug: a 500)."""
        try:
            return work()
        except (Cancelled, Problem):
            raise
        except Exception as exc:
            failed = _failure(exc, service.queue_timeout)
            if failed is None:
                raise
            raise failed from None

    def _look_up(user: User, body: AskBody, question: str, memory):
        """The card when the question is a record look-up (no model loaded, no queue), else None."""
        return _guarded(lambda: service.assistant(user.role).look_up(
            question, memory=memory, user=user.name, today=body.today or service.settings.today))

    def _ask_model(user: User, body: AskBody, question: str, memory, on_stage=None, on_queue=None, on_token=None,
                   cancelled=None):
        """The question's turn at the model, after any before it in the fair queue."""
        def waiting(n: int) -> None:
            if cancelled is not None and cancelled():
                raise Cancelled("withdrawn while waiting")    # the queue releases the ticket
            (on_queue or (lambda _n: None))(n)

        def work():
            queued = time.perf_counter()
            with service.queue.turn(timeout=service.queue_timeout, on_position=waiting):
                waited = time.perf_counter() - queued
                ans = service.assistant(user.role).ask(
                    question, memory=memory, on_stage=on_stage, on_token=on_token, cancelled=cancelled,
                    user=user.name, today=body.today or service.settings.today)
            ans.timings["queue"] = waited         # the wait for a model slot, apart from the work
            return ans

        return _guarded(work)

    def _delivered(user: User, ans, memory, conversation_id: str) -> dict:
        """The answer as the API gives it, once it is sure to have its audit record and its conversation."""
        _undeliverable(ans)
        try:
            conversations.save(service.settings.app_url, conversation_id, user.name, memory)
        except sa.exc.SQLAlchemyError:
            raise Problem(503, "app_store_unavailable", "the conversation could not be kept; try again") from None
        return {**ans.to_dict(), "conversation_id": conversation_id, "answer_id": _kept(user, ans)}

    def _undeliverable(ans) -> None:
        if ans.error == "audit_failed":     # nothing leaves without its audit record
            raise Problem(503, "audit_unavailable", "the audit log could not be written, so no answer is given")
        if ans.error == "database_unreachable":
            raise Problem(503, "database_unreachable", "the passenger database does not answer; try again shortly")

    def _kept_answer(answer_id: str, user: User, to: str):
        """The answer `answer_id` of `user`, as kept for editing and verifying; 404 for another user's."""
        try:
            kept = answer_plans.find(service.settings.app_url, answer_id, user.name)
        except sa.exc.SQLAlchemyError:
            raise Problem(503, "app_store_unavailable", "the answer store does not answer") from None
        if kept is None:
            raise Problem(404, "answer_not_found", f"no answer {answer_id} of yours to {to}")
        return kept

    def _client_error_or(error: type[Exception], code: str, work):
        """`work()` through `_guarded`, with `error` (the client's to fix) a 422 `code`, not a 503."""
        def run():
            try:
                return work()
            except error as exc:
                return exc
        done = _guarded(run)
        if isinstance(done, error):
            raise Problem(422, code, str(done))
        return done

    def _kept(user: User, ans) -> str | None:
        """The id an edit or a verification names this answer by, when the model (or an edit, or a
        verified question) wrote a query for it."""
        if ans.error or ans.refused or not ans.sql_generated or ans.path not in ("views", "tables", "verified"):
            return None
        path = "views" if ans.plan else "tables"
        try:
            return answer_plans.keep(service.settings.app_url, user.name, user.role, ans.question,
                                     ans.plan["sql"] if ans.plan else ans.sql_generated, path)
        except sa.exc.SQLAlchemyError:
            raise Problem(503, "app_store_unavailable", "the answer could not be kept; try again") from None

    @app.post("/v1/ask", summary="Answer one question (an `abordo ask --json` object)",
              responses=responses(*COMMON, 404))
    def ask(request: Request, body: AskBody, user: User = Depends(current_user)) -> dict:
        question = _checked_question(request, body)
        memory, conversation_id = _conversation(user, body)
        ans = _look_up(user, body, question, memory) or _ask_model(user, body, question, memory)
        return _delivered(user, ans, memory, conversation_id)

    @app.post("/v1/ask/stream", summary="The same, as server-sent events: stage, queue, token, answer",
              response_class=EventStream,
              responses={200: {"description": STREAM_EVENTS, "content": {"text/event-stream": {"schema": SSE_EVENT}}},
                         **responses(*COMMON, 404)})
    def ask_stream(request: Request, body: AskBody, user: User = Depends(current_user)) -> EventStream:
        question = _checked_question(request, body)
        memory, conversation_id = _conversation(user, body)
        # A look-up is answered before the stream starts, so its failures are plain HTTP problems; only
        # what happens at the model arrives as a `problem` event.
        card = _look_up(user, body, question, memory)
        card = _delivered(user, card, memory, conversation_id) if card is not None else None
        events: queue.Queue = queue.Queue()
        gone = threading.Event()

        def run() -> None:
            try:
                if card is None:
                    ans = _ask_model(user, body, question, memory,
                                     on_stage=lambda st: events.put(("stage", {"stage": st})),
                                     on_queue=lambda n: events.put(("queue", {"position": n})),
                                     on_token=lambda tok: events.put(("token", {"text": tok})), cancelled=gone.is_set)
                events.put(("answer", card or _delivered(user, ans, memory, conversation_id)))
            except Cancelled:
                request.state.problem = (499, "client_disconnected", "the client went away before the answer")
            except Problem as exc:
                request.state.problem = (exc.status, exc.code, exc.detail)
                events.put(("problem", problem_body(exc.status, exc.code, exc.detail)))
            except Exception:
                log.exception("unexpected failure in a stream")
                request.state.problem = (500, "internal_error", "unexpected failure in a stream")
                events.put(("problem", problem_body(500, "internal_error", "something went wrong")))
            finally:
                events.put(None)

        # The thread copies this request's context: the audit records it writes count for the request.
        threading.Thread(target=contextvars.copy_context().run, args=(run,), name="abordo-ask-stream",
                         daemon=True).start()

        async def stream() -> AsyncIterator[str]:
            """Events as they come; a client that went away withdraws the question (its generation
            stops, and on a model server its slot is freed)."""
            finished = False
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
                        finished = True
                        return
                    kind, data = item
                    yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
            finally:
                gone.set()
                if not finished:     # gone before the end: the gate audits the withdrawal
                    request.state.problem = (499, "client_disconnected", "the client went away before the answer")

        return EventStream(stream())

    @app.post("/v1/answers/{answer_id}/edit", summary="An answer again with one change to its plan: no model call",
              responses=responses(*COMMON, 404))
    def edit_answer(request: Request, body: EditBody,
                    answer_id: Annotated[str, Path(pattern=ANSWER_ID, max_length=66)],
                    user: User = Depends(current_user)) -> dict:
        from assistant.plan.edit import Edit
        from assistant.plan.errors import PlanError

        kept = _kept_answer(answer_id, user, "edit")
        if kept.path != "views":
            raise Problem(422, "edit_invalid", "only an answer over a view has a plan to edit; ask again instead")
        # an EditError, or a kept plan the catalog no longer reads: the client's to fix
        ans = _client_error_or(PlanError, "edit_invalid", lambda: service.assistant(user.role).edit(
            kept.question, kept.plan_sql, Edit.from_dict(body.model_dump()), user=user.name,
            today=service.settings.today))
        _undeliverable(ans)
        return {**ans.to_dict(), "answer_id": _kept(user, ans), "edited_from": answer_id}

    @app.post("/v1/answers/{answer_id}/verify", summary="Mark an answer verified (supervisors): the same question "
              "with other values is then answered from it, with no model call", status_code=201,
              responses=responses(*COMMON, 403, 404))
    def verify_answer(request: Request, answer_id: Annotated[str, Path(pattern=ANSWER_ID, max_length=66)],
                      user: User = Depends(supervisor)) -> dict:
        from assistant.verified import VerifiedError

        kept = _kept_answer(answer_id, user, "verify")
        entry = _client_error_or(VerifiedError, "verify_invalid", lambda: service.assistant(user.role).verify(
            kept.question, kept.plan_sql, kept.path, user=user.name))
        service.audit(request, user, "verified", f"verified #{entry.id}: {kept.question}")
        return {"verified": entry.as_dict()}

    @app.get("/v1/conversations/{conversation_id}", summary="A conversation's remembered turns",
             responses=responses(*COMMON, 404))
    def conversation(request: Request,
                     conversation_id: Annotated[ConversationId, Path()],
                     user: User = Depends(current_user)) -> dict:
        try:
            memory = conversations.load(service.settings.app_url, conversation_id, user.name)
        except conversations.ConversationNotFound:
            raise Problem(404, "unknown_conversation", f"no conversation {conversation_id!r}") from None
        except sa.exc.SQLAlchemyError:
            raise Problem(503, "app_store_unavailable", "the conversation store does not answer") from None
        turns = memory.to_list()
        service.audit(request, user, "conversation_read", f"{len(turns)} turns of {conversation_id}",
                      row_count=len(turns))
        return {"conversation_id": conversation_id, "turns": turns}

    @app.post("/v1/feedback", summary="👍/👎 on an answer", status_code=201, responses=responses(*COMMON))
    def feedback(request: Request, body: FeedbackBody, user: User = Depends(current_user)) -> dict:
        from assistant.feedback import Feedback, add_feedback

        try:
            add_feedback(service.settings.app_url, Feedback(user=user.name, role=user.role, question=body.question,
                                                            sql=body.sql, rating=body.rating, lang="", model="",
                                                            error=None, comment=body.comment))
        except (AssistantError, sa.exc.SQLAlchemyError):
            raise Problem(503, "app_store_unavailable", "the feedback could not be stored; try again") from None
        service.audit(request, user, "feedback", f"rating {body.rating:+d} stored")
        return {"stored": True}

    @app.get("/v1/audit", summary="The latest audit records (supervisors)", responses=responses(*COMMON, 403))
    def audit(request: Request, n: Annotated[int, Query(ge=1, le=500)] = 50, user: User = Depends(supervisor)) -> dict:
        try:
            records = [r.as_dict() for r in get_audit_log(service.settings.app_url).tail(n)]
        except (AuditError, sa.exc.SQLAlchemyError):
            raise Problem(503, "app_store_unavailable", "the audit log cannot be read now; try again") from None
        service.audit(request, user, "audit_view", f"read the last {len(records)} audit records",
                      row_count=len(records))
        return {"records": records}

    @app.get("/healthz", summary="The process answers (never waits on a store)")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="Database readable, app store writable, model reachable",
             responses={503: {"description": "Something a question needs is not ready; `checks` says what"}})
    def readyz() -> JSONResponse:
        checks = _readiness(service.settings, service.warmup)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503,
                            headers=None if ok else {"Retry-After": "10"})

    def openapi() -> dict:
        """FastAPI's document, plus the problem schema, the bearer scheme and each route's security."""
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            components = doc.setdefault("components", {})
            components.setdefault("schemas", {})["Problem"] = ProblemDoc.model_json_schema()
            components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer",
                                                        "description": "A token from `abordo users token NAME`"}}
            for path, ops in doc.get("paths", {}).items():
                if path.startswith("/v1/"):
                    for op in ops.values():
                        op["security"] = [{"bearer": []}]
            read = doc["paths"]["/v1/conversations/{conversation_id}"]["get"]["operationId"]
            doc["paths"]["/v1/ask"]["post"]["responses"]["200"]["links"] = {"ReadConversation": {
                "operationId": read, "parameters": {"conversation_id": "$response.body#/conversation_id"},
                "description": "The conversation this answer started or continued"}}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi
    return app


def _failure(exc: Exception, queue_timeout: float) -> Problem | None:
    """The 503 problem for a failure that produced no answer (None: a bug, answered as a 500).
    Every 503 carries Retry-After."""
    if isinstance(exc, QueueTimeout):       # past what one machine takes: say when to come back
        return Problem(503, "busy", f"every model slot stayed busy for {queue_timeout:g} s; try again",
                       headers={"Retry-After": "30"})
    if isinstance(exc, AuditError):
        return Problem(503, "audit_unavailable", "the audit log could not be written, so no answer is given")
    if isinstance(exc, SqlToolError):       # the query service has audited the query
        if exc.code == "database_unreachable":
            return Problem(503, "database_unreachable", "the passenger database does not answer; try again shortly")
        return Problem(503, "database_error", exc.text("en"))
    if isinstance(exc, ModelNotFound):
        return Problem(503, "model_unavailable", str(exc))
    if isinstance(exc, DatabaseUnreachable):
        return Problem(503, "database_unreachable", f"{exc}; try again shortly")
    if isinstance(exc, (DbError, AssistantError)):
        return Problem(503, "service_unavailable", str(exc))
    if is_unreachable(exc):
        return Problem(503, "model_unavailable", "the model server did not answer; try again shortly")
    return None


def _readiness(s: Settings, warmup: Warmup | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        from sql_tools.lookup import make_fetch

        make_fetch(s, s.role)("SELECT 1", {})
        out["database"] = "ok"
    except Exception as exc:
        out["database"] = f"unreachable ({type(exc).__name__})"
    try:
        out["app_store"] = "ok" if get_audit_log(s.app_url).writable() else "not writable (locked or read-only)"
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
            from assistant.llm.models import locate

            locate(s.model)
            out["model"] = "ok"
        except Exception as exc:
            out["model"] = f"missing ({type(exc).__name__})"
    if out["model"] == "ok" and warmup is not None and warmup.busy:
        out["model"] = f"warming (loading the model and its prompt prefix, {warmup.elapsed():.0f} s so far)"
    return out


def app_from_environment() -> FastAPI:
    """The factory uvicorn's workers call (`abordo serve`): settings from the ABORDO_* environment."""
    return create_app(warm=True)
