"""The in-process llama.cpp chat model against the REAL fetched GGUF (`abordo model fetch`).

Kept short (few output tokens): the test machines have 2 cores. The prefix-cache test proves the
latency design: a static system prompt is evaluated once and reused by the next question.
"""
from __future__ import annotations

import threading
import uuid

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.errors import ModelNotFound
from assistant.llm import make_chat_model
from assistant.llm.llamacpp import MIN_CTX, LlamaCppChat, PromptTooLong
from assistant.llm.models import DEFAULT_MODEL, locate
from db.settings import Settings

SCHEMA = " ".join(
    f"Table {t} has columns {t}_id INTEGER PRIMARY KEY, passenger_name TEXT, flight_code TEXT, "
    f"seat TEXT, status TEXT, booked_at DATE."
    for t in ("passengers", "bookings", "flights", "segments", "seats", "tickets", "baggage", "loyalty")
)


def _system(tag: str) -> SystemMessage:
    # The tag goes first so an earlier test's KV cache shares at most the chat template's first tokens.
    return SystemMessage(f"[{tag}] You write one SQLite query for an airline passenger database. "
                         f"Answer with SQL only. {SCHEMA}")


@pytest.fixture(scope="module")
def chat() -> LlamaCppChat:
    try:
        locate(DEFAULT_MODEL)
    except ModelNotFound as exc:
        pytest.fail(f"{exc} (the model tests need the real GGUF)")
    return make_chat_model(Settings(), max_tokens=16)


@pytest.mark.model
def test_short_completion_returns_text(chat):
    msg = chat.invoke([SystemMessage("Answer with one word."), HumanMessage("What color is the sky?")])
    assert isinstance(msg.content, str) and msg.content.strip()
    meta = msg.response_metadata
    assert meta["prompt_tokens"] > 0 and 0 < meta["completion_tokens"] <= 16
    assert meta["new_prompt_tokens"] + meta["reused_prompt_tokens"] == meta["prompt_tokens"]
    assert msg.usage_metadata["input_tokens"] == meta["prompt_tokens"]
    assert meta["load_seconds"] > 0 and meta["total_seconds"] > 0


@pytest.mark.model
def test_loaded_once_per_process(chat):
    again = make_chat_model(Settings(), max_tokens=4)
    assert again.loaded() is chat.loaded()


@pytest.mark.model
def test_bind_overrides_max_tokens(chat):
    msg = chat.bind(max_tokens=2).invoke([HumanMessage("Count from one to twenty in words.")])
    assert msg.response_metadata["completion_tokens"] <= 2
    assert msg.response_metadata["finish_reason"] == "length"


@pytest.mark.model
def test_streaming_yields_chunks(chat):
    chunks = list(chat.stream([SystemMessage("Answer briefly."), HumanMessage("Name three airlines.")]))
    text_chunks = [c for c in chunks if c.content]
    assert len(text_chunks) >= 2
    assert "".join(c.content for c in text_chunks).strip()
    last = chunks[-1]
    assert last.response_metadata["completion_tokens"] > 0
    assert last.usage_metadata["output_tokens"] == last.response_metadata["completion_tokens"]


@pytest.mark.model
def test_static_prefix_is_reused_between_questions(chat):
    system = _system(uuid.uuid4().hex[:8])
    chat = chat.bind(max_tokens=4)  # this test is about the prompt; keep generation short
    first = chat.invoke([system, HumanMessage("How many passengers are on flight IB3170?")])
    second = chat.invoke([system, HumanMessage("¿Qué asiento tiene Ana López?")])
    m1, m2 = first.response_metadata, second.response_metadata
    print("uncached:", m1, "\ncached:  ", m2)
    assert m1["prompt_tokens"] > 200
    # only the template's opening tokens ("<|im_start|>system\n[") can match the previous call
    assert m1["reused_prompt_tokens"] < 8 and m1["new_prompt_tokens"] > 200 and not m1["cache_hit"]
    assert m2["cache_hit"]
    assert m2["new_prompt_tokens"] < m2["prompt_tokens"] / 5
    assert second.usage_metadata["input_token_details"]["cache_read"] == m2["reused_prompt_tokens"]
    assert m2["prompt_seconds"] < m1["prompt_seconds"] / 2
    assert m2["total_seconds"] < m1["total_seconds"]


@pytest.mark.model
def test_warm_evaluates_the_static_prefix_once(chat):
    system = _system(uuid.uuid4().hex[:8])
    warmed = chat.warm([system])
    assert warmed["new_prompt_tokens"] > 200
    assert warmed["kept_tokens"] >= warmed["prompt_tokens"]
    msg = chat.bind(max_tokens=4).invoke([system, HumanMessage("List flights to MAD.")])
    assert msg.response_metadata["cache_hit"] and not msg.response_metadata["restored_snapshot"]
    assert msg.response_metadata["new_prompt_tokens"] < 40
    # another system prompt evicts the prefix from the KV cache ...
    other = chat.bind(max_tokens=2).invoke([SystemMessage("Answer in one word."), HumanMessage("Hi")])
    assert not other.response_metadata["cache_hit"]
    # ... and the kept snapshot brings it back instead of re-evaluating ~270 tokens
    back = chat.bind(max_tokens=4).invoke([system, HumanMessage("¿Cuántos vuelos hay hoy?")])
    print("restored:", back.response_metadata)
    assert back.response_metadata["restored_snapshot"] and back.response_metadata["cache_hit"]
    assert back.response_metadata["new_prompt_tokens"] < 40
    assert back.response_metadata["prompt_seconds"] < warmed["prompt_seconds"]  # timings are noisy on a busy box


@pytest.mark.model
def test_concurrent_calls_are_serialised(chat):
    results: list[str] = []
    errors: list[BaseException] = []

    def ask(q: str) -> None:
        try:
            results.append(chat.bind(max_tokens=3).invoke([HumanMessage(q)]).content)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(q,)) for q in ("Say hi.", "Say bye.")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(results) == 2


@pytest.mark.model
def test_llama2_chat_format_runs_with_the_gguf(chat):
    """Any GGUF can be driven with a named llama.cpp chat format (here 'llama-2', as for Llama-2-chat)."""
    local = locate(DEFAULT_MODEL)
    llama2 = make_chat_model(Settings(model=str(local.path), chat_format="llama-2"), max_tokens=4)
    try:
        assert llama2.chat_format == "llama-2"
        assert llama2.loaded().llm.chat_format == "llama-2"
        msg = llama2.invoke([SystemMessage("Be brief."), HumanMessage("Say OK.")])
        assert msg.response_metadata["completion_tokens"] >= 1
        assert isinstance(msg.content, str)
    finally:
        llama2.unload()


@pytest.mark.model
def test_a_prompt_past_the_context_window_is_prompt_too_long_in_both_paths(chat):
    """llama.cpp's "exceeds context window" ValueError (raised before any evaluation) becomes PromptTooLong
    naming the setting, for `invoke` and `stream` alike, and the model is free for the next call."""
    too_long = [HumanMessage("hello " * (max(MIN_CTX, chat.n_ctx) + 100))]
    for call in (chat.invoke, lambda m: list(chat.stream(m))):
        with pytest.raises(PromptTooLong, match="ABORDO_N_CTX"):
            call(too_long)
        loaded = chat.loaded()
        assert loaded._stats is None and loaded.lock.acquire(timeout=1)
        loaded.lock.release()
    assert chat.bind(max_tokens=2).invoke([HumanMessage("Say OK.")]).response_metadata["completion_tokens"] >= 1
