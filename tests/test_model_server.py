"""llama.cpp's own server as the model engine, for real: built from the llama-cpp-python sdist (cached
after the first build), started on loopback with the 0.5B model, answering through the OpenAI-compatible
backend and the HTTP API, and killed mid-answer to see that the API stays up and recovers."""
from __future__ import annotations

import contextlib
import re
import signal
import threading
import time

import httpx
import pytest

from db.settings import Settings
from tests.test_api import Server, _free_port

pytestmark = [pytest.mark.model, pytest.mark.slow]
MODEL = "qwen2.5-coder-0.5b"


class ModelServer:
    def __init__(self, binary, model, tmp_path, parallel: int = 2, slot_ctx: int = 4608):
        from assistant.llm.server import server_command

        self.port = _free_port()
        self.cmd = server_command(binary, model, port=self.port, parallel=parallel, slot_ctx=slot_ctx, threads=2)
        self.log = tmp_path / f"llama-server-{self.port}.log"
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> ModelServer:
        from assistant.llm.server import start_server, wait_ready

        self.proc = start_server(self.cmd, log_path=self.log)
        wait_ready(self.base, self.proc, timeout=180)
        return self

    def kill(self) -> None:
        import os

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture(scope="module")
def binary():
    from assistant.llm.server import build_server

    return build_server(say=print)


@pytest.fixture(scope="module")
def model_path():
    from assistant.errors import ModelNotFound
    from assistant.llm.models import locate

    try:
        return locate(MODEL).path
    except ModelNotFound as exc:
        pytest.fail(f"the 0.5B model is needed: `abordo model fetch --name {MODEL}` ({exc})")


@pytest.fixture(scope="module")
def model_server(binary, model_path, tmp_path_factory):
    server = ModelServer(binary, model_path, tmp_path_factory.mktemp("llama-server")).start()
    yield server
    server.kill()


def test_the_server_is_built_portable_and_runs(binary):
    from assistant.llm.server import _smoke

    assert binary.is_file() and _smoke(binary)


