"""In-memory ``PolicyStateStore``: the published policy state within one process (tests
and throwaway runs)."""

from __future__ import annotations

import threading

from retailor.storage.hot import PolicyStateStore


class MemoryPolicyStateStore(PolicyStateStore):
    """The latest version and its bytes under a lock (see ``PolicyStateStore``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._state = b""

    def publish(self, state: bytes, *, after: int) -> int | None:
        with self._lock:
            if self._version != after:
                return None
            self._version += 1
            self._state = bytes(state)
            return self._version

    def version(self) -> int:
        return self._version

    def latest(self, newer_than: int = 0) -> tuple[int, bytes] | None:
        with self._lock:
            if self._version <= newer_than:
                return None
            return self._version, self._state
