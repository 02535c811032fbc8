"""Ingest rates from the durable stores: events accepted by the hour (or day) they were
received, rejections by hour and by reason, every period listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retailor.analytics.ingest_quality import ingest_quality
from retailor.domain.events import Event, EventType
from retailor.domain.quarantine import Rejection
from retailor.storage.memory.events import MemoryEventLog
from retailor.storage.memory.quarantine import MemoryQuarantineStore
from retailor.storage.schema import events_to_table

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def received(n: int, minutes: int) -> Event:
    at = T0 + timedelta(minutes=minutes)
    return Event(event_id=f"e{n}", type=EventType.PAGE_VIEWED, timestamp=at, received_at=at,
                 customer_id="c1")  # fmt: skip


def rejected(n: int, minutes: int, reason: str) -> Rejection:
    return Rejection(quarantine_id=f"q{n}", received_at=T0 + timedelta(minutes=minutes),
                     source="http:/v1/events", reason=reason, payload="{}")  # fmt: skip


@pytest.fixture
def stores() -> tuple[MemoryEventLog, MemoryQuarantineStore]:
    events, quarantine = MemoryEventLog(), MemoryQuarantineStore()
    events.append(events_to_table([received(n, m) for n, m in enumerate([1, 2, 61, 185, -5])]))
    quarantine.add([rejected(1, 3, "bad type"), rejected(2, 70, "no id"),
                    rejected(3, 71, "no id"), rejected(4, 500, "no id")])  # fmt: skip
    return events, quarantine


def test_rates_by_hour_and_reasons(stores: tuple[MemoryEventLog, MemoryQuarantineStore]) -> None:
    quality = ingest_quality(*stores, T0, T0 + timedelta(hours=4), "hour")
    assert [(r["accepted"], r["rejected"]) for r in quality.rows] == [
        (2, 1),
        (1, 2),
        (0, 0),
        (1, 0),
    ]
    assert [r["period"] for r in quality.rows] == [T0 + timedelta(hours=h) for h in range(4)]
    assert quality.totals == {"accepted": 4, "rejected": 3}
    assert [(r.reason, r.rejected) for r in quality.reasons] == [("no id", 2), ("bad type", 1)]


def test_rates_by_day(stores: tuple[MemoryEventLog, MemoryQuarantineStore]) -> None:
    quality = ingest_quality(*stores, T0 - timedelta(hours=1), T0 + timedelta(days=1), "day")
    assert [(r["period"], r["accepted"], r["rejected"]) for r in quality.rows] == [
        (T0.replace(hour=0), 5, 4), (T0.replace(hour=0) + timedelta(days=1), 0, 0)]  # fmt: skip
    with pytest.raises(ValueError):
        ingest_quality(*stores, T0, T0 + timedelta(hours=1), "week")
