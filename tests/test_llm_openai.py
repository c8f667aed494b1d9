"""The OpenAI-compatible backend's protocol edge cases, against a tiny stdlib server on localhost that
answers /v1/chat/completions with canned OpenAI-format responses and records what it was sent: the
model name, the API key or its absence, temperature 0, streaming. The backend against a real model
server (llama.cpp's, with its prompt cache, a kill mid-answer and a client that leaves) is
`tests/test_model_server.py`.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.llm import make_chat_model
from db.settings import Settings

ANSWER = "SELECT count(*) FROM passengers"


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in ("SELECT ", "count(*) ", "FROM passengers"):
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        payload = json.dumps({
            "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": ANSWER}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    _Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_chat_openai_talks_to_the_configured_endpoint(server):
    chat = make_chat_model(Settings(openai_base_url=server, openai_model="qwen2.5-coder", openai_api_key="s3cret"))
    msg = chat.invoke([SystemMessage("SQL only."), HumanMessage("How many passengers?")])
    assert msg.content == ANSWER
    assert msg.usage_metadata["input_tokens"] == 12
    (request,) = _Handler.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer s3cret"
    body = request["body"]
    assert body["model"] == "qwen2.5-coder" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_chat_openai_streams_and_works_without_a_key(server):
    chat = make_chat_model(Settings(openai_base_url=server, openai_model="m"))
    pieces = [c.content for c in chat.stream("How many passengers?") if c.content]
    assert "".join(pieces) == ANSWER and len(pieces) == 3
    assert _Handler.requests[0]["auth"].startswith("Bearer ")
