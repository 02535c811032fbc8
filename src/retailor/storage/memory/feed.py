"""In-memory ``EventFeed``: for one process, where every append is its own."""

from __future__ import annotations

import threading
import time

from retailor.storage.hot import EventFeed


class MemoryEventFeed(EventFeed):
    """The head and the payloads of the last ``hold_seconds`` in dictionaries."""

    def __init__(self, hold_seconds: float = 60.0) -> None:
        self._hold = hold_seconds
        self._head = 0
        self._held: dict[int, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def announce(self, position: int, payload: bytes | None) -> None:
        now = time.monotonic()
        with self._lock:
            if payload is not None:
                self._held[position] = (now + self._hold, payload)
            self._head = max(self._head, position)
            stale = [p for p, (until, _) in self._held.items() if until < now]
            for p in stale:
                del self._held[p]

    def head(self) -> int:
        with self._lock:
            return self._head

    def payloads(self, after: int, upto: int) -> dict[int, bytes]:
        now = time.monotonic()
        with self._lock:
            return {
                p: payload
                for p, (until, payload) in self._held.items()
                if after < p <= upto and until >= now
            }

    def clear(self) -> int:
        with self._lock:
            removed = len(self._held)
            self._held.clear()
        return removed
