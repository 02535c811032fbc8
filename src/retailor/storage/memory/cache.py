"""In-memory ``HotCache`` (one process), bounded: the oldest entries go first."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

from retailor.storage.hot import HotCache


class MemoryHotCache(HotCache):
    """Values with their expiry in an ordered dictionary of at most ``size`` entries."""

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._held: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, kind: str, key: str, value: bytes, ttl_seconds: float) -> None:
        with self._lock:
            self._held[(kind, key)] = (time.monotonic() + ttl_seconds, bytes(value))
            self._held.move_to_end((kind, key))
            while len(self._held) > self._size:
                self._held.popitem(last=False)

    def put_many(self, kind: str, items: Sequence[tuple[str, bytes]], ttl_seconds: float) -> None:
        for key, value in items:
            self.put(kind, key, value, ttl_seconds)

    def get(self, kind: str, key: str) -> bytes | None:
        return self.get_many(kind, [key])[0]

    def get_many(self, kind: str, keys: Sequence[str]) -> list[bytes | None]:
        now = time.monotonic()
        with self._lock:
            found = [self._held.get((kind, key)) for key in keys]
        return [entry[1] if entry is not None and entry[0] >= now else None for entry in found]

    def clear(self) -> int:
        with self._lock:
            removed = len(self._held)
            self._held.clear()
        return removed
