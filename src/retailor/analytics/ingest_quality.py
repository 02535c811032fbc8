"""How well input arrives: events accepted and input rejected per hour or day of a
range, and the rejections by reason — from the durable stores (the event log, counted
by the time the server received each event, and the quarantine), so every worker and a
restart agree. What ``GET /v1/quarantine/summary`` answers and the dashboard's quality
page shows (:func:`ingest_quality`).

Duplicates (events whose ``event_id`` was stored before) are not stored anywhere: they
are counted per server process only (the Prometheus counter
``retailor_events_total{outcome="duplicate"}``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import msgspec

from retailor.storage.base import EventLog, QuarantineStore

#: The step of each interval.
STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


class ReasonCount(msgspec.Struct):
    reason: str
    rejected: int


class IngestQuality(msgspec.Struct, kw_only=True):
    """Events accepted and rejected in ``[from, to)`` by ``interval`` (every period
    listed, zeros included), the totals, and the rejections by reason (most first)."""

    from_: datetime = msgspec.field(name="from")
    to: datetime
    interval: str
    rows: list[dict[str, Any]]
    totals: dict[str, int]
    reasons: list[ReasonCount]


def period_of(at: datetime, interval: str) -> datetime:
    """The start of the UTC hour or day ``at`` falls in."""
    hour = at.replace(minute=0, second=0, microsecond=0)
    return hour if interval == "hour" else hour.replace(hour=0)


def ingest_quality(
    events: EventLog, quarantine: QuarantineStore, start: datetime, end: datetime, interval: str
) -> IngestQuality:
    """The figures of ``[start, end)`` by ``interval`` (``hour`` or ``day``)."""
    if interval not in STEPS:
        raise ValueError(f"interval must be hour or day, not {interval!r}")
    accepted: Counter[datetime] = Counter()
    for minute, count in events.arrivals(start, end):
        accepted[period_of(minute, interval)] += count
    rejected: Counter[datetime] = Counter()
    reasons: Counter[str] = Counter()
    for hour, reason, count in quarantine.tally(start, end):
        rejected[period_of(hour, interval)] += count
        reasons[reason] += count
    rows = []
    period = period_of(start, interval)
    while period < end:
        rows.append({"period": period, "accepted": accepted[period], "rejected": rejected[period]})
        period += STEPS[interval]
    return IngestQuality(
        from_=start,
        to=end,
        interval=interval,
        rows=rows,
        totals={"accepted": sum(accepted.values()), "rejected": sum(reasons.values())},
        reasons=[
            ReasonCount(reason, n)
            for reason, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
    )
