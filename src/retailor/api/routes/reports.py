"""Reports: the figures of decisions (impressions, clicks, orders, revenue, margin, offers)
by time and by dimension, as JSON or CSV (``analytics.reports``)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from datetime import datetime
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.reports import (
    INTERVALS,
    ReportError,
    ReportRequest,
    Reports,
    parse_request,
)
from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response
from retailor.api.problems import ProblemError
from retailor.domain.access import Scope
from retailor.domain.ids import DEFINITION_ID_PATTERN, definition_id_problem
from retailor.privacy.suppression import erase_suppressed
from retailor.storage.facts import DIMENSIONS

#: A time a report parameter takes: a date or an RFC 3339 date-time.
_WHEN = {"anyOf": [{"type": "string", "format": "date"},
                   {"type": "string", "format": "date-time"}]}  # fmt: skip
_DIMS = "|".join(DIMENSIONS)


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
    scope=Scope.VIEW,
    response=ReportOut,
    alternatives=("text/csv",),
    query=(
        QueryParam(
            "from",
            "start (inclusive): a date or an ISO 8601 time; default 30 days before to; "
            "before to, at most 3660 days before it",
            _WHEN,
        ),
        QueryParam(
            "to",
            "end (exclusive; a date means the end of that day); default now",
            _WHEN,
        ),
        QueryParam(
            "interval",
            "rows per hour, per day, or none (default)",
            {"type": "string", "enum": list(INTERVALS)},
        ),
        QueryParam(
            "by",
            "dimensions to group by, comma-separated, each once: " + ", ".join(DIMENSIONS),
            {"type": "string", "pattern": f"^({_DIMS})(,({_DIMS}))*$"},
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


def _reports(ctx: AppContext) -> Reports:
    if ctx.reports is None:
        raise ProblemError(503, "this server keeps no report facts")
    return ctx.reports


def _range(request: Request) -> ReportRequest:
    params = {k: v for k, v in request.query_params.items() if k in ("from", "to")}
    try:
        return parse_request(params)
    except ReportError as exc:
        raise ProblemError(400, str(exc)) from None


class RecomputeOut(msgspec.Struct, kw_only=True):
    """What a recompute folded again."""

    decisions: int
    marks: int
    events: int
    orders: int
    seconds: float


class ExportOut(msgspec.Struct, kw_only=True):
    """Where the export went and the rows written per fact table."""

    directory: str
    rows: dict[str, int]


_RANGE = (
    QueryParam("from", "start (inclusive); default 30 days before to; before to", _WHEN),
    QueryParam("to", "end (exclusive; a date means the end of that day); default now", _WHEN),
)


@endpoint(
    "POST",
    "/v1/reports/recompute",
    summary="Rebuild the report facts of a time range from the logs",
    tag="reports",
    scope=Scope.ADMIN,
    response=RecomputeOut,
    query=_RANGE,
    errors=(400,),
)
async def recompute_reports(request: Request, ctx: AppContext) -> Response:
    """Delete the facts of the range and fold the decision and event logs of that range
    again, as the background updater does; answers when done."""
    reports, wanted = _reports(ctx), _range(request)
    try:
        done = await asyncio.to_thread(reports.recompute, wanted)
    except ReportError as exc:
        raise ProblemError(503, str(exc)) from None
    return json_response(
        RecomputeOut(decisions=done.decisions, marks=done.marked, events=done.events,
                     orders=done.orders, seconds=round(done.seconds, 3))
    )  # fmt: skip


@endpoint(
    "POST",
    "/v1/reports/export",
    summary="Write the fact tables as Hive-partitioned Parquet in the data directory",
    tag="reports",
    scope=Scope.ADMIN,
    response=ExportOut,
    query=(
        QueryParam(
            "name",
            "the export's name: letters, digits, '.', '-', '_' (a name used before: 409)",
            {"type": "string", "pattern": DEFINITION_ID_PATTERN, "maxLength": 128},
            required=True,
        ),
        *_RANGE,
    ),
    errors=(400, 409),
)
async def export_reports(request: Request, ctx: AppContext) -> Response:
    """``<data>/exports/<name>/<table>/day=YYYY-MM-DD/part-0.parquet`` for the decisions,
    exposures, lines and orders facts of the range (``retailor report export DIR`` asks
    the server running on its data directory, then moves the files to DIR)."""
    reports = _reports(ctx)
    name = request.query_params.get("name", "")
    problem = definition_id_problem("export", name)
    if problem is not None:
        raise ProblemError(400, problem)
    directory = ctx.settings.data_dir.resolve() / "exports" / name
    wanted = _range(request)
    if directory.exists():
        raise ProblemError(409, f"an export named {name!r} exists already: choose another name")
    # written aside, then put in place whole: an erasure never meets half an export
    aside = directory.with_name(f".writing-{name}-{secrets.token_hex(4)}")
    try:
        rows = await asyncio.to_thread(reports.export, aside, wanted)
        await asyncio.to_thread(aside.rename, directory)
    except ReportError as exc:
        raise ProblemError(400, str(exc)) from None
    except OSError:  # another export of the same name came first
        await asyncio.to_thread(shutil.rmtree, aside, True)
        raise ProblemError(
            409, f"an export named {name!r} exists already: choose another name"
        ) from None
    if ctx.suppression is not None and ctx.storage.exports is not None:
        # someone erased while it was written: their rows leave it too
        await asyncio.to_thread(erase_suppressed, ctx.storage.exports, ctx.suppression)
    return json_response(ExportOut(directory=str(directory), rows=rows))
