"""The HTTP API over real HTTP: uvicorn on a loopback port in this process (a scripted fake model), and
`abordo serve` as a real process with two workers sharing one app store."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from db.settings import Settings
from sql_tools.audit import get_audit_log
from tests.fakes import ScriptedChat

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving `app` on a free loopback port in a thread, for as long as the fixture lives."""

    def __init__(self, app):
        import uvicorn

        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("uvicorn did not start")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextlib.contextmanager
def abordo_serve(tmp_path: Path, env: dict, *args: str, ready: str = "/healthz", wait_s: float = 120):
    """The real `abordo serve ARGS` on a free port in its own process group, its output in
    tmp_path/serve.log: (url, process) once `ready` answers 200; stopped with SIGTERM afterwards."""
    port = _free_port()
    with open(tmp_path / "serve.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "abordo", "serve", "--port", str(port), *args],
                                env={**env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    if httpx.get(url + ready, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail((tmp_path / "serve.log").read_text()[-2000:])
                time.sleep(0.5)
            yield url, proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)


def workers_seen(url: str, seen: set[str]) -> set[str]:
    """`seen` plus the worker pids that answer a few rounds of concurrent requests: the kernel hands
    new connections to either worker, so a handful of rounds meets them all."""
    seen = set(seen)
    for _ in range(5):
        if len(seen) > 1:
            break
        with ThreadPoolExecutor(8) as pool:
            seen |= set(pool.map(lambda _i: httpx.get(url + "/healthz").headers["X-Abordo-Worker"], range(16)))
    return seen


@pytest.fixture(scope="module")
def demo_db(small_demo_db):
    return small_demo_db


@pytest.fixture(scope="module")
def env(demo_db, tmp_path_factory):
    """The API on the demo database with its own app store; tokens for one user per role."""
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp_path_factory.mktemp('api-store') / 'app.sqlite'}"
    ensure_demo_users(app_url)
    settings = Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url)
    chat = ScriptedChat()
    server = Server(create_app(settings, chat_model=chat))
    tokens = {role: issue_token(app_url, name) for name, role in (("agente", "agent"), ("supervisor", "supervisor"),
                                                                  ("analista", "analyst"))}
    yield type("Env", (), {"url": server.url, "chat": chat, "tokens": tokens, "app_url": app_url, "db": demo_db,
                           "settings": settings})
    server.stop()


