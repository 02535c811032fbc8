"""Activity by its own time: visitors (canonical people), orders, revenue and the shares
attributed to decisions, per hour or day with zeros, and the live event rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retailor.analytics.activity import build_activity, build_arrivals, latest_events
from retailor.analytics.reports import ReportError, ReportRequest
from retailor.domain.events import Event, EventType
from retailor.storage.factory import open_storage
from retailor.storage.facts import OrderFact
from retailor.storage.schema import events_to_table

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _event(event_id: str, at: datetime, customer: str | None = None,
           anonymous: str | None = None, received: datetime | None = None) -> Event:  # fmt: skip
    return Event(event_id=event_id, type=EventType.PAGE_VIEWED, timestamp=at,
                 received_at=received or at, customer_id=customer, anonymous_id=anonymous)  # fmt: skip


def test_activity_counts_people_orders_and_shares_per_period(tmp_path: Path) -> None:
    storage = open_storage("memory://", tmp_path)
    hour = timedelta(hours=1)
    storage.events.append(events_to_table([
        _event("e1", T0 + timedelta(minutes=5), customer="c1"),
        _event("e2", T0 + timedelta(minutes=6), anonymous="v1"),  # c1 before logging in
        _event("e3", T0 + timedelta(minutes=7), anonymous="v2"),
        _event("e4", T0 + 2 * hour, customer="c2"),
    ]))  # fmt: skip
    assert storage.facts is not None
    storage.facts.put_orders([
        OrderFact(order_id="o1", at=T0 + timedelta(minutes=30), revenue=100.0, engaged=True,
                  attributed_revenue=40.0),
        OrderFact(order_id="o2", at=T0 + 2 * hour, revenue=50.0),
        OrderFact(order_id="o3", at=T0 + 3 * hour, revenue=70.0),  # past the end
    ], [])  # fmt: skip
    same = {"c1": "c1", "v1": "c1", "v2": "v2", "c2": "c2"}

    def person(customer: str | None, anonymous: str | None) -> str | None:
        return same[customer or anonymous or ""]

    report = build_activity(storage.events, storage.facts, person,
                            ReportRequest(T0, T0 + 3 * hour, "hour"))  # fmt: skip
    assert [row["period"] for row in report.rows] == [T0, T0 + hour, T0 + 2 * hour]
    first, empty, third = report.rows
    assert first["visitors"] == 2  # c1 (and v1, the same person) and v2
    assert (first["orders"], first["revenue"], first["attributed_revenue"]) == (1, 100.0, 40.0)
    assert (first["engaged_revenue"], first["attributed_share"], first["engaged_share"]) == (
        100.0, 0.4, 1.0)  # fmt: skip
    assert empty == {"period": T0 + hour, "visitors": 0, "orders": 0, "revenue": 0.0,
                     "attributed_revenue": 0.0, "engaged_revenue": 0.0,
                     "attributed_share": None, "engaged_share": None}  # fmt: skip
    assert (third["visitors"], third["orders"], third["attributed_share"]) == (1, 1, 0.0)
    assert report.totals["visitors"] == 3 and report.totals["orders"] == 2
    assert report.totals["revenue"] == 150.0 and report.totals["attributed_share"] == 0.266667
    one = build_activity(storage.events, storage.facts, person,
                         ReportRequest(T0, T0 + 3 * hour))  # fmt: skip
    assert [{k: v for k, v in r.items()} for r in one.rows] == [one.totals]
    with pytest.raises(ReportError):
        build_activity(storage.events, storage.facts, person,
                       ReportRequest(T0, T0 + hour, None, ("placement",)))  # fmt: skip


def test_arrivals_list_every_minute_and_latest_events_are_newest_first(tmp_path: Path) -> None:
    storage = open_storage("memory://", tmp_path)
    now = T0 + timedelta(minutes=10, seconds=30)
    storage.events.append(events_to_table([
        _event("a", T0 - timedelta(days=3), "c1", received=T0 + timedelta(minutes=8, seconds=1)),
        _event("b", T0, "c1", received=T0 + timedelta(minutes=10, seconds=2)),
    ]))  # fmt: skip
    storage.events.append(events_to_table([_event("c", T0, "c2", received=now)]))
    arrivals = build_arrivals(storage.events, now, minutes=3)
    assert arrivals.minutes == [(T0 + timedelta(minutes=8), 1), (T0 + timedelta(minutes=9), 0),
                                (T0 + timedelta(minutes=10), 2)]  # fmt: skip
    assert arrivals.to_json()["per_minute"] == 1.0
    with pytest.raises(ReportError):
        build_arrivals(storage.events, now, minutes=0)
    assert [e.event_id for e in latest_events(storage.events, limit=2)] == ["c", "b"]
