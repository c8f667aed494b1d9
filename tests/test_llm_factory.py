"""make_chat_model picks the backend; a missing model is one clear line (no model needed)."""
from __future__ import annotations

import pytest

from assistant.errors import ModelNotFound
from assistant.llm import make_chat_model
from assistant.llm.llamacpp import LlamaCppChat
from db.settings import Settings


def test_missing_known_model_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ABORDO_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelNotFound) as info:
        make_chat_model(Settings())
    assert str(info.value) == "model qwen2.5-coder-1.5b is not fetched: run 'abordo model fetch'"


def test_missing_gguf_path(tmp_path):
    missing = tmp_path / "llama-2-7b-chat.Q4_K_M.gguf"
    with pytest.raises(ModelNotFound, match=f"model file {missing} does not exist"):
        make_chat_model(Settings(model=str(missing), chat_format="llama-2"))
    with pytest.raises(ModelNotFound, match="does not exist"):
        LlamaCppChat(model_path=str(missing)).invoke("hi")


def test_local_settings_reach_the_chat_model(tmp_path):
    gguf = tmp_path / "any.gguf"
    gguf.write_bytes(b"GGUF")  # not loaded: construction is lazy
    chat = make_chat_model(Settings(model=str(gguf), chat_format="llama-2", n_ctx=2048, n_threads=3))
    assert isinstance(chat, LlamaCppChat)
    assert (chat.chat_format, chat.n_ctx, chat.n_threads, chat.temperature) == ("llama-2", 4096, 3, 0.0)
    assert chat.model_path == str(gguf.resolve())


def test_openai_endpoint_replaces_the_local_model(tmp_path, monkeypatch):
    monkeypatch.setenv("ABORDO_MODEL_DIR", str(tmp_path))  # no local model: must not matter
    chat = make_chat_model(Settings(openai_base_url="http://127.0.0.1:9/v1", openai_model="m",
                                    openai_api_key="k"))
    from langchain_openai import ChatOpenAI

    assert isinstance(chat, ChatOpenAI)
    assert chat.model_name == "m" and chat.temperature == 0
    assert str(chat.openai_api_base).startswith("http://127.0.0.1:9/v1")


def test_openai_backend_without_langchain_openai_says_what_to_install(monkeypatch):
    import sys

    from assistant.errors import AssistantError

    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # import fails as if not installed
    with pytest.raises(AssistantError, match=r"pip install abordo\[openai\]"):
        make_chat_model(Settings(openai_base_url="http://127.0.0.1:9/v1"))
