"""In-memory ``SegmentSizeStore``: samples in dicts behind a lock (tests, throwaway runs,
the ``memory://`` backend)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import msgspec

from retailor.storage.segment_sizes import SegmentSize, SegmentSizeStore


class MemorySegmentSizeStore(SegmentSizeStore):
    """Samples by segment, then by time."""

    def __init__(self) -> None:
        self._held: dict[str, dict[datetime, SegmentSize]] = {}
        self._lock = threading.Lock()

    def record(self, sample: SegmentSize) -> None:
        sample = _utc(sample)
        with self._lock:
            self._held.setdefault(sample.segment_id, {})[sample.at] = sample

    def history(
        self, segment_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[SegmentSize]:
        with self._lock:
            samples = list(self._held.get(segment_id, {}).values())
        return sorted(
            (s for s in samples
             if (start is None or s.at >= start) and (end is None or s.at < end)),
            key=lambda s: s.at,
        )  # fmt: skip

    def latest(self, segment_id: str) -> SegmentSize | None:
        with self._lock:
            samples = self._held.get(segment_id, {})
            return samples[max(samples)] if samples else None

    def delete(self, segment_id: str) -> int:
        with self._lock:
            return len(self._held.pop(segment_id, {}))


def _utc(sample: SegmentSize) -> SegmentSize:
    """``sample`` with its time as an aware UTC datetime (a naive one is taken as UTC)."""
    at = sample.at
    if at.tzinfo is UTC:
        return sample
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return msgspec.structs.replace(sample, at=at)
