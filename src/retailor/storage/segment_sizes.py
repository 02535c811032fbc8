"""The segment size store's port: how many customers each segment held at moments in
time (a sample a day, and one whenever the size changed), kept so that a segment's size
can be drawn over time. The background role writes the samples
(``profiles.segment_sizes``); the API (``GET /v1/segments/{id}/sizes``) and the
dashboard read them.

Its contract is in :class:`SegmentSizeStore`'s docstrings;
``tests/contract/test_segment_sizes.py`` runs one suite against every adapter (memory,
DuckDB, PostgreSQL)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

import msgspec


class SegmentSize(msgspec.Struct, frozen=True, kw_only=True):
    """A segment's size at one moment: ``size`` customers at ``at`` (aware UTC)."""

    segment_id: str
    at: datetime
    size: int


class SegmentSizeStore(ABC):
    """Size samples, one per ``(segment_id, at)``.

    Contract:
    - ``record(sample)`` keeps a sample; a second sample of the same segment at the same
      ``at`` replaces the first. Durable when it returns; another process's samples are
      read at once.
    - ``history(segment_id, start=None, end=None)`` returns the segment's samples with
      ``start <= at < end`` (either bound left out: unbounded), oldest first.
    - ``latest(segment_id)`` returns the newest sample of the segment, or None.
    - ``delete(segment_id)`` removes every sample of the segment and returns how many.
    - Times come back as aware UTC datetimes, to the microsecond.
    """

    @abstractmethod
    def record(self, sample: SegmentSize) -> None:
        """Keep a sample (see the contract)."""

    @abstractmethod
    def history(
        self, segment_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[SegmentSize]:
        """The samples of a segment in ``[start, end)``, oldest first."""

    @abstractmethod
    def latest(self, segment_id: str) -> SegmentSize | None:
        """The newest sample of a segment, or None."""

    @abstractmethod
    def delete(self, segment_id: str) -> int:
        """Remove the samples of a segment; how many."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""
