"""A fair first-come, first-served queue in front of the one shared model.

Why: a UI server process holds ONE llama.cpp model (it takes ~1 GB and all the CPU), and a model
instance must not be used by two threads at once. A plain `threading.Lock` serialises calls but is not
fair (any waiter may win) and cannot say where a waiting user stands. Here every caller takes a
numbered ticket; tickets are served strictly in order; `position(ticket)` tells a waiting user how
many are ahead, so the UI can show "you are number 3 in the queue".

A ticket is always released (context manager), also when the caller fails or is interrupted while
waiting (a browser tab closed, Streamlit stopping a script run), so one failure never blocks the rest.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class QueueTimeout(TimeoutError):
    """Waited longer than the caller's limit; the ticket has been withdrawn."""


class FairQueue:
    """Serve at most `slots` holders at a time, strictly in ticket order."""

    def __init__(self, slots: int = 1):
        if slots < 1:
            raise ValueError("slots must be >= 1")
        self.slots = slots
        self._cond = threading.Condition()
        self._numbers = itertools.count(1)
        self._waiting: deque[int] = deque()      # tickets in arrival order
        self._active: set[int] = set()
        self.max_waiting = 0                     # the longest the queue has been (for tests and logs)

    # --- the three steps ------------------------------------------------------------------------

    def take(self) -> int:
        """Join the end of the queue; returns the ticket."""
        with self._cond:
            ticket = next(self._numbers)
            self._waiting.append(ticket)
            self._promote()
            self.max_waiting = max(self.max_waiting, len(self._waiting))
            return ticket

    def wait(self, ticket: int, *, timeout: float | None = None, refresh: float = 0.5,
             on_position: Callable[[int], None] | None = None) -> None:
        """Block until `ticket` is served. `on_position(n)` is called whenever the place changes
        (n = 1 means next), and on entry if the ticket must wait. The callback runs outside the lock
        and may raise (e.g. Streamlit stopping the run): the ticket is then withdrawn."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        try:
            while True:
                with self._cond:
                    pos = self._position(ticket)
                    if pos == 0:
                        return
                    if pos is None:
                        raise KeyError(f"ticket {ticket} is not in the queue")
                    if pos == last:
                        left = None if deadline is None else deadline - time.monotonic()
                        if left is not None and left <= 0:
                            raise QueueTimeout(f"still number {pos} in the queue after {timeout:.0f} s")
                        self._cond.wait(refresh if left is None else min(refresh, left))
                        continue
                if on_position is not None:
                    on_position(pos)
                if last is None:
                    log.info("queue: ticket %d waits at position %d", ticket, pos)
                last = pos
        except BaseException:
            self.release(ticket)
            raise

    def release(self, ticket: int) -> None:
        """Leave the queue, served or not (idempotent)."""
        with self._cond:
            self._active.discard(ticket)
            try:
                self._waiting.remove(ticket)
            except ValueError:
                pass
            self._promote()
            self._cond.notify_all()

    @contextmanager
    def turn(self, *, timeout: float | None = None,
             on_position: Callable[[int], None] | None = None) -> Iterator[int]:
        """`with queue.turn(on_position=show): ...` runs the body when it is this caller's turn."""
        ticket = self.take()
        self.wait(ticket, timeout=timeout, on_position=on_position)
        try:
            yield ticket
        finally:
            self.release(ticket)

    # --- observing ------------------------------------------------------------------------------

    def position(self, ticket: int) -> int | None:
        """0: being served; n >= 1: n-th in line; None: unknown or already released."""
        with self._cond:
            return self._position(ticket)

    def __len__(self) -> int:
        """How many are waiting (not counting those being served)."""
        with self._cond:
            return len(self._waiting)

    @property
    def active(self) -> int:
        with self._cond:
            return len(self._active)

    # --- internals (call with the lock held) ----------------------------------------------------

    def _position(self, ticket: int) -> int | None:
        if ticket in self._active:
            return 0
        try:
            return self._waiting.index(ticket) + 1
        except ValueError:
            return None

    def _promote(self) -> None:
        while self._waiting and len(self._active) < self.slots:
            self._active.add(self._waiting.popleft())