def post(env, path: str, body, role: str | None = "agent", **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {env.tokens[role]}"} if role else {}
    if isinstance(body, (dict, list)):
        return httpx.post(env.url + path, json=body, headers=headers, timeout=60, **kw)
    return httpx.post(env.url + path, content=body, headers={**headers, "Content-Type": "application/json"},
                      timeout=60, **kw)


def get(env, path: str, role: str | None = "agent") -> httpx.Response:
    headers = {"Authorization": f"Bearer {env.tokens[role]}"} if role else {}
    return httpx.get(env.url + path, headers=headers, timeout=30)


def last_audit(env, n: int = 1):
    return get_audit_log(env.app_url).tail(n)


def is_problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["code"] == code and body["detail"]
    assert "Traceback" not in r.text
    return body


def test_an_answer_over_http_is_the_ask_json_with_its_conversation(env):
    env.chat.script("SELECT COUNT(*) FROM flights WHERE origin = 'MEX'")
    r = post(env, "/v1/ask", {"question": "¿Cuántos vuelos salen de la Ciudad de México?"})
    assert r.status_code == 200, r.text
    out = r.json()
    with sqlite3.connect(env.db) as conn:
        expected = conn.execute("SELECT COUNT(*) FROM flights WHERE origin = 'MEX'").fetchone()[0]
    assert out["rows"] == [[expected]] and out["error"] is None
    assert out["restatement"] == "Número de vuelos, donde origen es MEX (Ciudad de México)."
    assert out["column_labels"] == ["Número de vuelos"] and out["conversation_id"].startswith("c_")
    rec = last_audit(env)[0]
    assert (rec.user, rec.role, rec.verdict) == ("agente", "agent", "accepted")
    # The follow-up continues the conversation: the model sees the first turn.
    env.chat.script("SELECT COUNT(*) FROM flights WHERE origin = 'MEX' AND destination = 'CUN'")
    r2 = post(env, "/v1/ask", {"question": "¿y cuántos a Cancún?", "conversation_id": out["conversation_id"]})
    assert r2.status_code == 200 and r2.json()["conversation_id"] == out["conversation_id"]
    assert "origin = 'MEX'" in env.chat.prompts[-1] and "Ciudad de México" in env.chat.prompts[-1]
    turns = get(env, f"/v1/conversations/{out['conversation_id']}").json()["turns"]
    assert [t["question"] for t in turns] == ["¿Cuántos vuelos salen de la Ciudad de México?", "¿y cuántos a Cancún?"]
    # Another user cannot read it, nor continue it.
    is_problem(get(env, f"/v1/conversations/{out['conversation_id']}", role="supervisor"), 404, "unknown_conversation")
    is_problem(post(env, "/v1/ask", {"question": "¿y a GDL?", "conversation_id": out["conversation_id"]},
                    role="supervisor"), 404, "unknown_conversation")


def test_no_or_a_bad_or_a_revoked_token_is_401_and_audited(env):
    from assistant.users import issue_token, revoke_token

    body = is_problem(post(env, "/v1/ask", {"question": "¿Cuántos vuelos hay?"}, role=None), 401, "unauthenticated")
    assert "abordo users token" in body["detail"]
    rec = last_audit(env)[0]
    assert (rec.user, rec.verdict, rec.code, rec.question) == ("anonymous", "refused", "unauthenticated",
                                                               None)
    r = httpx.post(env.url + "/v1/ask", json={"question": "x"}, headers={"Authorization": "Bearer abordo_nope"})
    is_problem(r, 401, "unauthenticated")
    token = issue_token(env.app_url, "agente")
    assert revoke_token(env.app_url, token.split("_")[1])
    r = httpx.post(env.url + "/v1/ask", json={"question": "x"}, headers={"Authorization": f"Bearer {token}"})
    is_problem(r, 401, "unauthenticated")


def test_bad_input_is_a_problem_document_and_audited(env):
    is_problem(post(env, "/v1/ask", b"{not json"), 422, "invalid_request")
    is_problem(post(env, "/v1/ask", {"no_question": 1}), 422, "invalid_request")
    is_problem(post(env, "/v1/ask", {"question": "x" * 2001}), 422, "invalid_request")
    assert last_audit(env)[0].code == "invalid_request" and len(last_audit(env)[0].question) == 2000
    is_problem(post(env, "/v1/ask", {"question": "   "}), 422, "invalid_request")   # the schema asks for text
    is_problem(post(env, "/v1/ask", {"question": "hola", "conversation_id": "c_unknown"}), 404, "unknown_conversation")
    (record,) = last_audit(env)
    assert record.code == "unknown_conversation" and record.question == "hola" and record.user == "agente"
    is_problem(post(env, "/v1/ask", {"question": "hola", "today": "ayer"}), 422, "invalid_request")


def test_the_audit_view_is_for_supervisors(env):
    is_problem(get(env, "/v1/audit"), 403, "forbidden")
    assert last_audit(env)[0].code == "forbidden"
    r = get(env, "/v1/audit?n=5", role="supervisor")
    assert r.status_code == 200 and len(r.json()["records"]) == 5
    assert last_audit(env)[0].code == "audit_view"


def test_a_look_up_is_a_card_with_no_model_call(env):
    with sqlite3.connect(env.db) as conn:
        locator = conn.execute("SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
                               "LIMIT 1").fetchone()[0]
    env.chat.script("SELECT 1")
    r = post(env, "/v1/ask", {"question": f"reserva {locator}"})
    assert r.status_code == 200 and r.json()["card"]["key"] == {"record_locator": locator}
    assert env.chat.prompts == []


def test_feedback_and_health(env):
    from assistant.feedback import list_feedback

    r = post(env, "/v1/feedback", {"question": "¿Cuántos vuelos hay?", "rating": -1, "sql": "SELECT 1"})
    assert r.status_code == 201
    assert list_feedback(env.app_url)[-1].user == "agente"
    is_problem(post(env, "/v1/feedback", {"question": "q", "rating": 5}), 422, "invalid_request")
    assert httpx.get(env.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(env.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "app_store": "ok", "model": "ok"}
    assert httpx.get(env.url + "/openapi.json").json()["paths"].keys() >= {"/v1/ask", "/v1/ask/stream", "/v1/audit"}


def test_the_stream_sends_stages_then_the_answer(env):
    env.chat.script("SELECT COUNT(*) FROM bookings")
    events = []
    with httpx.stream("POST", env.url + "/v1/ask/stream", json={"question": "¿Cuántas reservas hay?"},
                      headers={"Authorization": f"Bearer {env.tokens['agent']}"}, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert "stage" in kinds and kinds[-1] == "answer"
    assert {"stage": "generate"} in [d for k, d in events if k == "stage"]
    assert events[-1][1]["restatement"] == "Número de reservas."


def test_the_rate_limit_answers_429_with_retry_after(demo_db, tmp_path, monkeypatch):
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    server = Server(create_app(Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url, api_rate_per_minute=3),
                               chat_model=ScriptedChat()))
    try:
        headers = {"Authorization": f"Bearer {issue_token(app_url, 'agente')}"}
        codes = [httpx.get(server.url + "/v1/conversations/c_x", headers=headers).status_code for _ in range(5)]
        assert codes == [404, 404, 404, 429, 429]
        r = httpx.get(server.url + "/v1/conversations/c_x", headers=headers)
        assert int(r.headers["Retry-After"]) >= 1 and r.json()["code"] == "rate_limited"
    finally:
        server.stop()


def test_an_audit_store_that_fails_gives_503_and_no_answer(demo_db, tmp_path):
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    store = tmp_path / "app.sqlite"
    app_url = f"sqlite:///{store}"
    ensure_demo_users(app_url)
    token = issue_token(app_url, "agente")
    server = Server(create_app(Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url),
                               chat_model=ScriptedChat(["SELECT COUNT(*) FROM flights"])))
    try:
        get_audit_log(app_url)
        with sqlite3.connect(store) as conn:      # the audit table can no longer take a row
            conn.execute("CREATE TRIGGER no_more BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'full'); END")
        r = httpx.post(server.url + "/v1/ask", json={"question": "¿Cuántos vuelos hay?"},
                       headers={"Authorization": f"Bearer {token}"}, timeout=60)
        body = is_problem(r, 503, "audit_unavailable")
        assert "rows" not in body
    finally:
        server.stop()


def test_abordo_serve_with_two_workers_shares_conversations(demo_db, tmp_path):
    """The real command: two uvicorn workers, one app store; a conversation continues on whichever
    worker takes the next request."""
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    token = issue_token(app_url, "agente")
    env = {**os.environ, "ABORDO_APP_URL": app_url, "ABORDO_TEST_CHAT_MODEL": "tests.fakes:scripted_from_env",
           "ABORDO_TEST_REPLIES": json.dumps(["SELECT COUNT(*) FROM flights"])}
    with abordo_serve(tmp_path, env, "--workers", "2", "--db", f"sqlite:///{demo_db}") as (url, proc):
        headers = {"Authorization": f"Bearer {token}"}
        conversation, workers = None, set()
        for i in range(6):
            r = httpx.post(url + "/v1/ask", json={"question": f"¿Cuántos vuelos hay? ({i})",
                                                  "conversation_id": conversation}, headers=headers, timeout=60)
            assert r.status_code == 200, r.text
            conversation, _ = r.json()["conversation_id"], workers.add(r.headers["X-Abordo-Worker"])
        turns = httpx.get(url + f"/v1/conversations/{conversation}", headers=headers).json()["turns"]
        assert [t["question"][-3:] for t in turns] == ["(3)", "(4)", "(5)"]      # the bounded memory
        workers = workers_seen(url, workers)
        assert len(workers) == 2 and str(proc.pid) not in workers, workers
        assert sum(r.code is None and r.user == "agente" for r in get_audit_log(app_url).tail(50)) == 6


def test_abordo_users_token_issues_lists_and_revokes(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from abordo.cli import main
    from assistant.users import ensure_demo_users, verify_token

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    monkeypatch.setenv("ABORDO_APP_URL", app_url)
    runner = CliRunner()
    issued = runner.invoke(main, ["users", "token", "supervisor"])
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    assert verify_token(app_url, token).role == "supervisor"
    token_id = token.split("_")[1]
    assert token_id in runner.invoke(main, ["users", "token", "supervisor", "--list"]).output
    assert runner.invoke(main, ["users", "token", "supervisor", "--revoke", token_id]).exit_code == 0
    assert verify_token(app_url, token) is None
    assert "revoked" in runner.invoke(main, ["users", "token", "supervisor", "--list"]).output
    unknown = runner.invoke(main, ["users", "token", "nobody"])
    assert unknown.exit_code == 2 and "unknown user" in unknown.output


def test_the_passenger_database_down_is_a_clear_503(tmp_path):
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    port = _free_port()        # nothing listens there: a PostgreSQL server that is down
    server = Server(create_app(Settings(database_url=f"postgresql://postgres@127.0.0.1:{port}/abordo", app_url=app_url),
                               chat_model=ScriptedChat()))
    try:
        r = httpx.post(server.url + "/v1/ask", json={"question": "¿Cuántos vuelos hay hoy?"},
                       headers={"Authorization": f"Bearer {issue_token(app_url, 'agente')}"}, timeout=60)
        body = is_problem(r, 503, "database_unreachable")
        assert "passenger database" in body["detail"] and r.headers["Retry-After"] == "10"
        ready = httpx.get(server.url + "/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unreachable")
        assert httpx.get(server.url + "/healthz").status_code == 200
        (record,) = get_audit_log(app_url).tail(5)        # no query ran: the refusal is its one record
        assert record.code == "database_unreachable" and record.question == "¿Cuántos vuelos hay hoy?"
    finally:
        server.stop()


@pytest.mark.parametrize("per_minute,ok", [(60, 50), (20, 20)])
def test_a_burst_of_50_is_queued_or_429_never_a_crash(demo_db, tmp_path, monkeypatch, per_minute, ok):
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    server = Server(create_app(Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url,
                                        api_rate_per_minute=per_minute),
                               chat_model=ScriptedChat(["SELECT COUNT(*) FROM flights"])))
    headers = {"Authorization": f"Bearer {issue_token(app_url, 'agente')}"}
    try:
        def one(i: int) -> int:
            return httpx.post(server.url + "/v1/ask", json={"question": f"¿Cuántos vuelos hay? {i}"}, headers=headers,
                              timeout=120).status_code

        with ThreadPoolExecutor(50) as pool:
            codes = list(pool.map(one, range(50)))
        assert codes.count(200) == ok and codes.count(429) == 50 - ok, codes
        assert httpx.get(server.url + "/healthz").status_code == 200
        audited = get_audit_log(app_url).tail(200)
        assert sum(r.verdict == "accepted" and r.code is None for r in audited) == ok
        assert sum(r.code == "rate_limited" for r in audited) == 50 - ok
    finally:
        server.stop()


class SlowChat(ScriptedChat):
    """A model that takes `seconds` per call, so that questions pile up in the queue."""

    seconds: float = 1.5

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        time.sleep(self.seconds)
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)