def test_the_openai_backend_reports_the_servers_prompt_cache(model_server):
    """Two calls with one long shared prefix: the second reads only its new tokens (the slot's cache)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from assistant.llm.openai_compat import make_openai_chat

    chat = make_openai_chat(f"{model_server.base}/v1", max_tokens=8)
    system = SystemMessage("You write SQLite queries for an airline database. " * 40)
    first = chat.invoke([system, HumanMessage("Count the flights.")])
    second = chat.invoke([system, HumanMessage("Count the bookings.")])
    assert first.content and second.content
    u1, u2 = first.usage_metadata, second.usage_metadata
    assert u1["input_tokens"] > 300 and u2["output_tokens"] >= 1
    cached = (u2.get("input_token_details") or {}).get("cache_read")
    assert cached is not None and cached > 300, u2          # the shared prefix came from the slot's cache


def test_the_api_survives_a_model_server_killed_mid_answer(binary, model_path, small_demo_db, tmp_path):
    """The request in flight gets a 503 problem with a clear code; the worker stays up; once the model
    server is back, the next question is answered."""
    from sql_tools.audit import get_audit_log

    with _api_on_a_model_server(binary, model_path, small_demo_db, tmp_path) as (server, api, app_url, headers):
        result: dict = {}

        def ask() -> None:
            result["r"] = httpx.post(api.url + "/v1/ask", json={"question": "¿Cuántos vuelos hay?"}, headers=headers,
                                     timeout=300)

        t = threading.Thread(target=ask)
        t.start()
        time.sleep(3)                                # reading the ~3,300-token prefix: mid-answer
        server.kill()
        t.join(120)
        r = result["r"]
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "model_unavailable" and "Traceback" not in r.text
        (refused,) = [a for a in get_audit_log(app_url).tail(5) if a.code == "model_unavailable"]
        assert refused.question == "¿Cuántos vuelos hay?" and refused.verdict == "error"   # a 5xx is an error
        assert httpx.get(api.url + "/healthz").status_code == 200
        ready = httpx.get(api.url + "/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["model"].startswith("unreachable")
        server.start()                               # back on the same port
        r = httpx.post(api.url + "/v1/ask", json={"question": "¿Cuántos vuelos hay?"}, headers=headers, timeout=300)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["error"] is None and out["prompt_tokens"] > 1000, out     # the schema prefix and the question
        assert 0 < out["new_prompt_tokens"] <= out["prompt_tokens"] and out["completion_tokens"] > 0
        assert get_audit_log(app_url).tail(1)[0].verdict == "accepted"


@contextlib.contextmanager
def _api_on_a_model_server(binary, model_path, demo_db, tmp_path):
    """A one-slot model server and the API in front of it: (server, api, app_url, agent's headers)."""
    from api.app import create_app
    from assistant.users import ensure_demo_users, issue_token

    server = ModelServer(binary, model_path, tmp_path, parallel=1).start()
    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    headers = {"Authorization": f"Bearer {issue_token(app_url, 'agente')}"}
    api = Server(create_app(Settings(database_url=f"sqlite:///{demo_db}", app_url=app_url,
                                     openai_base_url=f"{server.base}/v1")))
    try:
        yield server, api, app_url, headers
    finally:
        api.stop()
        server.kill()


def _model_serve(env: dict, port: int):
    """`abordo model serve --parallel 1` until it prints its URL: (process, the lines it printed)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "abordo", "model", "serve", "--port", str(port),
                             "--parallel", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("ABORDO_OPENAI_BASE_URL="):
            break
    return proc, lines


def _stop(proc) -> None:
    import os

    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def test_abordo_model_serve_starts_warms_and_prints_the_url(binary, tmp_path, small_demo_db):
    """The command as the README gives it: the server comes up with the prefix in its slot and says
    which ABORDO_OPENAI_BASE_URL to use; SIGTERM stops it and its llama-server. The first start reads
    the prefix and saves the slot; the next restores it (its first question reads only its own tokens);
    a damaged slot file is refused and saved again."""
    import os

    port = _free_port()
    env = {**os.environ, "ABORDO_MODEL": MODEL, "ABORDO_DATABASE_URL": f"sqlite:///{small_demo_db}",
           "ABORDO_APP_URL": f"sqlite:///{tmp_path / 'app.sqlite'}", "ABORDO_PREFIX_DIR": str(tmp_path / "prefix")}
    proc, lines = _model_serve(env, port)
    try:
        assert f"ABORDO_OPENAI_BASE_URL=http://127.0.0.1:{port}/v1\n" in lines, "".join(lines)
        assert any("prompt prefix is in 1 slot(s), saved" in line
                   and "the fallback's prefix in its prompt cache, saved" in line for line in lines), "".join(lines)
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    finally:
        _stop(proc)
    time.sleep(1)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    slots = sorted((tmp_path / "prefix" / "server").glob("*.slot"))
    assert len(slots) == 2 and all(s.with_name(s.name + ".json").exists() for s in slots)   # views, tables

    from langchain_core.messages import HumanMessage, SystemMessage

    from assistant.llm.openai_compat import make_openai_chat
    from assistant.pipeline import Assistant

    views, tables = (m[0].content for m in Assistant(Settings(database_url=f"sqlite:///{small_demo_db}")).prefixes())
    proc, lines = _model_serve(env, port)
    try:
        assert any("prompt prefix is in 1 slot(s), restored" in line
                   and "prompt cache, restored" in line for line in lines), "".join(lines)
        chat = make_openai_chat(f"http://127.0.0.1:{port}/v1", max_tokens=4)
        # the views' prefix from the restored slot; the tables' (a fallback) from the server's prompt cache;
        # the views' again, back from that cache
        for system in (views, tables, views):
            used = chat.invoke([SystemMessage(system), HumanMessage("¿Cuántos vuelos hay hoy?")]).usage_metadata
            cached = (used.get("input_token_details") or {}).get("cache_read")
            assert cached is not None and cached > 1000, used
    finally:
        _stop(proc)

    data = bytearray(slots[0].read_bytes())
    data[len(data) // 2] ^= 0x10
    slots[0].write_bytes(bytes(data))
    proc, lines = _model_serve(env, port)
    try:
        said = "".join(lines)
        assert "is ignored and rebuilt" in said and ", saved (" in said, said
    finally:
        _stop(proc)


def test_a_client_that_leaves_mid_stream_frees_its_slot(binary, model_path, small_demo_db, tmp_path):
    """The stream's client goes away as soon as the model starts: the withdrawn question is audited, and
    the model server drops it while still reading the prompt (the connection closes at once, not at the
    first token, which on 2 cores comes some 15 s later), so the slot is free for the next asker."""
    from assistant.pipeline import Assistant
    from sql_tools.audit import get_audit_log

    with _api_on_a_model_server(binary, model_path, small_demo_db, tmp_path) as (server, api, app_url, headers):
        with httpx.stream("POST", api.url + "/v1/ask/stream", json={"question": "¿Cuántos vuelos hay por origen?"},
                          headers=headers, timeout=300) as r:
            for line in r.iter_lines():
                if line.startswith("data: ") and '"generate"' in line:
                    break                          # the model is reading the prompt: leave now
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if any(rec.code == "client_disconnected" for rec in get_audit_log(app_url).tail(5)):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the withdrawn question was not audited")
        # The server's own log, not its /slots (a request the server answers between prompt batches).
        while "stop processing" not in server.log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the model server never dropped the withdrawn question"
            time.sleep(0.2)
        log = server.log.read_text(errors="replace")
        read = int(re.search(r"stop processing: n_tokens = (\d+)", log).group(1))
        system = Assistant(Settings(database_url=f"sqlite:///{small_demo_db}")).prefix_messages()[0].content
        prefix = len(httpx.post(server.base + "/tokenize", json={"content": system}, timeout=30).json()["tokens"])
        assert "cancel task" in log and read < prefix, (read, prefix, log[-1500:])   # dropped mid-prompt
        slots = httpx.get(server.base + "/slots", timeout=60).json()
        assert not any(s.get("is_processing") for s in slots), slots


def _predicted(server) -> float:
    """Tokens the model server has generated so far (its Prometheus metrics)."""
    for line in httpx.get(server.base + "/metrics", timeout=10).text.splitlines():
        if line.startswith("llamacpp:tokens_predicted_total"):
            return float(line.split()[-1])
    raise AssertionError("the model server reports no llamacpp:tokens_predicted_total")


def test_two_api_workers_and_the_chat_page_share_one_model_server_and_a_postgres_app_store(
        binary, model_path, small_demo_db, tmp_path, make_pg_database, monkeypatch):
    """The scale-out shape on one machine: `abordo serve --workers 2` and the Streamlit page, all on one
    llama-server (2 slots) and one PostgreSQL app store. A conversation goes on whichever worker takes
    the next request, the page's question is generated by the same server, and the store holds one
    audit record per question from all of them."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    import streamlit as st

    from assistant.users import ensure_demo_users, issue_token
    from sql_tools.audit import get_audit_log
    from tests.test_api import abordo_serve, workers_seen
    from tests.test_ui_app import ask, reply_text, signed_in

    app_url = make_pg_database()
    ensure_demo_users(app_url)
    headers = {"Authorization": f"Bearer {issue_token(app_url, 'agente')}"}
    server = ModelServer(binary, model_path, tmp_path, parallel=2).start()
    shared = {"ABORDO_APP_URL": app_url, "ABORDO_OPENAI_BASE_URL": f"{server.base}/v1", "ABORDO_MODEL_SLOTS": "2",
              "ABORDO_DATABASE_URL": f"sqlite:///{small_demo_db}"}
    env = {**{k: v for k, v in os.environ.items() if k != "ABORDO_TEST_CHAT_MODEL"}, **shared}
    questions = ["¿Cuántos vuelos hay?", "How many bookings are there?", "¿Cuántos pasajeros hay?",
                 "How many flights are there?"]

    def one(q: str) -> httpx.Response:
        return httpx.post(url + "/v1/ask", json={"question": q}, headers=headers, timeout=600)

    try:
        with abordo_serve(tmp_path, env, "--workers", "2", ready="/readyz", wait_s=240) as (url, _proc):
            before = _predicted(server)
            with ThreadPoolExecutor(4) as pool:              # more questions than slots, on both workers
                answers = list(pool.map(one, questions))
            for r in answers:
                assert r.status_code == 200, r.text
                out = r.json()
                assert out["llm_calls"] >= 1 and out["completion_tokens"] > 0 and out["error"] is None, out
            assert _predicted(server) - before >= sum(r.json()["completion_tokens"] for r in answers) * 0.9

            conversation, workers = None, {r.headers["X-Abordo-Worker"] for r in answers}
            for i in range(4):                               # one conversation, on whichever worker
                r = httpx.post(url + "/v1/ask", json={"question": f"¿Cuántos vuelos hay? ({i})",
                                                      "conversation_id": conversation}, headers=headers, timeout=600)
                assert r.status_code == 200, r.text
                conversation = r.json()["conversation_id"]
                workers.add(r.headers["X-Abordo-Worker"])
            turns = httpx.get(url + f"/v1/conversations/{conversation}", headers=headers, timeout=30).json()["turns"]
            assert [t["question"][-3:] for t in turns] == ["(1)", "(2)", "(3)"]
            assert len(workers_seen(url, workers)) == 2, workers

            for key, value in shared.items():                    # the chat page, in this process, on the same two
                monkeypatch.setenv(key, value)
            monkeypatch.delenv("ABORDO_TEST_CHAT_MODEL", raising=False)
            st.cache_resource.clear()
            before = _predicted(server)
            at = ask(signed_in("agente"), "¿Cuántos aeropuertos hay?")
            assert not at.exception and any(ch.isdigit() for ch in reply_text(at)), reply_text(at)
            assert _predicted(server) > before, "the page's question was not generated by the model server"
            st.cache_resource.clear()
    finally:
        server.kill()

    accepted = [r.question for r in get_audit_log(app_url).tail(200) if r.user == "agente" and r.verdict == "accepted"]
    asked = questions + [f"¿Cuántos vuelos hay? ({i})" for i in range(4)] + ["¿Cuántos aeropuertos hay?"]
    assert all(q in accepted for q in asked), accepted      # every worker and the page wrote to the one store
