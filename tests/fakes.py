"""A scripted chat model for unit tests: LangChain's FakeListChatModel that also records prompts."""
from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel


class RecordingChat(FakeListChatModel):
    """Answers with `responses` in order and keeps every message list it was sent."""

    calls: list[list[Any]] = []
    model_name: str = "fake"

    def __init__(self, responses: list[str], **kwargs):
        super().__init__(responses=responses, calls=[], **kwargs)

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        if self.i >= len(self.responses):
            raise AssertionError(f"the pipeline made an unscripted model call #{self.i + 1}")
        self.calls.append(list(messages))
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)

    @property
    def user_messages(self) -> list[str]:
        return [m[-1].content for m in self.calls]

    @property
    def system_messages(self) -> list[str]:
        return [m[0].content for m in self.calls]
