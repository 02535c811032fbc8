"""Building quarantine records for rejected input."""

from __future__ import annotations

import itertools
import os
import time
from datetime import datetime
from typing import Any

import msgspec

from retailor.domain.quarantine import Rejection

MAX_PAYLOAD_CHARS = 1_000_000
_counter = itertools.count()
_process = os.urandom(3).hex()


def quarantine_id() -> str:
    """A unique id that sorts by creation time within a process."""
    return f"q{time.time_ns():016x}{_process}{next(_counter) % 0xFFFF:04x}"


def payload_text(payload: bytes | str | Any) -> str:
    """The payload as text: bytes decoded (invalid UTF-8 escaped), objects as JSON."""
    if isinstance(payload, bytes | bytearray | memoryview):
        text = bytes(payload).decode("utf-8", errors="backslashreplace")
    elif isinstance(payload, str):
        text = payload
    else:
        try:
            text = msgspec.json.encode(payload).decode()
        except (TypeError, msgspec.EncodeError):
            text = repr(payload)
    if len(text) > MAX_PAYLOAD_CHARS:
        text = text[:MAX_PAYLOAD_CHARS] + f"... [truncated, {len(text)} characters in all]"
    return text


def rejection(
    *,
    source: str,
    reason: str,
    payload: bytes | str | Any,
    received_at: datetime,
    event_id: str | None = None,
    index: int | None = None,
) -> Rejection:
    """A quarantine record for one rejected event or request."""
    return Rejection(
        quarantine_id=quarantine_id(),
        received_at=received_at,
        source=source,
        reason=reason,
        payload=payload_text(payload),
        event_id=event_id,
        index=index,
    )
