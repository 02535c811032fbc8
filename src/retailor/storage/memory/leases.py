"""In-memory ``LeaseStore``: leases of the processes that share nothing but this one (the
embedded store, where the one server process holds every lease), timed by the monotonic
clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from retailor.storage.base import LeaseStore


class MemoryLeaseStore(LeaseStore):
    """Leases in a dict: name -> (holder, expiry on ``clock``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._leases: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _current(self, name: str) -> str | None:
        found = self._leases.get(name)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def acquire(self, name: str, holder: str, ttl: float) -> bool:
        with self._lock:
            current = self._current(name)
            if current is not None and current != holder:
                return False
            self._leases[name] = (holder, self._clock() + ttl)
            return True

    def renew(self, name: str, holder: str, ttl: float) -> bool:
        with self._lock:
            if self._current(name) != holder:
                return False
            self._leases[name] = (holder, self._clock() + ttl)
            return True

    def release(self, name: str, holder: str) -> bool:
        with self._lock:
            if self._current(name) != holder:
                return False
            del self._leases[name]
            return True

    def holder(self, name: str) -> str | None:
        with self._lock:
            return self._current(name)
