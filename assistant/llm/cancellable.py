"""A streamed reply from a model server that stops the moment its asker goes away, even before the
first token.

A sync stream can only notice a withdrawn question between two chunks, and no chunk arrives while the
server reads the prompt: measured with a one-slot llama-server on 2 cores, a client that left at the
start kept the slot busy 18 s (2,500 prompt tokens read, then one token, then the cancel). Here the
HTTP stream runs on one event loop shared by the process (the async client's connection pool belongs
to one loop), and the calling thread waits for its chunks while watching `cancelled()`: when it turns
true, or the caller stops reading, the stream's task is cancelled, its connection closes, and
llama-server drops the task at its next batch of prompt tokens. Chunks are handed to the calling
thread, so callbacks (a Streamlit placeholder, an SSE queue) run where they always did.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator

from assistant.errors import Cancelled

_POLL_S = 0.1
_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None     # (pid, loop): a forked worker makes its own
_DONE = object()


def stops_at_once(chat) -> bool:
    """Whether `chat` streams over its own async HTTP client (an OpenAI-compatible endpoint), so that
    cancelling its stream closes the connection; an in-process model has no connection to close."""
    return getattr(chat, "async_client", None) is not None


def _model_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="abordo-model-streams", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


def stream(chat, messages: list, *, cancelled: Callable[[], bool], **kwargs) -> Iterator:
    """`chat.stream(messages, **kwargs)`, chunk by chunk in this thread; raises Cancelled within about
    0.1 s of `cancelled()` turning true. Leaving the loop early (a cut reply) stops the stream too."""
    chunks: queue.Queue = queue.Queue()

    async def pump() -> None:
        try:
            async with contextlib.aclosing(chat.astream(messages, **kwargs)) as replies:
                async for chunk in replies:
                    chunks.put(chunk)
        except Exception as exc:  # noqa: BLE001 - raised again in the calling thread
            chunks.put(exc)
        finally:
            chunks.put(_DONE)

    future = asyncio.run_coroutine_threadsafe(pump(), _model_loop())
    try:
        while True:
            try:
                item = chunks.get(timeout=_POLL_S)
            except queue.Empty:
                if cancelled():
                    raise Cancelled("the question was withdrawn") from None
                continue
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
            if cancelled():
                raise Cancelled("the question was withdrawn")
    finally:
        future.cancel()          # a no-op once it has finished
