"""In-memory ``QuarantineStore``."""

from __future__ import annotations

import builtins
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from retailor.domain.privacy import Subject
from retailor.domain.quarantine import Rejection
from retailor.storage.base import QuarantineStore


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class MemoryQuarantineStore(QuarantineStore):
    """Rejections in a list, oldest first."""

    def __init__(self) -> None:
        self._rows: list[Rejection] = []
        self._lock = threading.Lock()

    def add(self, rejections: Sequence[Rejection]) -> None:
        with self._lock:
            self._rows.extend(rejections)

    def _matching(self, source: str | None, reason: str | None) -> list[Rejection]:
        with self._lock:
            rows = [
                r
                for r in self._rows
                if (source is None or r.source == source) and (reason is None or r.reason == reason)
            ]
        rows.sort(key=lambda r: (_utc(r.received_at), r.quarantine_id), reverse=True)
        return rows

    def list(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        source: str | None = None,
        reason: str | None = None,
    ) -> list[Rejection]:
        return self._matching(source, reason)[offset : offset + limit]

    def count(self, *, source: str | None = None, reason: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._rows
                if (source is None or r.source == source) and (reason is None or r.reason == reason)
            )

    def tally(self, start: datetime, end: datetime) -> builtins.list[tuple[datetime, str, int]]:
        with self._lock:
            counted = Counter(
                (_utc(r.received_at).replace(minute=0, second=0, microsecond=0), r.reason)
                for r in self._rows
                if start <= _utc(r.received_at) < end
            )
        return [(hour, reason, n) for (hour, reason), n in sorted(counted.items())]

    def naming(self, subject: Subject) -> builtins.list[Rejection]:
        with self._lock:
            found = [r for r in self._rows if _names(subject, r)]
        return sorted(found, key=lambda r: (r.received_at, r.quarantine_id), reverse=True)

    def erase(self, subject: Subject) -> int:
        with self._lock:
            kept = [r for r in self._rows if not _names(subject, r)]
            removed = len(self._rows) - len(kept)
            self._rows = kept
        return removed


def _names(subject: Subject, rejection: Rejection) -> bool:
    return subject.mentioned_in(rejection.payload) or subject.names(rejection.event_id)
