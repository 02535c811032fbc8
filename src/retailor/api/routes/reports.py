"""Reports: the figures of decisions (impressions, clicks, orders, revenue, margin, offers)
by time and by dimension, as JSON or CSV (``analytics.reports``)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.reports import INTERVALS, ReportError, parse_request
from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response
from retailor.api.problems import ProblemError
from retailor.domain.access import Scope
from retailor.storage.facts import DIMENSIONS


class ReportOut(msgspec.Struct, kw_only=True):
    """A report: its range, interval and dimensions, when its facts were last brought up
    to date, its columns in order, one row per group and the totals of the range."""

    from_: datetime = msgspec.field(name="from")
    to: datetime
    interval: str
    by: list[str]
    as_of: datetime | None
    columns: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]


@endpoint(
    "GET",
    "/v1/reports",
    summary="Figures of decisions by time and dimension (JSON or CSV)",
    tag="reports",
    scope=Scope.ADMIN,
    response=ReportOut,
    query=(
        QueryParam(
            "from",
            "start (inclusive): a date or an ISO 8601 time; default 30 days before to",
            {"type": "string"},
        ),
        QueryParam(
            "to",
            "end (exclusive; a date means the end of that day); default now",
            {"type": "string"},
        ),
        QueryParam(
            "interval",
            "rows per hour, per day, or none (default)",
            {"type": "string", "enum": list(INTERVALS)},
        ),
        QueryParam(
            "by",
            "dimensions to group by, comma-separated: " + ", ".join(DIMENSIONS),
            {"type": "string"},
        ),
        QueryParam(
            "format",
            "json (default) or csv; Accept: text/csv does the same",
            {"type": "string", "enum": ["json", "csv"]},
        ),
    ),
    errors=(400,),
)
async def get_report(request: Request, ctx: AppContext) -> Response:
    """Counted on the decisions made in the range, by the decision's time (revenue counts
    where and when the decision that earned it was made). Metrics: decisions; impressions
    (slots viewed); clicks; ctr (clicks / impressions); add_to_carts; orders (with an
    unrefunded line attributed to the decisions); attributed_revenue (of those lines);
    engaged_revenue (the whole unrefunded revenue of those orders); margin (attributed
    revenue less catalog cost and redeemed offers' cost); revenue_per_decision;
    redemptions; budget_spent (cost of the offers redeemed). Embedded, a report first
    folds what is new in the logs; scaled out, the background worker keeps the facts at
    most a minute behind. Bad parameters are a 400."""
    reports = ctx.reports
    if reports is None:
        raise ProblemError(503, "this server keeps no report facts")
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    fmt = (params.pop("format", None) or ["json"])[-1]
    if fmt not in ("json", "csv"):
        raise ProblemError(400, f"format must be json or csv, not {fmt!r}")
    if "text/csv" in request.headers.get("accept", "") and "format" not in request.query_params:
        fmt = "csv"
    try:
        wanted = parse_request(params)
    except ReportError as exc:
        raise ProblemError(400, str(exc)) from None
    report = await asyncio.to_thread(reports.report, wanted)
    if fmt == "csv":
        return Response(report.to_csv(), media_type="text/csv; charset=utf-8")
    return json_response(report.to_json())
