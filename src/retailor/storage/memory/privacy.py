"""In-memory ``PrivacyStore``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

import msgspec

from retailor.storage.privacy import ErasureRecord, PrivacyStore


class MemoryPrivacyStore(PrivacyStore):
    """Requests in a dictionary, the suppression list in a set."""

    def __init__(self) -> None:
        self._erasures: dict[str, ErasureRecord] = {}
        self._suppressed: dict[str, datetime] = {}
        self._revision = 0
        self._lock = threading.Lock()

    def add_erasure(self, record: ErasureRecord) -> None:
        with self._lock:
            self._erasures[record.erasure_id] = msgspec.structs.replace(record)

    def get_erasure(self, erasure_id: str) -> ErasureRecord | None:
        with self._lock:
            held = self._erasures.get(erasure_id)
            return None if held is None else msgspec.structs.replace(held)

    def save_erasure(self, record: ErasureRecord) -> None:
        self.add_erasure(record)

    def pending_erasures(self) -> list[ErasureRecord]:
        with self._lock:
            waiting = [
                msgspec.structs.replace(r)
                for r in self._erasures.values()
                if r.status in ("pending", "failed")
            ]
        return sorted(waiting, key=lambda r: (r.requested_at, r.erasure_id))

    def suppress(self, hashes: Sequence[str], at: datetime) -> int:
        with self._lock:
            new = [h for h in dict.fromkeys(hashes) if h not in self._suppressed]
            for h in new:
                self._suppressed[h] = at
            if new:
                self._revision += 1
        return len(new)

    def lift(self, hash_: str) -> bool:
        with self._lock:
            if self._suppressed.pop(hash_, None) is None:
                return False
            self._revision += 1
            return True

    def suppressed(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._suppressed)

    def revision(self) -> int:
        with self._lock:
            return self._revision
