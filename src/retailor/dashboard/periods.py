"""The period a page shows, from its period picker (a GET form): the last 24 hours, 7 days
or 30 days, or custom dates; and the interval of its time series (hours up to a week,
days beyond).

>>> from datetime import UTC, datetime
>>> now = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
>>> p = read_period({"period": "custom", "from": "2026-03-01", "to": "2026-03-03"}, now)
>>> p.start.isoformat(), p.end.isoformat(), p.interval
('2026-03-01T00:00:00+00:00', '2026-03-04T00:00:00+00:00', 'hour')
>>> read_period({"period": "30d"}, now).interval
'day'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from retailor.analytics.reports import MAX_DAYS, ReportError, ReportRequest, parse_when

#: The choices of the picker: its value, label and length.
CHOICES = (
    ("24h", "Last 24 hours", timedelta(hours=24)),
    ("7d", "Last 7 days", timedelta(days=7)),
    ("30d", "Last 30 days", timedelta(days=30)),
)
DEFAULT = "7d"
#: Up to this length a series has a point per hour, beyond it one per day.
HOURLY_UP_TO = timedelta(days=7)


@dataclass(frozen=True)
class Period:
    """What a page shows: ``[start, end)`` by ``interval``; ``choice`` is the picker's
    value (``custom`` with ``from_text``/``to_text``), ``error`` what was wrong with a
    custom range asked for (the default period is shown instead)."""

    choice: str
    start: datetime
    end: datetime
    interval: str
    from_text: str = ""
    to_text: str = ""
    error: str | None = None

    def request(self, by: tuple[str, ...] = (), interval: str | None = "period") -> ReportRequest:
        """The report request of this period (by its own interval unless told otherwise;
        None: one row)."""
        return ReportRequest(
            self.start, self.end, self.interval if interval == "period" else interval, by
        )

    @property
    def query(self) -> dict[str, str]:
        """The picker's parameters, for links that keep the period."""
        if self.choice == "custom":
            return {"period": "custom", "from": self.from_text, "to": self.to_text}
        return {"period": self.choice}


def _interval(start: datetime, end: datetime) -> str:
    return "hour" if end - start <= HOURLY_UP_TO else "day"


def read_period(params: Mapping[str, str], now: datetime | None = None) -> Period:
    """The period of a request's query parameters ``period``, ``from`` and ``to`` (dates;
    ``to`` inclusive). Anything unknown or wrong falls back to the last 7 days, with the
    reason in ``error`` when a custom range was asked for."""
    now = now or datetime.now(UTC)
    choice = params.get("period", DEFAULT)
    if choice == "custom":
        from_text, to_text = params.get("from", "").strip(), params.get("to", "").strip()
        try:
            if not from_text or not to_text:
                raise ReportError("give both dates of a custom period")
            start = parse_when(from_text, "from", end=False)
            end = parse_when(to_text, "to", end=True)
            if start >= end:
                raise ReportError("the first date must not be after the last")
            if end - start > timedelta(days=MAX_DAYS):
                raise ReportError(f"a period spans at most {MAX_DAYS} days")
        except ReportError as exc:
            fallback = read_period({"period": DEFAULT}, now)
            return Period(
                "custom", fallback.start, fallback.end, fallback.interval,
                from_text[:40], to_text[:40], str(exc),
            )  # fmt: skip
        return Period("custom", start, end, _interval(start, end), from_text, to_text)
    lengths = {value: length for value, _, length in CHOICES}
    if choice not in lengths:
        choice = DEFAULT
    start = now - lengths[choice]
    return Period(choice, start, now, _interval(start, now))
