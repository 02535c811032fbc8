"""Segment sizes over time: :class:`SegmentSizeSampler` looks at every segment's size
(``SegmentService.members``, as ``GET /v1/segments/{id}`` counts it) and keeps a sample
in the segment size store when the segment has none yet, when its size changed since
the last sample, or when the last sample is from an earlier UTC day — so every segment
has at least one sample a day and every change is seen, at the sampler's pace. The
background role runs it (the ``segment sizes`` leased job, every
``segment_size_seconds``); the API and the dashboard read the samples back with
:func:`size_history`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from retailor.profiles.segmentation import SegmentBuildingError, SegmentService
from retailor.storage.segment_sizes import SegmentSize, SegmentSizeStore

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class SegmentSizeSampler:
    """Keeps a size sample per segment a day and on every change (see the module)."""

    def __init__(
        self,
        segments: SegmentService,
        store: SegmentSizeStore,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.segments = segments
        self.store = store
        self.clock = clock

    def run_once(self) -> list[SegmentSize]:
        """Look at every ready segment now; return the samples kept (a segment still
        building its event counts is left for a later run)."""
        now = self.clock()
        kept = []
        for segment_id in self.segments.ids():
            if not self.segments.ready(segment_id):
                continue
            try:
                membership = self.segments.members(segment_id, 0)
            except SegmentBuildingError:
                continue
            if membership is None:  # removed meanwhile
                continue
            size = len(membership.members)
            last = self.store.latest(segment_id)
            if last is None or last.size != size or last.at.date() < now.date():
                sample = SegmentSize(segment_id=segment_id, at=now, size=size)
                self.store.record(sample)
                kept.append(sample)
        if kept:
            log.debug("kept %d segment size samples", len(kept))
        return kept


def size_history(
    store: SegmentSizeStore,
    segment_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[SegmentSize]:
    """A segment's size samples with ``start <= at < end``, oldest first: what
    ``GET /v1/segments/{id}/sizes`` answers and the dashboard draws."""
    return store.history(segment_id, start, end)
