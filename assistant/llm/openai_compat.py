"""An OpenAI-compatible endpoint (llama.cpp server, vLLM, a hosted API) as the chat model.

This is the scale-out path: many users share one model server instead of one in-process model per
worker. langchain-openai is an optional dependency (`abordo[openai]`), imported only when used.
"""
from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from assistant.errors import AssistantError

# Local servers ignore the key, but the OpenAI client refuses to start without one.
PLACEHOLDER_API_KEY = "sk-no-key-required"


def is_unreachable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the model server is down or went away mid-answer:
    the OpenAI client's connection errors and the HTTP transport's (a reset or truncated stream)."""
    kinds: list[type] = []
    try:
        import openai

        kinds += [openai.APIConnectionError, openai.InternalServerError]
    except ImportError:
        pass
    try:
        import httpx

        kinds.append(httpx.TransportError)
    except ImportError:
        pass
    seen: BaseException | None = exc
    for _ in range(10):          # the cause chain, bounded
        if seen is None:
            return False
        if isinstance(seen, (*kinds, ConnectionError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def make_openai_chat(base_url: str, model: str = "", api_key: str = "", temperature: float = 0.0,
                     **kwargs: Any) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise AssistantError("openai_base_url is set but langchain-openai is not installed: "
                             "run 'pip install abordo[openai]'") from None
    # stream_usage: the pipeline streams SQL replies (to cut a looping one), and a streamed reply reports
    # its token counts (prompt, cached, completion) only when asked to.
    kwargs.setdefault("stream_usage", True)
    return ChatOpenAI(base_url=base_url, model=model or "default", api_key=api_key or PLACEHOLDER_API_KEY,
                      temperature=temperature, **kwargs)
