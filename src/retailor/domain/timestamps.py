"""Points in time as the API reads them: RFC 3339 text (``2026-03-01T12:00:00Z``; without
an offset, UTC), documented as such (``format: date-time``) wherever a type takes one.
Events also take epoch seconds or milliseconds: :data:`EventTime`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta

Timestamp = Annotated[
    datetime,
    Meta(
        description="RFC 3339 date and time; without an offset, UTC",
        extra_json_schema={"format": "date-time"},
    ),
]
EpochNumber = Annotated[
    float,
    Meta(
        ge=0,
        description="seconds since 1970-01-01 UTC (milliseconds above 100,000,000,000)",
    ),
]
EpochInteger = Annotated[
    int,
    Meta(
        ge=0,
        description="seconds since 1970-01-01 UTC (milliseconds above 100,000,000,000)",
    ),
]
#: When an event happened: RFC 3339 text or an epoch number; the server's clock when absent.
EventTime = Timestamp | EpochInteger | EpochNumber | None


def as_utc(at: datetime | None) -> datetime | None:
    """``at`` as an aware UTC datetime; a naive one is taken to be UTC already. A time
    whose offset moves it out of the years 1 to 9999 is a ``ValueError`` (which a struct's
    ``__post_init__`` turns into a validation error saying where)."""
    if at is None:
        return None
    try:
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{at.isoformat()} is out of range in UTC") from None
