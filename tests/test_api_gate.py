"""The API's gate and audit trail, as an attacker and an operator would find them (issue 23): hostile
text, bodies too large or not JSON, anonymous floods, a locked app store, a passenger database moved
away, no model at all, and memory under many dates. Real HTTP on a loopback port, real SQLite stores."""
from __future__ import annotations

import gc
import json
import shutil
import socket
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from db.settings import Settings
from sql_tools.audit import get_audit_log, storable
from tests.fakes import ScriptedChat
from tests.test_api import Server, is_problem

PROBLEM = "application/problem+json"


def _make(demo_db_path: Path, tmp: Path, **settings) -> object:
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp / 'app.sqlite'}"
    ensure_demo_users(app_url)
    chat = settings.pop("chat", None) or ScriptedChat()
    s = Settings(database_url=f"sqlite:///{demo_db_path}", app_url=app_url, **{"query_path": "tables", **settings})
    app = create_app(s, chat_model=chat)
    server = Server(app)
    tokens = {role: issue_token(app_url, name) for name, role in (("agente", "agent"), ("supervisor", "supervisor"),
                                                                  ("analista", "analyst"))}
    return type("Env", (), {"url": server.url, "server": server, "chat": chat, "tokens": tokens, "app_url": app_url,
                            "db": demo_db_path, "settings": s, "service": app.state.service})


@pytest.fixture(scope="module")
def demo_db(small_demo_db) -> Path:
    return small_demo_db


@pytest.fixture(scope="module")
def env(demo_db, tmp_path_factory):
    e = _make(demo_db, tmp_path_factory.mktemp("gate"), api_rate_per_minute=100_000)
    yield e
    e.server.stop()


@pytest.fixture(scope="module")
def locator(demo_db) -> str:
    with sqlite3.connect(demo_db) as conn:
        return conn.execute("SELECT record_locator FROM bookings ORDER BY booking_id LIMIT 1").fetchone()[0]


def auth(env, role: str = "agent") -> dict:
    return {"Authorization": f"Bearer {env.tokens[role]}"}


def raw_post(env, path: str, body: bytes, role: str | None = "agent", **headers) -> httpx.Response:
    h = {"Content-Type": "application/json", **(auth(env, role) if role else {}), **headers}
    return httpx.post(env.url + path, content=body, headers=h, timeout=60)


def records(env) -> int:
    return get_audit_log(env.app_url).count()


def last(env):
    return get_audit_log(env.app_url).tail(1)[0]


