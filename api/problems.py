"""Problem documents (RFC 9457): the only shape an error of the API takes.

Every error, from a route, from validation, from the router (unknown path, wrong method) or from the
gate in front of it (no token, body too large, too many requests), is `application/problem+json` with
a stable `code`; the OpenAPI document declares each status a route can give with this schema.
"""
from __future__ import annotations

import json

from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import Response

PROBLEM_TYPE = "application/problem+json"
RETRY_AFTER_S = 10      # what a 503 tells the client to wait, unless it says otherwise


class Problem(HTTPException):
    """An error answered as a problem document; `code` is stable, `detail` is for people.

    A Starlette HTTPException, so FastAPI passes it through untouched when the request body is being
    read (the gate's size limit raises it from there)."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict | None = None):
        headers = dict(headers or {})
        if status == 503:
            headers.setdefault("Retry-After", str(RETRY_AFTER_S))
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.status, self.code = status, code


class ProblemDoc(BaseModel):
    """What every error response holds."""
    type: str = Field(description="A URI naming the problem's kind")
    title: str
    status: int
    code: str = Field(description="Stable machine-readable code (e.g. unauthenticated, rate_limited)")
    detail: str = Field(description="What went wrong, for people")


def problem_body(status: int, code: str, detail: str) -> dict:
    return {"type": f"https://abordo.invalid/problems/{code}", "title": code.replace("_", " "),
            "status": status, "code": code, "detail": detail}


def problem_response(problem: Problem) -> Response:
    return Response(json.dumps(problem_body(problem.status, problem.code, problem.detail), ensure_ascii=False),
                    status_code=problem.status, media_type=PROBLEM_TYPE, headers=problem.headers)


# Why each status can come back, for the OpenAPI document.
_WHY = {
    400: "The body could not be read (invalid UTF-8, JSON nested too deep, not JSON)",
    401: "No valid token (`Authorization: Bearer <token>` from `abordo users token NAME`)",
    403: "The role may not use this route",
    404: "Unknown conversation (or another user's)",
    413: "The request body is larger than api_max_body_bytes",
    422: "The request does not match this schema, or its text is not valid (an unpaired surrogate)",
    429: "Too many requests from this user or address; Retry-After says when to come back",
    503: "The passenger database, the app store or the model is unavailable, or every model slot stayed busy; "
         "Retry-After says when to try again",
}
COMMON = (400, 401, 413, 422, 429, 503)


def responses(*statuses: int) -> dict:
    """The `responses=` of a route: each status as a problem document."""
    return {s: {"description": _WHY[s], "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in statuses}
