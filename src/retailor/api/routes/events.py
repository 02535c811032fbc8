"""Native events: ``POST /v1/events`` and a customer's timeline."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import PartialAnswer, endpoint
from retailor.api.http import ingest_response, read_body
from retailor.api.problems import EVENTS_REJECTED, ProblemError
from retailor.api.schemas import EventsBody
from retailor.domain.access import Scope
from retailor.ingest.quarantining import rejection
from retailor.ingest.service import (
    BodyRejectedError,
    IngestReport,
    prepare_native,
    split_native_body,
)

SOURCE = "http:/v1/events"


@endpoint(
    "POST",
    "/v1/events",
    summary="Send one event or a batch of up to 10,000",
    tag="events",
    scope=Scope.INGEST,
    body=EventsBody,
    response=IngestReport,
    partial=PartialAnswer(EVENTS_REJECTED, IngestReport),
    errors=(503,),  # the events could not be stored
)
async def post_events(request: Request, ctx: AppContext) -> Response:
    """Send one event object, or ``{"events": [...]}``. Every event is stored once
    (``event_id`` is the idempotency key) and acknowledged only after it is on disk.
    Invalid events are rejected with a reason and kept in the quarantine; the valid
    events of the same request are stored all the same (the answer is then a 422 problem
    document carrying ``accepted``, ``duplicates`` and ``rejected``)."""
    received_at = datetime.now(UTC)
    try:
        body = await read_body(request, ctx.settings.max_body_bytes)
    except ProblemError as exc:
        await ctx.write(
            [], [rejection(source=SOURCE, reason=exc.detail, payload=b"", received_at=received_at)]
        )
        raise
    try:
        raws = split_native_body(body, ctx.settings.max_batch_events)
    except BodyRejectedError as exc:
        await ctx.write(
            [], [rejection(source=SOURCE, reason=exc.detail, payload=body, received_at=received_at)]
        )
        ctx.metrics.count_events(SOURCE, 0, 0, 1)
        raise ProblemError(exc.status, exc.detail, title=exc.title) from None
    prepared = prepare_native(raws, ctx.validator, received_at, SOURCE)
    result = await ctx.write(prepared.events, prepared.rejections)
    report = prepared.report(result)
    ctx.metrics.count_events(SOURCE, report.accepted, report.duplicates, len(report.rejected))
    return ingest_response(report, len(raws))
