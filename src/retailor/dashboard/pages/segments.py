"""Segments, ``/dashboard/segments``: every segment with its definition and its size now
(``SegmentService.members``, as ``GET /v1/segments`` counts it) and its size over the
chosen period (the samples the background role keeps, ``size_history``, as
``GET /v1/segments/{id}/sizes`` answers); and ``/dashboard/segments/{id}/members.csv``,
the segment's members as the CSV ``retailor segments export`` writes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from retailor.dashboard.context import DashboardContext
from retailor.dashboard.periods import CHOICES, Period, read_period
from retailor.dashboard.registry import page
from retailor.dashboard.rendering import chart, render, when
from retailor.dashboard.sessions import Session
from retailor.privacy.consent import PURPOSES
from retailor.profiles.segment_export import DEFAULT_PURPOSE, contactable, csv_chunks, export_row
from retailor.profiles.segment_sizes import size_history
from retailor.profiles.segmentation import SegmentBuildingError
from retailor.storage.segment_sizes import SegmentSize


@dataclass(frozen=True)
class SegmentView:
    """One segment as the page shows it."""

    segment_id: str
    #: the definition as JSON text (shown escaped, like everything else)
    definition: str
    #: ``ready`` or ``building`` (its event counts are still filled from the log)
    status: str
    #: customers in it now (None while building)
    size: int | None
    samples: list[SegmentSize]


def size_now(ctx: DashboardContext, segment_id: str) -> tuple[str, int | None]:
    """The segment's status and size now, as ``GET /v1/segments/{id}`` gives them."""
    if ctx.segments.building(segment_id) or not ctx.segments.ready(segment_id):
        return "building", None
    try:
        membership = ctx.segments.members(segment_id, 0)
    except SegmentBuildingError:
        return "building", None
    return ("ready", len(membership.members)) if membership is not None else ("building", None)


def read_segments(ctx: DashboardContext, period: Period) -> list[SegmentView]:
    """Every defined segment, in id order, with its samples in the period."""
    views = []
    for segment_id in ctx.segments.ids():
        defined = ctx.segments.get(segment_id)
        if defined is None:
            continue
        status, size = size_now(ctx, segment_id)
        views.append(
            SegmentView(
                segment_id=segment_id,
                definition=msgspec.json.encode(defined.stored.document).decode(),
                status=status,
                size=size,
                samples=size_history(
                    ctx.storage.segment_sizes, segment_id, period.start, period.end
                ),
            )
        )
    return views


def size_chart(view: SegmentView) -> dict[str, Any]:
    """The segment's samples as a line chart."""
    return chart(
        "line",
        [when(s.at) for s in view.samples],
        [("customers", [s.size for s in view.samples])],
        title=f"Size of {view.segment_id} over time",
    )


@page("/segments")
async def segments(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """The segments page."""
    period = read_period(dict(request.query_params))
    views = await asyncio.to_thread(read_segments, ctx, period)
    return render(
        request,
        "segments.html",
        title="Segments",
        period=period,
        choices=CHOICES,
        segments=views,
        charts={f"chart-size-{n}": size_chart(v) for n, v in enumerate(views)},
    )


def member_rows(ctx: DashboardContext, members: list[str]) -> Iterator[dict[str, Any]]:
    """The CSV rows of ``members`` (a customer gone meanwhile is left out), computed as
    they are streamed."""
    for key in members:
        view = ctx.profiles.view(key)
        if view is not None:
            yield export_row(key, view.traits)


@page("/segments/{segment_id}/members.csv")
async def segment_members_csv(
    request: Request, ctx: DashboardContext, session: Session
) -> Response:
    """The segment's members who may be contacted for ``?purpose=`` (``marketing``
    unless told otherwise) as CSV (404 unknown; 503 while its counts are built)."""
    segment_id = request.path_params["segment_id"]
    if ctx.segments.get(segment_id) is None:
        raise HTTPException(404)
    status, _ = await asyncio.to_thread(size_now, ctx, segment_id)
    purpose = request.query_params.get("purpose", DEFAULT_PURPOSE)
    if purpose not in PURPOSES:
        raise HTTPException(400, f"Unknown purpose: use one of {', '.join(PURPOSES)}.")
    membership = (
        await asyncio.to_thread(ctx.segments.members, segment_id, 0) if status == "ready" else None
    )
    if membership is None:
        raise HTTPException(503, "This segment is still being built from the event log.")
    kept = await asyncio.to_thread(
        contactable, ctx.profiles, membership.members, purpose,
        required=ctx.settings.consent_required,
    )  # fmt: skip
    return StreamingResponse(
        csv_chunks(member_rows(ctx, kept)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{segment_id}.csv"'},
    )
