"""Segments as people read them: every segment with its size now, and a segment's size
over time (the samples the background role keeps, ``profiles.segment_sizes``)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.reports import ReportError, parse_when
from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response
from retailor.api.problems import ProblemError
from retailor.api.routes.segments import SegmentOut, segment_out
from retailor.domain.access import Scope
from retailor.domain.ids import InvalidIdError, check_definition_id
from retailor.profiles.segment_sizes import size_history

_WHEN = {"anyOf": [{"type": "string", "format": "date"},
                   {"type": "string", "format": "date-time"}]}  # fmt: skip


class SegmentsOut(msgspec.Struct):
    segments: list[SegmentOut]


class SizeOut(msgspec.Struct):
    at: datetime
    size: int


class SizesOut(msgspec.Struct, kw_only=True):
    segment_id: str
    from_: datetime | None = msgspec.field(name="from")
    to: datetime | None
    samples: list[SizeOut]


@endpoint(
    "GET",
    "/v1/segments",
    summary="Every segment with its definition and size now",
    tag="segments",
    scope=Scope.VIEW,
    response=SegmentsOut,
    errors=(503,),
)
async def list_segments(request: Request, ctx: AppContext) -> Response:
    """The defined segments in id order, each as ``GET /v1/segments/{id}`` answers it
    (``status`` ``building`` and ``size`` null while its event counts are filled)."""
    return json_response(
        SegmentsOut([await segment_out(ctx, segment_id) for segment_id in ctx.segments.ids()])
    )


def _when(request: Request, name: str, *, end: bool) -> datetime | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return parse_when(text, name, end=end)
    except ReportError as exc:
        raise ProblemError(400, str(exc)) from None


@endpoint(
    "GET",
    "/v1/segments/{segment_id}/sizes",
    summary="A segment's size over time",
    tag="segments",
    scope=Scope.VIEW,
    response=SizesOut,
    query=(
        QueryParam("from", "start (inclusive): a date or an ISO 8601 time (1900 to 9000); "
                   "default: the first sample; before to", _WHEN),
        QueryParam("to", "end (exclusive; a date means the end of that day; 1900 to 9000); "
                   "default: none",
                   _WHEN),
    ),
    errors=(400, 404, 422),
)  # fmt: skip
async def segment_sizes(request: Request, ctx: AppContext) -> Response:
    """The size samples the background role keeps, oldest first: one when the segment is
    first seen, one whenever its size changed, and at least one a day (looked at every
    ``segment_size_seconds``, 60 by default). ``size`` counts the customers in the
    segment then, as ``GET /v1/segments/{id}`` does now."""
    segment_id = request.path_params["segment_id"]
    unknown = sorted(set(request.query_params) - {"from", "to"})
    if unknown:
        raise ProblemError(400, f"unknown parameter {unknown[0]!r}: use from and to")
    try:
        check_definition_id("segment", segment_id)
    except InvalidIdError as exc:
        raise ProblemError(422, str(exc)) from None
    if ctx.segments.get(segment_id) is None:
        raise ProblemError(
            404, f"no segment {segment_id!r}; create it with PUT /v1/segments/{segment_id}"
        )
    start, end = _when(request, "from", end=False), _when(request, "to", end=True)
    if start is not None and end is not None and start >= end:
        raise ProblemError(400, f"from ({start.isoformat()}) must be before to ({end.isoformat()})")
    samples = await asyncio.to_thread(
        size_history, ctx.storage.segment_sizes, segment_id, start, end
    )
    return json_response(
        SizesOut(
            segment_id=segment_id,
            from_=start,
            to=end,
            samples=[SizeOut(s.at, s.size) for s in samples],
        )
    )