def _raw_http(url: str, request: bytes, *, read_timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """One request over a bare socket (to send headers that promise a body it never sends)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(lines[0].split()[1]), headers, rest


# --- 2: hostile text is refused, and its record is always written --------------------------------

@pytest.mark.parametrize("path", ["/v1/ask", "/v1/ask/stream"])
@pytest.mark.parametrize("body", [
    b'{"question": "\\ud800 229L5U"}',                          # a lone surrogate before a locator
    b'{"question": "hola", "conversation_id": "c_\\udfff"}',     # one in the conversation id
    ('{"question": "' + "\\ud800" * 2001 + '"}').encode(),       # 2,001 of them
    b'{"question": "\\udc80\\u0000\\ud83d"}',                    # surrogates around NUL
])
def test_hostile_text_is_a_422_problem_with_its_record(env, path, body):
    before = records(env)
    is_problem(raw_post(env, path, body), 422, "invalid_request")
    assert records(env) == before + 1
    rec = last(env)
    assert (rec.user, rec.role, rec.verdict, rec.code) == ("agente", "agent", "refused", "invalid_request")
    typed = json.loads(body)["question"]
    if "\ud800" <= max(typed) <= "\udfff":     # the question kept as typed, its surrogates escaped
        assert rec.question == storable(typed[:2000])    # at most a question's length


def test_audit_store_takes_any_text_escaped(tmp_path):
    from sql_tools.audit import AuditRecord

    log = get_audit_log(f"sqlite:///{tmp_path / 'a.sqlite'}")
    rid = log.append(AuditRecord(user="u\ud800", role="agent", verdict="refused", question="a\x00b\udfff",
                                 reason="\ud83d", passenger_ids=["\udc00"]))
    (rec,) = log.tail(1)
    assert rec.id == rid and rec.question == "a\\x00b\\udfff" and rec.user == "u\\ud800"
    assert rec.passenger_ids == ["\\udc00"] and storable("José ✈ 229L5U") == "José ✈ 229L5U"


def test_control_characters_count_as_spaces(env, locator):
    r = raw_post(env, "/v1/ask", json.dumps({"question": f"\u0000{locator}\u0007"}).encode())
    assert r.status_code == 200, r.text
    assert r.json()["card"]["kind"] == "booking"
    assert last(env).question == locator


# --- 4 and 8: bodies are read only after sign-in, never past the limit, and errors are problems ----

def test_a_huge_body_without_a_token_is_401_without_being_read(env):
    before = records(env)
    status, headers, body = _raw_http(env.url, (
        b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n" + b"{" * 1000))
    assert status == 401 and headers["content-type"].startswith(PROBLEM)
    assert json.loads(body)["code"] == "unauthenticated"
    assert records(env) == before + 1 and last(env).user == "anonymous"


def test_a_body_over_the_limit_is_413_with_a_token(env):
    token = env.tokens["agent"].encode()
    status, _, body = _raw_http(env.url, (
        b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token +
        b"\r\nContent-Length: 104857600\r\n\r\n"))
    assert status == 413 and json.loads(body)["code"] == "request_too_large"
    assert (last(env).user, last(env).code) == ("agente", "request_too_large")
    # A chunked body that declares no length is stopped at the same size, as it is read.

    def chunks():
        for _ in range(200):
            yield b" " * 1024
    r = httpx.post(env.url + "/v1/feedback", content=chunks(), headers={**auth(env), "Content-Type": "application/json"})
    is_problem(r, 413, "request_too_large")
    # A 20 MiB `sql` is refused before anything is stored.
    from assistant.feedback import list_feedback

    stored = len(list_feedback(env.app_url))
    r = httpx.post(env.url + "/v1/feedback", json={"question": "q", "rating": -1, "sql": "x" * (20 << 20)},
                   headers=auth(env), timeout=60)
    is_problem(r, 413, "request_too_large")
    assert len(list_feedback(env.app_url)) == stored


def test_malformed_json_without_a_token_is_401_not_422(env):
    is_problem(raw_post(env, "/v1/ask", b"{not json", role=None), 401, "unauthenticated")


def test_unreadable_bodies_and_unknown_routes_are_problems_audited_as_their_user(env):
    cases = [
        (raw_post(env, "/v1/ask", b'{"question": "\xff\xfe"}'), 400, "invalid_body"),       # invalid UTF-8
        (raw_post(env, "/v1/ask", b"[" * 30000), 400, "invalid_body"),                       # nested too deep
        (httpx.get(env.url + "/v1/nothing", headers=auth(env)), 404, "not_found"),
        (httpx.delete(env.url + "/v1/ask", headers=auth(env)), 405, "method_not_allowed"),
        (raw_post(env, "/v1/feedback", b'{"question": "q", "rating": 0}'), 422, "invalid_request"),
        (raw_post(env, "/v1/ask", b'{"question": ""}'), 422, "invalid_request"),
    ]
    trail = get_audit_log(env.app_url).tail(len(cases))
    for (r, status, code), rec in zip(cases, trail, strict=True):
        is_problem(r, status, code)
        assert (rec.user, rec.verdict, rec.code) == ("agente", "refused", code)
    assert cases[3][0].headers["allow"] == "POST"


def test_reads_and_feedback_leave_records(env, locator):
    r = raw_post(env, "/v1/ask", json.dumps({"question": locator}).encode())
    cid = r.json()["conversation_id"]
    before = records(env)
    assert httpx.get(f"{env.url}/v1/conversations/{cid}", headers=auth(env)).status_code == 200
    assert (last(env).user, last(env).code, last(env).verdict) == ("agente", "conversation_read", "accepted")
    is_problem(httpx.get(f"{env.url}/v1/conversations/{cid}", headers=auth(env, "supervisor")), 404,
               "unknown_conversation")
    assert (last(env).user, last(env).code) == ("supervisor", "unknown_conversation")
    assert httpx.post(env.url + "/v1/feedback", json={"question": "q", "rating": 1}, headers=auth(env)).status_code == 201
    assert (last(env).user, last(env).code) == ("agente", "feedback")
    assert records(env) == before + 3


def test_the_openapi_document_declares_every_problem(env):
    doc = httpx.get(env.url + "/openapi.json").json()
    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "code", "detail"]
    for path, ops in doc["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for op in ops.values():
            assert op["security"] == [{"bearer": []}]
            for status in ("400", "401", "413", "422", "429", "503"):
                assert PROBLEM in op["responses"][status]["content"], (path, status)
    ask = doc["components"]["schemas"]["AskBody"]["properties"]["question"]
    assert (ask["minLength"], ask["maxLength"]) == (1, 2000)
    assert doc["components"]["schemas"]["FeedbackBody"]["properties"]["rating"]["enum"] == [-1, 1]
    assert "text/event-stream" in doc["paths"]["/v1/ask/stream"]["post"]["responses"]["200"]["content"]


def test_stream_errors_known_before_it_starts_are_http_statuses(env):
    r = httpx.post(env.url + "/v1/ask/stream", json={"question": "hola", "conversation_id": "c_nope"}, headers=auth(env))
    is_problem(r, 404, "unknown_conversation")


# --- 5: anonymous floods are limited, and cannot stall the server -------------------------------

def test_an_anonymous_flood_is_limited_and_audited_once_a_minute(demo_db, tmp_path):
    e = _make(demo_db, tmp_path, api_anon_rate_per_minute=5)
    try:
        before = records(e)
        statuses = [httpx.post(e.url + "/v1/ask", json={"question": "x"}).status_code for _ in range(40)]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        assert records(e) == before + 6      # five 401s, and the first 429 (which says the rest go unrecorded)
        r = httpx.post(e.url + "/v1/ask", json={"question": "x"})
        is_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        # A signed-in user is not held back by the anonymous limit.
        assert httpx.get(e.url + "/v1/audit", headers=auth(e, "supervisor")).status_code == 200
    finally:
        e.server.stop()


@pytest.fixture
def locked_store(env):
    """The app store locked by another writer (as a long migration or a stuck process would)."""
    path = env.app_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, timeout=1)
    conn.execute("BEGIN EXCLUSIVE")
    yield
    conn.rollback()
    conn.close()


def test_a_locked_app_store_gives_503s_and_never_stalls_health(env, locked_store):
    results: dict[str, httpx.Response] = {}

    def call(name, fn):
        results[name] = fn()

    slow = [threading.Thread(target=call, args=(name, fn)) for name, fn in {
        "anon1": lambda: httpx.post(env.url + "/v1/ask", json={"question": "x"}, timeout=60),
        "anon2": lambda: httpx.post(env.url + "/v1/ask", json={"question": "y"}, timeout=60),
        "feedback": lambda: httpx.post(env.url + "/v1/feedback", json={"question": "q", "rating": 1},
                                       headers=auth(env), timeout=60),
        "audit": lambda: httpx.get(env.url + "/v1/audit", headers=auth(env, "supervisor"), timeout=60),
    }.items()]
    for t in slow:
        t.start()
    time.sleep(0.3)
    health = [httpx.get(env.url + "/healthz", timeout=5) for _ in range(5)]
    assert all(h.status_code == 200 for h in health)
    assert max(h.elapsed.total_seconds() for h in health) < 1.0     # liveness, not a benchmark
    ready = httpx.get(env.url + "/readyz", timeout=30)
    assert ready.status_code == 503 and ready.json()["checks"]["app_store"].startswith("not writable")
    for t in slow:
        t.join(60)
    assert results["anon1"].status_code == 401 and results["anon2"].status_code == 401
    for name in ("feedback", "audit"):
        r = results[name]
        assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM), (name, r.text)
        assert r.json()["code"] in ("app_store_unavailable", "audit_unavailable") and r.headers["retry-after"]


# --- 6 and 11: faults of the passenger database and the model ------------------------------------

def test_a_passenger_database_moved_away_is_a_503_with_retry_after(demo_db, tmp_path, locator):
    db = tmp_path / "moving.sqlite"
    shutil.copy(demo_db, db)
    e = _make(db, tmp_path)
    try:
        ok = httpx.post(e.url + "/v1/ask", json={"question": locator}, headers=auth(e, "supervisor"))
        assert ok.status_code == 200
        db.rename(tmp_path / "elsewhere.sqlite")
        for role in ("agent", "supervisor"):        # a user whose Assistant exists, and a new one
            for path in ("/v1/ask", "/v1/ask/stream"):
                before = records(e)
                r = httpx.post(e.url + path, json={"question": locator}, headers=auth(e, role), timeout=60)
                body = is_problem(r, 503, "database_unreachable")
                assert r.headers["retry-after"] and "Traceback" not in body["detail"]
                assert records(e) >= before + 1 and last(e).code == "database_unreachable"
    finally:
        e.server.stop()


def test_look_ups_need_no_model(demo_db, tmp_path, locator):
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    s = Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url, model=str(tmp_path / "missing.gguf"))
    server = Server(create_app(s))          # no chat model given: the configured one, which is missing
    try:
        h = {"Authorization": f"Bearer {issue_token(app_url, 'agente')}"}
        r = httpx.post(server.url + "/v1/ask", json={"question": locator}, headers=h, timeout=60)
        assert r.status_code == 200 and r.json()["card"]["kind"] == "booking", r.text
        full_width = locator.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})      # '２２９Ｌ５Ｕ'
        r = httpx.post(server.url + "/v1/ask", json={"question": full_width}, headers=h, timeout=60)
        assert r.status_code == 200 and r.json()["card"]["kind"] == "booking", r.text
        r = httpx.post(server.url + "/v1/ask", json={"question": "¿Cuántos vuelos salen de MEX?"}, headers=h)
        is_problem(r, 503, "model_unavailable")
        assert r.headers["retry-after"]
        assert get_audit_log(app_url).tail(1)[0].code == "model_unavailable"
    finally:
        server.stop()


# --- 3: memory stays flat whatever the dates -----------------------------------------------------

def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_a_thousand_distinct_dates_leave_memory_flat(env, locator):
    import datetime as dt

    def ask(i: int) -> None:
        day = (dt.date(2026, 1, 1) + dt.timedelta(days=i)).isoformat()
        r = client.post("/v1/ask", json={"question": locator, "today": day})
        assert r.status_code == 200

    with httpx.Client(base_url=env.url, headers=auth(env), timeout=30) as client:
        for i in range(100):
            ask(i)
        gc.collect()
        start = _rss_mib()
        for i in range(100, 1000):
            ask(i)
        gc.collect()
        grown = _rss_mib() - start
    assert env.service.cached_assistants <= 3                  # one per role, not per (user, role, day)
    assert grown < 20, f"RSS grew {grown:.1f} MiB over 900 dates"  # it grew ~2.3 MiB per date before
