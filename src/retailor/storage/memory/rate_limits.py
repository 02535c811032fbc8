"""In-process ``RateLimiter``: the limits of one process's requests (the embedded server,
or a worker whose hot state is its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from retailor.storage.hot import RateLimiter

#: Names kept before the full buckets are dropped.
_SWEEP_AT = 10_000


class MemoryRateLimiter(RateLimiter):
    """The theoretical arrival time of each name's next request (GCRA), under one lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._due: dict[str, float] = {}

    def take(self, name: str, per_second: float, burst: int) -> float:
        interval = 1.0 / per_second
        with self._lock:
            now = self._clock()
            due = max(self._due.get(name, now), now) + interval
            wait = due - now - burst * interval
            if wait > 1e-9:  # beyond the sums' rounding
                return wait
            if len(self._due) >= _SWEEP_AT:
                self._due = {k: v for k, v in self._due.items() if v > now}
            self._due[name] = due
            return 0.0
