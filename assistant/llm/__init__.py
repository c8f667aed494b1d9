"""Chat-model backends behind one factory: in-process llama.cpp or an OpenAI-compatible endpoint.

Callers depend only on LangChain's `BaseChatModel`; which backend runs is configuration
(`Settings.openai_base_url` set -> endpoint; otherwise `Settings.model`, a known name or a GGUF path).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from db.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


# Test seam: "module:function", called with the Settings, returning a LangChain chat model. Read only
# when set (the chat page's and the API's tests inject a scripted fake model this way); never set in
# production.
TEST_MODEL_ENV = "ABORDO_TEST_CHAT_MODEL"


def seam_model(settings: Settings) -> BaseChatModel | None:
    """The test seam's chat model when ABORDO_TEST_CHAT_MODEL is set, else None."""
    import importlib
    import os

    spec = os.environ.get(TEST_MODEL_ENV, "")
    if not spec:
        return None
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func)(settings)


def make_chat_model(settings: Settings, **overrides) -> BaseChatModel:
    """The configured chat model (temperature 0). Raises ModelNotFound (one line) if the GGUF is missing.

    `overrides` go to the backend's constructor (e.g. max_tokens=64).
    """
    if settings.openai_base_url:
        from assistant.llm.openai_compat import make_openai_chat

        return make_openai_chat(settings.openai_base_url, settings.openai_model, settings.openai_api_key,
                                **overrides)
    from assistant.llm.adapters import configured_adapter
    from assistant.llm.llamacpp import LlamaCppChat
    from assistant.llm.models import locate

    local = locate(settings.model)
    adapter = overrides.pop("adapter", None) or configured_adapter(settings)
    label = local.label + (f"+{adapter.label}" if adapter else "")
    return LlamaCppChat(model_path=str(local.path), model_name=label,
                        chat_format=settings.chat_format or None, n_ctx=max(4096, settings.n_ctx),
                        n_threads=settings.n_threads, lora_path=str(adapter.path) if adapter else None,
                        prompt_style=adapter.prompt if adapter else "",
                        persist_prefix=settings.prefix_cache == "on", **overrides)


__all__ = ["TEST_MODEL_ENV", "make_chat_model", "seam_model"]
