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

    def _record(self, messages) -> None:
        # FakeListChatModel starts its list over after the last reply: count the calls instead.
        if len(self.calls) >= len(self.responses):
            raise AssertionError(f"the pipeline made an unscripted model call #{len(self.calls) + 1}")
        self.calls.append(list(messages))

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        self._record(messages)
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        """Streams the scripted reply a character at a time (the pipeline streams SQL to cut loops)."""
        self._record(messages)
        yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)

    @property
    def user_messages(self) -> list[str]:
        return [m[-1].content for m in self.calls]

    @property
    def conversations(self) -> list[str]:
        """Each call's turns after the system message, as one text (a repair call has three)."""
        return ["\n".join(m.content for m in call[1:]) for call in self.calls]

    @property
    def system_messages(self) -> list[str]:
        return [m[0].content for m in self.calls]


class PrefixChat(RecordingChat):
    """A RecordingChat with the in-process model's prefix hooks: `warm` records (its thread, the prefix
    text, the calls made before it), after waiting for `gate` when one is set; `preload` is counted."""

    warmed: list = []
    preloads: int = 0
    gate: Any = None

    def __init__(self, responses: list[str], **kwargs):
        super().__init__(responses, warmed=[], **kwargs)

    def warm(self, messages):
        import threading

        if self.gate is not None:
            self.gate.wait(30)
        self.warmed.append((threading.current_thread().name, str(messages[0].content), len(self.calls)))
        return {"prefix_state": "restored"}

    def preload(self):
        self.preloads += 1


class ScriptedChat(FakeListChatModel):
    """A fake whose script a test replaces between questions (`script(...)`); it cycles, never raises.
    For servers that outlive one test (the HTTP API in a thread or a subprocess)."""

    model_name: str = "scripted-fake"
    prompts: list[str] = []

    def __init__(self, responses: list[str] | None = None, **kwargs):
        super().__init__(responses=responses or ["SELECT COUNT(*) FROM flights"], prompts=[], **kwargs)

    def script(self, *responses: str) -> None:
        self.responses, self.i = list(responses), 0
        self.prompts.clear()

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        from langchain_core.messages import AIMessageChunk
        from langchain_core.outputs import ChatGenerationChunk

        yield ChatGenerationChunk(message=AIMessageChunk(content=self._call(messages, stop=stop, **kwargs)))


def scripted_from_env(settings):
    """The test seam's factory for a server process: replies from ABORDO_TEST_REPLIES (a JSON list)."""
    import json
    import os

    return ScriptedChat(json.loads(os.environ.get("ABORDO_TEST_REPLIES", '["SELECT COUNT(*) FROM flights"]')))
