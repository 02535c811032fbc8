"""In-memory ``SnapshotStore`` (a process that rebuilds from its log at start needs none
kept elsewhere)."""

from __future__ import annotations

import threading

from retailor.storage.base import SnapshotStore


class MemorySnapshotStore(SnapshotStore):
    """Snapshots in a dictionary of lists, newest last."""

    def __init__(self) -> None:
        self._kept: dict[str, list[tuple[int, bytes]]] = {}
        self._lock = threading.Lock()

    def save(self, kind: str, position: int, data: bytes, *, keep: int = 2) -> None:
        with self._lock:
            kept = sorted([*self._kept.get(kind, []), (position, bytes(data))])
            self._kept[kind] = kept[-keep:]

    def latest(self, kind: str) -> tuple[int, bytes] | None:
        with self._lock:
            kept = self._kept.get(kind)
            return kept[-1] if kept else None

    def clear(self) -> int:
        with self._lock:
            removed = sum(len(kept) for kept in self._kept.values())
            self._kept.clear()
        return removed
