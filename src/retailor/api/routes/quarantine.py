"""The quarantine: rejected input with its reason and raw payload."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.ingest_quality import STEPS, ReasonCount, ingest_quality
from retailor.analytics.reports import ReportError, parse_request
from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import MAX_OFFSET, json_response, query_int, read_body
from retailor.api.problems import ProblemError
from retailor.api.schemas import MAX_BATCH_ITEMS, QuarantinePage
from retailor.domain import numbers
from retailor.domain.access import Scope
from retailor.domain.quarantine import Rejection

_WHEN = {"anyOf": [{"type": "string", "format": "date"},
                   {"type": "string", "format": "date-time"}]}  # fmt: skip


@endpoint(
    "GET",
    "/v1/quarantine",
    summary="Rejected events, newest first",
    tag="events",
    scope=Scope.ADMIN,
    response=QuarantinePage,
    query=(
        QueryParam(
            "limit",
            "page size (1 to 1,000; default 100)",
            {"type": "integer", "minimum": 1, "maximum": 1000},
        ),
        QueryParam(
            "offset", "rows to skip", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
        ),
        QueryParam("source", "only from this source, e.g. http:/v1/events", {"type": "string"}),
        QueryParam("reason", "only with exactly this reason", {"type": "string"}),
    ),
    errors=(422,),
)
async def list_quarantine(request: Request, ctx: AppContext) -> Response:
    """Every rejected event (or unreadable request) with why it was rejected; ``source``
    and ``reason`` keep those from one source, with one reason (as
    ``GET /v1/quarantine/summary`` names it)."""
    limit = query_int(request, "limit", 100, 1, 1000)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    source = request.query_params.get("source")
    reason = request.query_params.get("reason")
    store = ctx.storage.quarantine

    def page() -> QuarantinePage:
        return QuarantinePage(
            total=store.count(source=source, reason=reason),
            items=store.list(limit=limit, offset=offset, source=source, reason=reason),
        )

    return json_response(await asyncio.to_thread(page))


class _Kept(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[list[Rejection], msgspec.Meta(max_length=MAX_BATCH_ITEMS)]


_kept = msgspec.json.Decoder(_Kept)


class _KeptOut(msgspec.Struct):
    kept: int


@endpoint(
    "POST",
    "/v1/quarantine",
    summary="Keep records rejected elsewhere",
    tag="events",
    scope=Scope.ADMIN,
    body=_Kept,
    response=_KeptOut,
    errors=(503,),
)
async def add_quarantine(request: Request, ctx: AppContext) -> Response:
    """Add rejected records (for instance the invalid rows a bulk import found) to the
    quarantine, so they are kept with the rest."""
    body = await read_body(request, ctx.settings.max_body_bytes)
    try:
        kept = numbers.decode(_kept, body, _Kept)
    except msgspec.ValidationError as exc:
        raise ProblemError(422, f"{exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(
            400, f"the body is not valid JSON: {exc}", title="Malformed JSON"
        ) from None
    await ctx.write([], kept.items)
    return json_response(_KeptOut(kept=len(kept.items)))


class SummaryOut(msgspec.Struct, kw_only=True):
    """Events accepted and rejected by period and the rejections by reason (durable:
    the event log and the quarantine), and the events this server process counted since
    it started, by outcome (``accepted``, ``duplicate``, ``rejected``; duplicates are
    counted nowhere else)."""

    from_: datetime = msgspec.field(name="from")
    to: datetime
    interval: str
    rows: list[dict[str, Any]]
    totals: dict[str, int]
    reasons: list[ReasonCount]
    this_process: dict[str, int]


@endpoint(
    "GET",
    "/v1/quarantine/summary",
    summary="Ingest rates: events accepted and rejected per hour or day, rejections by reason",
    tag="events",
    scope=Scope.VIEW,
    response=SummaryOut,
    query=(
        QueryParam("from", "start (inclusive): a date or an ISO 8601 time (1900 to 9000); "
                   "default 7 days before to; before to, at most 3660 days before it (93 "
                   "by hour)", _WHEN),
        QueryParam("to", "end (exclusive; a date means the end of that day); default now",
                   _WHEN),
        QueryParam("interval", "a row per hour (default) or per day",
                   {"type": "string", "enum": ["hour", "day"]}),
    ),
    errors=(400,),
)  # fmt: skip
async def quarantine_summary(request: Request, ctx: AppContext) -> Response:
    """``accepted``: events stored, by the time the server received them; ``rejected``:
    input kept in the quarantine, by the time it was received; every period of the range
    listed (zeros too); ``reasons``: the rejections of the range by reason, most first.
    Bad parameters are a 400."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in ("from", "to", "interval"):
            raise ProblemError(400, f"unknown parameter {key!r}: use from, to and interval")
        params.setdefault(key, []).append(value)
    interval = params.pop("interval", ["hour"])[-1]
    if interval not in STEPS:
        raise ProblemError(400, f"interval must be hour or day, not {interval!r}")
    try:
        if "from" not in params:  # 7 days before to (parse_request's default is 30)
            end = parse_request({"to": params["to"]}).end if "to" in params else datetime.now(UTC)
            params["from"] = [(end - timedelta(days=7)).isoformat()]
        wanted = parse_request(params)
    except ReportError as exc:
        raise ProblemError(400, str(exc)) from None
    if interval == "hour" and wanted.end - wanted.start > timedelta(days=93):
        raise ProblemError(
            400, "an hourly summary spans at most 93 days: narrow from/to or use day"
        )
    quality = await asyncio.to_thread(
        ingest_quality, ctx.storage.events, ctx.storage.quarantine, wanted.start, wanted.end,
        interval,
    )  # fmt: skip
    return json_response(
        SummaryOut(
            from_=quality.from_,
            to=quality.to,
            interval=quality.interval,
            rows=quality.rows,
            totals=quality.totals,
            reasons=quality.reasons,
            this_process=ctx.metrics.event_totals(),
        )
    )
