"""The shop's activity by the time it happened, beside the decision reports: visitors,
orders and revenue per hour or day (with the revenue attributed to decisions and the
revenue of engaged orders, and their shares), and the live rate of events received.

Reports (``analytics.reports``) count on the decisions made in a range; activity counts
on the events and orders of a range, by their own time:

- ``visitors``: distinct people with an event whose ``timestamp`` is in the period, each
  identifier mapped to its identity cluster's canonical id (a visitor who logs in counts
  once); the totals count each person once over the whole range;
- ``orders``: orders placed in the period (refunded ones included); ``revenue`` their
  revenue net of refunds; ``attributed_revenue`` the part of it attributed to decisions;
  ``engaged_revenue`` the revenue of the engaged orders (``docs/measurement.md``);
  ``attributed_share`` and ``engaged_share`` those over ``revenue`` (None without revenue);
- arrivals: events received (the server's clock, ``received_at``) per minute.

>>> from datetime import UTC, datetime
>>> [p.isoformat() for p in periods(datetime(2026, 3, 1, 10, 30, tzinfo=UTC),
...                                 datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "hour")]
['2026-03-01T10:00:00+00:00', '2026-03-01T11:00:00+00:00']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from retailor.analytics.reports import ReportError, ReportRequest
from retailor.domain.events import Event
from retailor.storage.base import EventLog
from retailor.storage.facts import FactStore
from retailor.storage.schema import table_to_events

#: The figures of an activity row, in order.
ACTIVITY_METRICS = (
    "visitors",
    "orders",
    "revenue",
    "attributed_revenue",
    "engaged_revenue",
    "attributed_share",
    "engaged_share",
)
#: The longest window of the live event rate, in minutes (a day).
MAX_ARRIVAL_MINUTES = 1440

#: Who an event is for: the canonical id of its customer id or visitor id (None: nobody).
Person = Callable[[str | None, str | None], str | None]


@dataclass(frozen=True)
class ActivityReport:
    """Activity rows (``period`` then :data:`ACTIVITY_METRICS`; one per hour or day of the
    range, zeros included, or one row without an interval) and the range's totals."""

    request: ReportRequest
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    as_of: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.request.start,
            "to": self.request.end,
            "interval": self.request.interval or "none",
            "as_of": self.as_of,
            "columns": (["period"] if self.request.interval else []) + list(ACTIVITY_METRICS),
            "rows": self.rows,
            "totals": self.totals,
        }


@dataclass(frozen=True)
class Arrivals:
    """Events received per minute over ``[start, end)``, every minute listed (zeros too)."""

    start: datetime
    end: datetime
    minutes: list[tuple[datetime, int]]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.minutes)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start,
            "to": self.end,
            "rows": [{"minute": m, "events": n} for m, n in self.minutes],
            "total": self.total,
            "per_minute": round(self.total / len(self.minutes), 6) if self.minutes else 0.0,
        }


def periods(start: datetime, end: datetime, interval: str) -> Iterator[datetime]:
    """The starts of the UTC hours or days that ``[start, end)`` touches, in order."""
    step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
    at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if interval == "day":
        at = at.replace(hour=0)
    while at < end:
        yield at
        at += step


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole else None


class _Sums:
    """The running sums of one period."""

    def __init__(self) -> None:
        self.people: set[str] = set()
        self.orders = 0
        self.revenue = self.attributed = self.engaged = 0.0

    def figures(self) -> dict[str, Any]:
        revenue = round(self.revenue, 6)
        attributed, engaged = round(self.attributed, 6), round(self.engaged, 6)
        return {
            "visitors": len(self.people),
            "orders": self.orders,
            "revenue": revenue,
            "attributed_revenue": attributed,
            "engaged_revenue": engaged,
            "attributed_share": _share(attributed, revenue),
            "engaged_share": _share(engaged, revenue),
        }


def build_activity(
    events: EventLog,
    facts: FactStore,
    person: Person,
    request: ReportRequest,
    as_of: datetime | None = None,
) -> ActivityReport:
    """The activity of ``request``'s range (it groups by no dimension)."""
    if request.by:
        raise ReportError("an activity report groups by time only: leave out 'by'")
    interval = request.interval
    keys = list(periods(request.start, request.end, interval)) if interval else [None]
    sums: dict[datetime | None, _Sums] = {key: _Sums() for key in keys}
    everyone: set[str] = set()
    for period, customer_id, anonymous_id in events.visitors(request.start, request.end, interval):
        who = person(customer_id, anonymous_id)
        if who is not None:
            sums[period].people.add(who)
            everyone.add(who)
    total = _Sums()
    for period, orders, revenue, attributed, engaged in facts.order_sums(
        request.start, request.end, interval
    ):
        for bucket in (sums[period], total):
            bucket.orders += orders
            bucket.revenue += revenue
            bucket.attributed += attributed
            bucket.engaged += engaged
    total.people = everyone
    rows = [({"period": key} if interval else {}) | sums[key].figures() for key in keys]
    return ActivityReport(request, rows, total.figures(), as_of)


def build_arrivals(events: EventLog, now: datetime, minutes: int = 60) -> Arrivals:
    """Events received in each of the last ``minutes`` minutes up to ``now`` (the current
    minute included, so far)."""
    if not 1 <= minutes <= MAX_ARRIVAL_MINUTES:
        raise ReportError(f"minutes must be between 1 and {MAX_ARRIVAL_MINUTES}, not {minutes}")
    last = now.astimezone(UTC).replace(second=0, microsecond=0)
    start = last - timedelta(minutes=minutes - 1)
    end = last + timedelta(minutes=1)
    counted = dict(events.arrivals(start, end))
    every = [start + timedelta(minutes=i) for i in range(minutes)]
    return Arrivals(start, end, [(m, counted.get(m, 0)) for m in every])


def latest_events(events: EventLog, limit: int = 10, appends: int = 5) -> list[Event]:
    """The newest events received, newest first: the last ``limit`` of the last
    ``appends`` appends to the log (a look at the live stream, not a query by time)."""
    position = events.position()
    if position <= 0 or limit <= 0:
        return []
    rows: list[Event] = []
    for batch in events.read_after(max(position - appends, 0), position):
        tail = batch.slice(max(0, batch.num_rows - limit))
        rows = (rows + table_to_events(tail))[-limit:]
    return rows[::-1]


class Activity:
    """Activity and arrivals of one process, over its event log and fact store, with who
    is who from its profiles; ``refresh`` brings the order facts up to date first where
    this process can (the reports' own refresh) and says when they were."""

    def __init__(
        self,
        events: EventLog,
        facts: FactStore,
        person: Person,
        refresh: Callable[[], datetime | None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._events, self._facts, self._person = events, facts, person
        self._refresh, self._clock = refresh, clock

    def report(self, request: ReportRequest) -> ActivityReport:
        """Visitors, orders and revenue of the range (see the module docstring)."""
        as_of = self._refresh() if self._refresh is not None else None
        return build_activity(self._events, self._facts, self._person, request, as_of)

    def arrivals(self, minutes: int = 60) -> Arrivals:
        """Events received per minute over the last ``minutes`` minutes."""
        return build_arrivals(self._events, self._clock(), minutes)

    def latest(self, limit: int = 10) -> list[Event]:
        """The newest events received, newest first (see :func:`latest_events`)."""
        return latest_events(self._events, limit)
