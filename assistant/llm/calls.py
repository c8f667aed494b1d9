"""One call to the chat model, and what it cost: the tokens read (new and from the cache) and written.

The pipeline and the LangChain baseline read the same usage reports from every backend: in-process
llama.cpp reports `prompt_tokens`/`new_prompt_tokens`/`completion_tokens` in its response metadata; a
model server (llama-server, vLLM) reports OpenAI-style usage whose `cache_read` is the prompt it held."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from assistant.errors import Cancelled
from assistant.llm import cancellable


@dataclass(frozen=True)
class TokenUsage:
    prompt: int = 0
    new_prompt: int = 0          # the prompt tokens the model had to read (not already in its cache)
    completion: int = 0
    cache_hit: bool | None = None


def token_usage(meta: Mapping, usage: Mapping | None = None) -> TokenUsage:
    """The usage of one reply from its response metadata and LangChain usage metadata."""
    meta, usage = dict(meta), dict(usage or {})
    prompt = meta.get("prompt_tokens", usage.get("input_tokens", 0)) or 0
    cached = (usage.get("input_token_details") or {}).get("cache_read")
    if cached is not None and "new_prompt_tokens" not in meta:
        # A model server (llama-server, vLLM) reports the prompt tokens its cache already held.
        meta["new_prompt_tokens"] = max(0, prompt - int(cached))
        meta.setdefault("cache_hit", int(cached) > 0)
    return TokenUsage(prompt=prompt, new_prompt=meta.get("new_prompt_tokens", prompt) or 0,
                      completion=meta.get("completion_tokens", usage.get("output_tokens", 0)) or 0,
                      cache_hit=bool(meta["cache_hit"]) if "cache_hit" in meta else None)


def call_model(chat, messages: list, *, max_tokens: int, stop: list[str] | None = None,
               on_token: Callable[[str], None] | None = None, cut_when: Callable[[str], bool] | None = None,
               cancelled: Callable[[], bool] | None = None) -> tuple[str, TokenUsage]:
    """The reply to `messages` and its usage.

    With `on_token` or `cut_when` the reply is streamed; generation stops as soon as `cut_when(text so
    far)` holds, and the backend's usage report never arrives then, so the streamed chunks (one per token
    on llama.cpp) count as the completion tokens. `cancelled()` turning true raises `Cancelled` before
    the call or between two tokens; on a model server also while it reads the prompt (`cancellable`:
    the connection closes and the server frees the slot)."""
    kwargs = {"max_tokens": max_tokens}
    if cancelled is not None and cancelled():
        raise Cancelled("the question was withdrawn")
    if on_token is not None or cut_when is not None:
        text, meta, chunks = "", {}, 0
        if cancelled is not None and cancellable.stops_at_once(chat):
            replies = cancellable.stream(chat, messages, cancelled=cancelled, stop=stop, **kwargs)
        else:
            replies = chat.stream(messages, stop=stop, **kwargs)
        with contextlib.closing(replies):    # a cut reply stops its stream now, not when collected
            for chunk in replies:
                if cancelled is not None and cancelled():
                    raise Cancelled("the question was withdrawn")
                text += chunk.content
                chunks += bool(chunk.content)
                if on_token is not None:
                    on_token(chunk.content)
                meta = {**meta, **(chunk.response_metadata or {})}
                if chunk.usage_metadata:
                    meta["usage"] = chunk.usage_metadata
                if cut_when is not None and chunk.content and cut_when(text):
                    meta.setdefault("completion_tokens", chunks)
                    break
    else:
        msg = chat.invoke(messages, stop=stop, **kwargs)
        text, meta = msg.content, dict(msg.response_metadata or {})
        if msg.usage_metadata:
            meta["usage"] = msg.usage_metadata
    return (text if isinstance(text, str) else str(text)), token_usage(meta, meta.get("usage"))
