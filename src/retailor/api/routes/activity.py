"""The shop's activity by its own time (visitors, orders, revenue and the shares earned by
decisions) and the live rate of events received (``analytics.activity``)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.activity import MAX_ARRIVAL_MINUTES, Activity
from retailor.analytics.reports import INTERVALS, ReportError, parse_request
from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response
from retailor.api.problems import ProblemError
from retailor.domain.access import Scope

_WHEN = {"anyOf": [{"type": "string", "format": "date"},
                   {"type": "string", "format": "date-time"}]}  # fmt: skip


class ActivityOut(msgspec.Struct, kw_only=True):
    """Activity of a range: its rows (``period`` when by interval, then visitors, orders,
    revenue, attributed_revenue, engaged_revenue, attributed_share, engaged_share) and
    the totals of the range (visitors counted once over the whole range)."""

    from_: datetime = msgspec.field(name="from")
    to: datetime
    interval: str
    as_of: datetime | None
    columns: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]


class ArrivalOut(msgspec.Struct, kw_only=True):
    """Events received in one minute."""

    minute: datetime
    events: int


class ArrivalsOut(msgspec.Struct, kw_only=True):
    """Events received per minute, every minute of the window (zeros too)."""

    from_: datetime = msgspec.field(name="from")
    to: datetime
    rows: list[ArrivalOut]
    total: int
    per_minute: float


def _activity(ctx: AppContext) -> Activity:
    if ctx.activity is None:
        raise ProblemError(503, "this server keeps no report facts")
    return ctx.activity


@endpoint(
    "GET",
    "/v1/reports/activity",
    summary="Visitors, orders and revenue by their own time, with the shares decisions earned",
    tag="reports",
    scope=Scope.VIEW,
    response=ActivityOut,
    query=(
        QueryParam("from", "start (inclusive): a date or an ISO 8601 time; default 30 days "
                   "before to; before to, at most 3660 days before it", _WHEN),
        QueryParam("to", "end (exclusive; a date means the end of that day); default now",
                   _WHEN),
        QueryParam("interval", "rows per hour, per day, or one row (none, the default)",
                   {"type": "string", "enum": list(INTERVALS)}),
    ),
    errors=(400, 503),
)  # fmt: skip
async def get_activity(request: Request, ctx: AppContext) -> Response:
    """visitors: distinct people (identity clusters) with an event in the period; orders:
    orders placed (refunded ones included); revenue: their revenue net of refunds;
    attributed_revenue: the part attributed to decisions; engaged_revenue: the revenue of
    engaged orders; attributed_share, engaged_share: those over revenue (null without
    revenue). Every hour or day of the range has a row, zeros included. Bad parameters
    are a 400."""
    activity = _activity(ctx)
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in ("from", "to", "interval"):
            raise ProblemError(400, f"unknown parameter {key!r}: use from, to and interval")
        params.setdefault(key, []).append(value)
    try:
        wanted = parse_request(params)
    except ReportError as exc:
        raise ProblemError(400, str(exc)) from None
    report = await asyncio.to_thread(activity.report, wanted)
    return json_response(report.to_json())


@endpoint(
    "GET",
    "/v1/reports/arrivals",
    summary="Events received per minute (the live event rate)",
    tag="reports",
    scope=Scope.VIEW,
    response=ArrivalsOut,
    query=(
        QueryParam("minutes", f"the window, up to now (default 60, at most {MAX_ARRIVAL_MINUTES})",
                   {"type": "integer", "minimum": 1, "maximum": MAX_ARRIVAL_MINUTES}),
    ),
    errors=(400, 503),
)  # fmt: skip
async def get_arrivals(request: Request, ctx: AppContext) -> Response:
    """Counted by the time the server received each stored event (late events count when
    they arrive), every minute of the window listed, the current one so far."""
    activity = _activity(ctx)
    unknown = sorted(set(request.query_params) - {"minutes"})
    if unknown:
        raise ProblemError(400, f"unknown parameter {unknown[0]!r}: use minutes")
    raw = request.query_params.get("minutes", "60")
    try:
        minutes = int(raw)
    except ValueError:
        raise ProblemError(400, f"minutes must be a whole number, not {raw!r}") from None
    try:
        arrivals = await asyncio.to_thread(activity.arrivals, minutes)
    except ReportError as exc:
        raise ProblemError(400, str(exc)) from None
    return json_response(arrivals.to_json())
