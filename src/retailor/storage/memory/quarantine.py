"""In-memory ``QuarantineStore``."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from retailor.domain.quarantine import Rejection
from retailor.storage.base import QuarantineStore


class MemoryQuarantineStore(QuarantineStore):
    """Rejections in a list, oldest first."""

    def __init__(self) -> None:
        self._rows: list[Rejection] = []
        self._lock = threading.Lock()

    def add(self, rejections: Sequence[Rejection]) -> None:
        with self._lock:
            self._rows.extend(rejections)

    def list(
        self, *, limit: int = 100, offset: int = 0, source: str | None = None
    ) -> list[Rejection]:
        with self._lock:
            rows = [r for r in reversed(self._rows) if source is None or r.source == source]
        return rows[offset : offset + limit]

    def count(self, *, source: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self._rows if source is None or r.source == source)
