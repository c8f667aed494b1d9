"""Sliding-window request limits that cannot be grown without bound by the callers they count."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """`wait`: None when allowed (and counted), else the seconds until a request is allowed again;
    `first_refusal`: this is the first refusal since the key was last allowed (callers audit those)."""
    wait: float | None
    first_refusal: bool = False


class RateLimit:
    """At most `per_minute` requests per key (a user, a client address) in any 60 s, in this process.

    The keys it remembers are bounded (`max_keys`, least recently seen forgotten first), so a client
    inventing addresses or names grows nothing past that; forgetting a key only forgives it."""

    def __init__(self, per_minute: int, *, max_keys: int = 10_000, clock=time.monotonic):
        self.per_minute = max(1, per_minute)
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, tuple[deque[float], list[bool]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, key: str) -> Verdict:
        now = self._clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None:
                entry = self._seen[key] = (deque(), [False])
                while len(self._seen) > self.max_keys:
                    self._seen.popitem(last=False)
            else:
                self._seen.move_to_end(key)
            seen, refused = entry
            while seen and now - seen[0] >= 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                first = not refused[0]
                refused[0] = True
                return Verdict(60 - (now - seen[0]), first)
            seen.append(now)
            refused[0] = False
            return Verdict(None)
