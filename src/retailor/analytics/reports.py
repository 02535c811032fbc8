"""Reports over the fact tables: what a report asks (a time range, an interval, the
dimensions to group by), the query the ``FactStore`` runs for it, and the figures derived
from its sums (CTR, revenue per decision), as rows for JSON, CSV and tables.

Every figure is counted on the decisions made in the range, by the decision's time:
revenue counts where (and when) the decision that earned it was made.

>>> request = parse_request({"by": "placement,campaign", "interval": "day",
...                          "from": "2026-03-01", "to": "2026-03-31"})
>>> request.by, request.interval, request.end.isoformat()
(('placement', 'campaign'), 'day', '2026-04-01T00:00:00+00:00')
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from retailor.analytics.updater import FactUpdater, Progress, RunSummary
from retailor.storage.facts import AGGREGATE_COLUMNS, DIMENSIONS, Aggregate, FactStore

#: The range of a report that names none: the last 30 days.
DEFAULT_DAYS = 30
#: The longest range a report may span.
MAX_DAYS = 3660
INTERVALS = ("hour", "day", "none")
#: Every metric of a report row, in order.
METRICS = (
    "decisions",
    "impressions",
    "clicks",
    "ctr",
    "add_to_carts",
    "orders",
    "attributed_revenue",
    "engaged_revenue",
    "margin",
    "revenue_per_decision",
    "redemptions",
    "budget_spent",
)
#: What each metric means (the API document and ``retailor report --help`` show it).
METRIC_HELP = {
    "decisions": "decisions made",
    "impressions": "slots (items and offers) viewed",
    "clicks": "slots clicked",
    "ctr": "clicks / impressions (null without impressions)",
    "add_to_carts": "items of the decisions added to a cart",
    "orders": "orders with at least one unrefunded line attributed to the decisions",
    "attributed_revenue": "revenue of the order lines attributed to the decisions",
    "engaged_revenue": "whole unrefunded revenue of those orders",
    "margin": "attributed revenue less catalog cost and redeemed offers' cost",
    "revenue_per_decision": "attributed revenue / decisions",
    "redemptions": "offers redeemed",
    "budget_spent": "cost of the offers redeemed",
}


class ReportError(ValueError):
    """A report request that cannot be answered as asked; the message says why."""


@dataclass(frozen=True)
class ReportRequest:
    """Decisions with ``start <= at < end``, by ``interval`` (None: one period) and the
    dimensions ``by``."""

    start: datetime
    end: datetime
    interval: str | None = None
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """The rows of a report (``columns`` in order: ``period`` when by interval, the
    dimensions, then :data:`METRICS`) and its totals over the whole range."""

    request: ReportRequest
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    #: when the facts were last brought up to date (None: not by this process)
    as_of: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.request.start,
            "to": self.request.end,
            "interval": self.request.interval or "none",
            "by": list(self.request.by),
            "as_of": self.as_of,
            "columns": list(self.columns),
            "rows": self.rows,
            "totals": self.totals,
        }

    def to_csv(self) -> str:
        """The rows as CSV with a header line (times in ISO 8601, nulls empty)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_cell(row[c]) for c in self.columns])
        return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


