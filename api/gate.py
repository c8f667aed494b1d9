"""The gate every API request passes before a route sees it, and the audit trail it guarantees.

In order, before the body is read:
1. **Who**: the bearer token (or the trusted proxy header) is checked in a worker thread. No valid
   token: 401 (429 past `api_anon_rate_per_minute` for that client address), and the body is never read.
2. **How often**: past `api_rate_per_minute` for that user, 429 with Retry-After.
3. **How much**: a declared Content-Length above `api_max_body_bytes` is 413 at once; a body without
   one is counted as it is read and stopped at the same size.

And after the route, the promise that **every request leaves an audit record, as the user who sent
it**: the records the request's own work wrote are counted (`sql_tools.audit.start_tally`); a request
that wrote none gets one from here, with its status and problem code, written *before* the response
starts (so an answer whose record cannot be written is replaced by a 503, never sent). A stream's is
written when it ends. Audit writes run in a small thread pool with a time limit, never on the event
loop, so a locked app store slows the requests that must wait for it and nothing else (`/healthz`
keeps answering in milliseconds). Health, readiness and the OpenAPI pages carry no data and are not
audited; an address past its anonymous limit is audited once a minute, not once per request, so a
flood cannot fill the store.
"""
from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from api.limits import RateLimit
from api.problems import Problem, problem_response
from sql_tools.audit import AuditRecord, get_audit_log, start_tally

log = logging.getLogger("abordo.api")

UNAUDITED = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
AUDIT_WAIT_S = 5.0        # how long a response waits for its audit record before going without it


class Gate:
    """Pure ASGI middleware (streams and disconnects pass through untouched)."""

    def __init__(self, app, service):
        self.app = app
        self.service = service
        s = service.settings
        self.max_body = max(1024, s.api_max_body_bytes)
        self.users = RateLimit(s.api_rate_per_minute)
        self.anonymous = RateLimit(s.api_anon_rate_per_minute)
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="abordo-audit")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await self._tagged(scope, receive, _named_worker(send))

    async def _tagged(self, scope, receive, send):
        if scope["path"] in UNAUDITED:
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        tally = start_tally()      # this request's task context (and the threads that copy it)
        headers = _headers(scope)
        try:
            user = await asyncio.to_thread(self.service.authenticate, headers)
        except Problem as problem:          # the user store did not answer
            return await self._refuse(scope, send, None, problem)
        if user is None:
            return await self._anonymous(scope, send)
        state["user"] = user
        over = self.users.check(user.name)
        if over.wait is not None:
            return await self._refuse(scope, send, user, Problem(
                429, "rate_limited", f"too many requests; try again in {over.wait:.0f} s",
                headers={"Retry-After": str(max(1, round(over.wait)))}))
        declared = _content_length(headers)
        if declared is not None and declared > self.max_body:
            return await self._refuse(scope, send, user, _too_large(self.max_body))
        await self._run(scope, _limited(receive, self.max_body), send, user, state, tally)

    async def _run(self, scope, receive, send, user, state, tally):
        audited = replaced = False

        async def guarded_send(message):
            nonlocal audited, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                streaming = any(k == b"content-type" and v.startswith(b"text/event-stream")
                                for k, v in message.get("headers", ()))
                if not streaming and not tally[0]:
                    audited = True
                    if not await self._record(scope, user, message["status"], state) and message["status"] < 400:
                        replaced = True      # the answer goes without its record: it does not go
                        return await _send_problem(send, Problem(
                            503, "audit_unavailable", "the audit log could not be written, so nothing is shown"))
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception:
            state.setdefault("problem", (500, "internal_error", "unexpected failure"))
            if not tally[0] and not audited:
                audited = True
                await self._record(scope, user, 500, state)
            raise
        except asyncio.CancelledError:          # the client went away (a stream is cancelled with it)
            state.setdefault("problem", (499, "client_disconnected", "the client went away before the answer"))
            raise
        finally:
            if not tally[0] and not audited:     # a stream, or a response that never started
                await self._record(scope, user, 200, state)

    async def _anonymous(self, scope, send):
        address = (scope.get("client") or ("unknown",))[0]
        over = self.anonymous.check(address)
        if over.wait is None:
            return await self._refuse(scope, send, None, Problem(
                401, "unauthenticated", "send 'Authorization: Bearer <token>' with a token from "
                                        "`abordo users token NAME`", headers={"WWW-Authenticate": "Bearer"}))
        problem = Problem(429, "rate_limited", f"too many requests without a valid token from this address; try "
                                               f"again in {over.wait:.0f} s",
                          headers={"Retry-After": str(max(1, round(over.wait)))})
        if over.first_refusal:
            scope["state"]["problem"] = (429, problem.code, problem.detail + "; the address's further refusals "
                                         "this minute are not recorded one by one")
            await self._record(scope, None, 429, scope["state"])
        await _send_problem(send, problem)

    async def _refuse(self, scope, send, user, problem: Problem):
        scope["state"]["problem"] = (problem.status, problem.code, problem.detail)
        await self._record(scope, user, problem.status, scope["state"])
        await _send_problem(send, problem)

    async def _record(self, scope, user, status: int, state: dict) -> bool:
        """The request's audit record; False when it could not be written in time."""
        status, code, detail = state.get("problem") or (status, state.get("audit_code") or f"http_{status}", "")
        address = (scope.get("client") or ("unknown",))[0]
        where = f"{scope.get('method', '?')} {scope.get('path', '?')}"
        rec = AuditRecord(
            user=user.name if user else "anonymous", role=user.role if user else "-",
            verdict="accepted" if status < 400 else ("error" if status >= 500 else "refused"), code=code,
            reason=f"{where} -> {status}" + (f": {detail}" if detail else "") + ("" if user else f" (from {address})"),
            question=state.get("question"), row_count=0)
        rec.reason = rec.reason[:1000]
        app_url = self.service.settings.app_url
        # Submitted at once: the record is written even when this task is being cancelled (a client that
        # went away), which would stop the await below, not the write.
        written = asyncio.get_running_loop().run_in_executor(self.pool, lambda: get_audit_log(app_url).append(rec))
        try:
            await asyncio.wait_for(asyncio.shield(written), AUDIT_WAIT_S)
            return True
        except Exception as exc:  # noqa: BLE001 - the store's trouble must not become the client's 500
            log.error("could not audit %s (%s): %s", where, code, type(exc).__name__)
            return False


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}


def _content_length(headers: dict[str, str]) -> int | None:
    raw = headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _too_large(limit: int) -> Problem:
    return Problem(413, "request_too_large", f"a request body has at most {limit} bytes")


def _limited(receive, limit: int):
    """`receive` that stops a body (chunked, or longer than declared) once it passes `limit` bytes."""
    read = 0

    async def counted():
        nonlocal read
        message = await receive()
        if message["type"] == "http.request":
            read += len(message.get("body", b""))
            if read > limit:
                raise _too_large(limit)
        return message

    return counted


async def _send_problem(send, problem: Problem) -> None:
    response = problem_response(problem)
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def _named_worker(send):
    """Names the worker process that answered (`X-Abordo-Worker`), for logs behind a load balancer
    and the scale tests."""
    worker = (b"x-abordo-worker", str(os.getpid()).encode())

    async def tagged(message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), worker]}
        await send(message)

    return tagged
