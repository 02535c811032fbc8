"""Rejected input, kept with the reason it was rejected and the payload as it came."""

from __future__ import annotations

from msgspec import Struct

from retailor.domain.timestamps import Timestamp


class Rejection(Struct, kw_only=True):
    """One rejected event (or one unreadable request) in the quarantine."""

    quarantine_id: str
    received_at: Timestamp
    source: str
    reason: str
    payload: str
    event_id: str | None = None
    index: int | None = None