def test_past_the_queue_timeout_a_question_gets_503_busy_and_is_audited(demo_db, tmp_path):
    """More questions than the model can take in the queue's time limit: the first is answered, the
    rest are told to come back (503 busy, Retry-After) at once, each with its one audit record, and
    look-ups still go past the queue."""
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    app = create_app(Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url), chat_model=SlowChat())
    app.state.service.queue_timeout = 0.5
    server = Server(app)
    headers = {"Authorization": f"Bearer {issue_token(app_url, 'agente')}"}
    locator = sqlite3.connect(demo_db).execute("SELECT record_locator FROM bookings LIMIT 1").fetchone()[0]
    try:
        def one(i: int) -> httpx.Response:
            time.sleep(0.2 * i)                          # the first one holds the model
            r = httpx.post(server.url + "/v1/ask", json={"question": f"¿Cuántos vuelos hay? {i}"},
                           headers=headers, timeout=60)
            done[i] = time.perf_counter()
            return r

        def look_up() -> httpx.Response:
            time.sleep(0.3)                              # while the model is busy
            r = httpx.post(server.url + "/v1/ask", json={"question": f"reserva {locator}"}, headers=headers,
                           timeout=60)
            done["card"] = time.perf_counter()
            return r

        done: dict = {}

        with ThreadPoolExecutor(5) as pool:
            pending = pool.submit(look_up)
            answers = list(pool.map(one, range(4)))
            card = pending.result()
        assert answers[0].status_code == 200, answers[0].text
        for r in answers[1:]:
            body = is_problem(r, 503, "busy")
            assert r.headers["Retry-After"] == "30" and "0.5 s" in body["detail"]
        assert card.status_code == 200 and card.json()["card"] and done["card"] < done[0], card.text
        assert answers[0].json()["timings"]["queue"] < 0.5
        audited = get_audit_log(app_url).tail(20)
        assert sorted(r.question[-1] for r in audited if r.code == "busy") == ["1", "2", "3"]
        assert sum(r.code is None for r in audited) == 2               # the answer and the card
        assert httpx.get(server.url + "/healthz").status_code == 200
    finally:
        server.stop()


