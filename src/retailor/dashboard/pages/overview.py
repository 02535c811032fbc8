"""The overview, ``/dashboard``: the live event rate; visitors, orders and revenue with
the revenue attributed to decisions and the revenue of engaged orders (their shares);
decisions and offers redeemed; each as a time series over the chosen period, and the
decision figures of the personalized and the held-out groups when a holdout is set.

Every figure comes from the functions the API answers with: ``Activity.report`` and
``Activity.arrivals`` (``GET /v1/reports/activity``, ``GET /v1/reports/arrivals``) and
``Reports.report`` (``GET /v1/reports``), for the same range.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.activity import ActivityReport, Arrivals
from retailor.analytics.reports import Report
from retailor.dashboard.context import DashboardContext
from retailor.dashboard.periods import CHOICES, Period, read_period
from retailor.dashboard.registry import page
from retailor.dashboard.rendering import chart, render, when
from retailor.dashboard.sessions import Session
from retailor.domain.events import Event

#: How many of the newest events the page lists.
LATEST_EVENTS = 10
#: The property an event's line shows, by the first that the event has.
DETAIL_PROPERTIES = ("item_id", "query", "order_id", "offer_id", "category", "url", "name")
#: The groups of the ``holdout`` dimension, as the page names them.
GROUPS = {False: "Personalized", True: "Held out", None: "Nobody named"}


@dataclass(frozen=True)
class Overview:
    """What the overview shows for one period."""

    period: Period
    activity: ActivityReport
    decisions: Report
    arrivals: Arrivals
    #: the decision figures by holdout group (None: no holdout configured)
    holdout: Report | None
    #: the newest events received, newest first
    latest: list[Event]


def read_overview(ctx: DashboardContext, period: Period) -> Overview | None:
    """The overview's figures (None when the server keeps no report facts)."""
    if ctx.reports is None or ctx.activity is None:
        return None
    decisions = ctx.reports.report(period.request())
    holdout = ctx.reports.report(period.request(("holdout",), None)) if ctx.has_holdout else None
    return Overview(
        period,
        ctx.activity.report(period.request()),
        decisions,
        ctx.activity.arrivals(60),
        holdout,
        ctx.activity.latest(LATEST_EVENTS),
    )


def _series(rows: list[dict[str, Any]], labels: list[Any], metric: str) -> list[Any]:
    """A metric's values at each label (the report's periods; 0 where it has no row)."""
    found = {row["period"]: row[metric] for row in rows}
    return [found.get(label, 0) for label in labels]


def charts(view: Overview) -> dict[str, dict[str, Any]]:
    """The chart blocks of the page, by element id."""
    interval = view.period.interval
    periods = [row["period"] for row in view.activity.rows]
    labels = [when(p, interval) for p in periods]
    shop = view.activity.rows
    report = view.decisions.rows
    return {
        "chart-arrivals": chart(
            "bar", [m.strftime("%H:%M") for m, _ in view.arrivals.minutes],
            [("events received", [n for _, n in view.arrivals.minutes])],
            title="Events received per minute, last hour",
        ),
        "chart-traffic": chart(
            "line", labels,
            [("visitors", [r["visitors"] for r in shop]), ("orders", [r["orders"] for r in shop])],
            title="Visitors and orders",
        ),
        "chart-revenue": chart(
            "line", labels,
            [("revenue", [r["revenue"] for r in shop]),
             ("attributed revenue", [r["attributed_revenue"] for r in shop]),
             ("engaged revenue", [r["engaged_revenue"] for r in shop])],
            unit="money", title="Revenue",
        ),
        "chart-decisions": chart(
            "line", labels,
            [("decisions", _series(report, periods, "decisions")),
             ("offers redeemed", _series(report, periods, "redemptions"))],
            title="Decisions and offers redeemed",
        ),
    }  # fmt: skip


def holdout_groups(view: Overview) -> list[dict[str, Any]]:
    """The rows of the holdout comparison, personalized first."""
    if view.holdout is None:
        return []
    order = {False: 0, True: 1, None: 2}
    rows = sorted(view.holdout.rows, key=lambda r: order[r["holdout"]])
    return [{"group": GROUPS[r["holdout"]], **r} for r in rows]


def event_detail(event: Event) -> str:
    """What a line of the newest events says about one: its item, search query, order…
    (text, escaped by the template like everything else)."""
    for name in DETAIL_PROPERTIES:
        value = event.properties.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return f"{name}: {value}"
    return ""


def period_rows(view: Overview) -> list[dict[str, Any]]:
    """One row per period: the shop's figures and the decisions made in it."""
    report = {row["period"]: row for row in view.decisions.rows}
    rows = []
    for row in view.activity.rows:
        made = report.get(row["period"], {})
        rows.append(
            {
                **row,
                "decisions": made.get("decisions", 0),
                "redemptions": made.get("redemptions", 0),
            }
        )
    return rows


@page("")
async def overview(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """The overview page."""
    period = read_period(dict(request.query_params))
    view = await asyncio.to_thread(read_overview, ctx, period)
    return render(
        request,
        "overview.html",
        title="Overview",
        period=period,
        choices=CHOICES,
        view=view,
        charts=charts(view) if view is not None else {},
        groups=holdout_groups(view) if view is not None else [],
        rows=period_rows(view) if view is not None else [],
        detail=event_detail,
    )
