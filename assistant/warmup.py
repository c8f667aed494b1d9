"""The model made ready in the background when a server starts (`abordo ui`, `abordo serve`).

Why: a server that loads the model and its prompt prefix on the first question makes that asker wait
for it. Started at once, the warm-up restores the saved prefix state (a second or two) or, on a machine
that has never read this prompt, reads and saves it (1 to 3 minutes on 2 cores) while the page and `/readyz` say
so. A question that arrives meanwhile waits on the model's lock, then reuses the prefix.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("abordo.model")


class Warmup:
    """One background warm-up: `state` is "pending", "warming", "ready" or "failed"."""

    def __init__(self, work: Callable[[], dict]):
        self._work = work
        self.state = "pending"
        self.detail: dict = {}
        self.error = ""
        self.started = 0.0
        self.seconds = 0.0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Warmup:
        """Start it once (later calls do nothing)."""
        with self._lock:
            if self._thread is None:
                self.state, self.started = "warming", time.perf_counter()
                self._thread = threading.Thread(target=self._run, name="abordo-warm", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.detail = self._work() or {}
            self.state = "ready"
            log.info("model ready in %.1f s (prompt prefix %s)", time.perf_counter() - self.started,
                     self.detail.get("prefix_state", "not kept"))
        except Exception as exc:     # a missing model or database shows on the first question instead
            self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"[:300]
            log.warning("warm-up failed: %s", self.error)
        finally:
            self.seconds = time.perf_counter() - self.started

    @property
    def busy(self) -> bool:
        return self.state == "warming"

    def elapsed(self) -> float:
        return time.perf_counter() - self.started if self.busy else self.seconds