def test_the_trusted_header_signs_in_only_when_configured(demo_db, tmp_path):
    """Behind an authenticating proxy the user comes from its header, and the user's role applies; the
    same header is ignored when the setting is empty, and an unknown name is not let in."""
    from api.app import create_app
    from assistant.users import ensure_demo_users

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    proxied = Server(create_app(Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url,
                                         trusted_user_header="X-Forwarded-User"), chat_model=ScriptedChat()))
    direct = Server(create_app(Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url),
                               chat_model=ScriptedChat()))
    try:
        as_supervisor = {"X-Forwarded-User": "supervisor"}
        assert httpx.get(proxied.url + "/v1/audit", headers=as_supervisor, timeout=30).status_code == 200
        is_problem(httpx.get(proxied.url + "/v1/audit", headers={"X-Forwarded-User": "agente"}, timeout=30),
                   403, "forbidden")
        is_problem(httpx.get(proxied.url + "/v1/audit", headers={"X-Forwarded-User": "nadie"}, timeout=30),
                   401, "unauthenticated")
        is_problem(httpx.get(direct.url + "/v1/audit", headers=as_supervisor, timeout=30), 401, "unauthenticated")
        r = httpx.post(proxied.url + "/v1/ask", json={"question": "¿Cuántos vuelos hay?"},
                       headers={"X-Forwarded-User": "agente"}, timeout=60)
        assert r.status_code == 200 and r.json()["error"] is None, r.text
        assert get_audit_log(app_url).tail(1)[0].user == "agente"
    finally:
        proxied.stop()
        direct.stop()


