"""Rejected input, kept with the reason it was rejected and the payload as it came."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from retailor.domain.timestamps import Timestamp, as_utc

#: Where the rejected item stood in its request or file (a 64-bit integer, as stored).
Position = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class Rejection(Struct, kw_only=True):
    """One rejected event (or one unreadable request) in the quarantine."""

    quarantine_id: str
    received_at: Timestamp
    source: str
    reason: str
    payload: str
    event_id: str | None = None
    index: Position | None = None

    def __post_init__(self) -> None:
        # a time the stores keep in UTC must stay a time in UTC (years 1 to 9999)
        as_utc(self.received_at)