#: The times a report or a results window may name: anything outside is a typo.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
#: A time whose UTC offset lost its ``+`` (an unencoded ``+`` in a query string is a space).
_SPACED_OFFSET = re.compile(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_when(text: str, name: str, *, end: bool) -> datetime:
    """A date (a ``to`` date means the end of that day) or an ISO 8601 time (UTC when
    naive), between 1900 and 9000. A UTC offset whose ``+`` arrived as a space (a query
    string that was not URL-encoded) is read as ``+``.

    >>> parse_when("2026-03-01T12:00:00 02:00", "from", end=False).isoformat()
    '2026-03-01T10:00:00+00:00'
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            at = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            spaced = _SPACED_OFFSET.match(text)
            fixed = f"{spaced[1]}+{spaced[2]}" if spaced else text
            parsed = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
            at = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset moves it past year 1 or 9999
        raise ReportError(
            f"{name} must be a date (2026-03-01) or an ISO 8601 time "
            f"(2026-03-01T12:00:00Z; in a URL, write + as %2B), not {text!r}"
        ) from None
    if not EARLIEST <= at < LATEST:
        raise ReportError(
            f"{name} must be between {EARLIEST.date()} and {LATEST.date()}, not {text!r}"
        )
    return at + timedelta(days=1) if end and len(text) == 10 else at


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def parse_request(params: Mapping[str, Any], now: datetime | None = None) -> ReportRequest:
    """A report request from query parameters ``from``, ``to``, ``interval`` and ``by``
    (comma-separated or repeated); :class:`ReportError` saying what is wrong."""
    now = now or datetime.now(UTC)
    unknown = sorted(set(params) - {"from", "to", "interval", "by", "format"})
    if unknown:
        raise ReportError(
            f"unknown parameter {unknown[0]!r}: use from, to, interval, by (and format)"
        )
    for name in ("from", "to", "interval", "by"):
        if name in params and not _values(params, name):
            raise ReportError(f"{name} is empty: give a value or leave it out")
    to_text, from_text = (_values(params, n) for n in ("to", "from"))
    end = parse_when(to_text[-1], "to", end=True) if to_text else now
    start = (
        parse_when(from_text[-1], "from", end=False)
        if from_text
        else end - timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise ReportError(f"from ({start.isoformat()}) must be before to ({end.isoformat()})")
    if end - start > timedelta(days=MAX_DAYS):
        raise ReportError(f"a report spans at most {MAX_DAYS} days")
    intervals = _values(params, "interval") or ["none"]
    if len(intervals) != 1 or intervals[0] not in INTERVALS:
        raise ReportError(f"interval must be one of {', '.join(INTERVALS)}, not {intervals!r}")
    interval = None if intervals[0] == "none" else intervals[0]
    if interval == "hour" and end - start > timedelta(days=93):
        raise ReportError("an hourly report spans at most 93 days: narrow from/to or use day")
    by = _values(params, "by")
    for name in by:
        if name not in DIMENSIONS:
            raise ReportError(f"unknown dimension {name!r} in by: one of {', '.join(DIMENSIONS)}")
    twice = sorted({name for name in by if by.count(name) > 1})
    if twice:
        raise ReportError(f"by names {', '.join(map(repr, twice))} more than once: name each once")
    return ReportRequest(start, end, interval, tuple(by))


def _figures(sums: Sequence[Any]) -> dict[str, Any]:
    """The metrics of one group from the store's sums (``AGGREGATE_COLUMNS``)."""
    got = dict(zip(AGGREGATE_COLUMNS, sums, strict=True))
    decisions, impressions = int(got["decisions"]), int(got["impressions"])
    attributed = round(float(got["attributed_revenue"]), 6)
    return {
        "decisions": decisions,
        "impressions": impressions,
        "clicks": int(got["clicks"]),
        "ctr": round(int(got["clicks"]) / impressions, 6) if impressions else None,
        "add_to_carts": int(got["add_to_carts"]),
        "orders": int(got["orders"]),
        "attributed_revenue": attributed,
        "engaged_revenue": round(float(got["engaged_revenue"]), 6),
        "margin": round(float(got["margin"]), 6),
        "revenue_per_decision": round(attributed / decisions, 6) if decisions else None,
        "redemptions": int(got["redemptions"]),
        "budget_spent": round(float(got["budget_spent"]), 6),
    }


def build_report(facts: FactStore, request: ReportRequest, as_of: datetime | None = None) -> Report:
    """Run a report over ``facts``."""
    keys = (("period",) if request.interval else ()) + request.by
    query = Aggregate(request.start, request.end, request.interval, request.by)
    rows = []
    for found in facts.aggregate(query):
        row: dict[str, Any] = dict(zip(keys, found[: len(keys)], strict=True))
        row.update(_figures(found[len(keys) :]))
        rows.append(row)
    if keys:
        total_row = facts.aggregate(Aggregate(request.start, request.end))
        totals = _figures(total_row[0])
    else:
        totals = {k: v for k, v in rows[0].items() if k in METRICS} if rows else {}
    return Report(request, keys + METRICS, rows, totals, as_of)


class Reports:
    """Reports of one process: over its fact store, after a catch-up of the updater when
    this process may run it (embedded) and the last run is older than ``fresh_seconds``."""

    def __init__(
        self,
        facts: FactStore,
        updater: FactUpdater | None = None,
        *,
        catch_up: bool = False,
        fresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        withheld: Callable[[Path], int] | None = None,
    ) -> None:
        self.facts, self.updater = facts, updater
        #: blanks, in a finished export, whose rows people withdrew analytics consent
        #: from (given by the composition root; None: nothing is withheld)
        self.withheld = withheld
        self._catch_up, self._fresh = catch_up and updater is not None, fresh_seconds
        self._clock = clock
        self._caught_up = float("-inf")
        self._lock = threading.Lock()

    def refresh(self) -> datetime | None:
        """Bring the facts up to date where this process can (embedded, when the last run
        is older than ``fresh_seconds``); when they were last brought up to date."""
        if self._catch_up and self.updater is not None:
            with self._lock:
                if self._clock() - self._caught_up > self._fresh:
                    self.updater.run_once()
                    self._caught_up = self._clock()
        if self.updater is not None and self.updater.last_run is not None:
            return self.updater.last_run
        # another process folds (the background worker): how far its last run reached
        cursor = self.facts.cursors().decision
        return cursor[0] if cursor is not None else None

    def report(self, request: ReportRequest) -> Report:
        """The report, from facts brought up to date first where this process can."""
        return build_report(self.facts, request, self.refresh())

    def recompute(self, request: ReportRequest, progress: Progress | None = None) -> RunSummary:
        """Rebuild the facts of the request's range from the logs (``ReportError`` when
        this process keeps no updater)."""
        if self.updater is None:
            raise ReportError("this process cannot rebuild the report facts")
        return self.updater.recompute(request.start, request.end, progress)

    def export(self, directory: Path, request: ReportRequest) -> dict[str, int]:
        """Write the fact tables of the request's range as Hive-partitioned Parquet under
        ``directory`` (which must be empty or missing); rows written per table. The rows
        of customers who withdrew their ``analytics`` consent are kept without saying
        whose they are (``withheld``)."""
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise ReportError(f"{directory} is not an empty directory: export into a new one")
        written = self.facts.export(directory, request.start, request.end)
        if self.withheld is not None:
            self.withheld(directory)
        return written