class _SlowToWarm(ScriptedChat):
    """A fake model whose warm-up (restoring the prompt prefix) lasts until the test lets it finish."""

    gate: object = None
    warmed: list = []

    def warm(self, messages):
        self.gate.wait(60)
        self.warmed.append(messages[0].content[:40])
        return {"prefix_state": "restored"}


def test_readyz_says_warming_until_the_model_and_its_prefix_are_ready(demo_db, tmp_path):
    """`abordo serve` warms at start (create_app(warm=True)): /readyz is 503 `warming (...)` with
    Retry-After while the prefix is restored, then 200; every role's Assistant asks for the same prefix."""
    from api.app import create_app

    chat = _SlowToWarm(gate=threading.Event(), warmed=[])
    settings = Settings(database_url=f"sqlite:///{demo_db}", app_url=f"sqlite:///{tmp_path / 'app.sqlite'}")
    server = Server(create_app(settings, chat_model=chat, warm=True))
    try:
        r = httpx.get(server.url + "/readyz")
        assert r.status_code == 503 and r.headers["retry-after"], r.text
        assert r.json()["checks"]["model"].startswith("warming"), r.json()
        chat.gate.set()
        deadline = time.monotonic() + 30
        while (r := httpx.get(server.url + "/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert r.status_code == 200 and r.json()["checks"]["model"] == "ok", r.json()
        service = server.server.config.app.state.service
        # The default answers over the views first, with the tables behind: both prefixes are made ready.
        assert service.warmup.state == "ready" and service.warmup.detail == {
            "prefix_state": "restored", "more": [{"prefix_state": "restored"}]}
        service.assistant("agent").warm()
        assert len(chat.warmed) == 4 and chat.warmed[:2] == chat.warmed[2:]   # the same prompts for every role
    finally:
        server.stop()
