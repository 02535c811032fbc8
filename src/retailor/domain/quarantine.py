"""Rejected input, kept with the reason it was rejected and the payload as it came."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class Rejection(Struct, kw_only=True):
    """One rejected event (or one unreadable request) in the quarantine."""

    quarantine_id: str
    received_at: datetime
    source: str
    reason: str
    payload: str
    event_id: str | None = None
    index: int | None = None
