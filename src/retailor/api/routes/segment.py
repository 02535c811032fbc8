"""The Segment HTTP Tracking API: ``/v1/track``, ``identify``, ``page``, ``screen``,
``alias`` and ``batch``, authenticated by the write key (an ingest key) as the Basic
user name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import endpoint
from retailor.api.http import ingest_response, json_response, read_body
from retailor.api.problems import ProblemError
from retailor.api.schemas import SegmentBatchIn, SegmentMessageIn, SegmentOut
from retailor.domain.access import Scope
from retailor.ingest.quarantining import rejection
from retailor.ingest.segment import SegmentMappingError, to_native
from retailor.ingest.service import IngestReport, Prepared
from retailor.ingest.validation import Invalid


def _decode(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(
            400, f"the body is not valid JSON: {exc}", title="Malformed JSON"
        ) from None
    except RecursionError:
        raise ProblemError(
            400, "the body nests lists and objects too deeply", title="Malformed JSON"
        ) from None


async def _ingest(
    request: Request, ctx: AppContext, messages: list[Any], implied: str | None, source: str
) -> Response:
    received_at = datetime.now(UTC)
    prepared = Prepared()
    for index, message in enumerate(messages):
        try:
            native = to_native(message, received_at, implied)
            prepared.events.append(ctx.validator.from_mapping(native, received_at))
        except (SegmentMappingError, Invalid) as exc:
            prepared.reject(
                index=index,
                payload=message,
                reason=str(exc),
                source=source,
                received_at=received_at,
            )
        except Exception as exc:  # a defect must not cost the rest of the batch
            prepared.reject_defect(
                index=index, payload=message, error=exc, source=source, received_at=received_at
            )
    result = await ctx.write(prepared.events, prepared.rejections)
    report = prepared.report(result)
    ctx.metrics.count_events(source, report.accepted, report.duplicates, len(report.rejected))
    if report.rejected:
        return ingest_response(report, len(messages))
    return json_response(
        SegmentOut(
            success=True, accepted=report.accepted, duplicates=report.duplicates, rejected=[]
        )
    )


async def _read(
    request: Request, ctx: AppContext, source: str, shape: Callable[[Any], None] | None = None
) -> Any:
    """The decoded body; a body that cannot be read, or that ``shape`` refuses (with a
    :class:`ProblemError`), is kept in the quarantine before the problem is raised."""
    received_at = datetime.now(UTC)
    body: Any = b""
    try:
        body = _decode(await read_body(request, ctx.settings.max_body_bytes))
        if shape is not None:
            shape(body)
        return body
    except ProblemError as exc:
        kept = rejection(source=source, reason=exc.detail, payload=body, received_at=received_at)
        await ctx.write([], [kept])
        raise


def _single(kind: str) -> Any:
    async def handler(request: Request, ctx: AppContext) -> Response:
        source = f"segment:{kind}"
        message = await _read(request, ctx, source)
        return await _ingest(request, ctx, [message], kind, source)

    handler.__name__ = f"segment_{kind}"
    handler.__doc__ = (
        f"A Segment ``{kind}`` message, mapped to Retailor's events "
        "(see docs/segment.md for the mapping)."
    )
    return handler


for _kind in ("track", "identify", "page", "screen", "alias"):
    endpoint(
        "POST",
        f"/v1/{_kind}",
        summary=f"Segment {_kind}",
        tag="segment",
        scope=Scope.INGEST,
        body=SegmentMessageIn,
        response=SegmentOut,
        partial=IngestReport,
    )(_single(_kind))


@endpoint(
    "POST",
    "/v1/batch",
    summary="Segment batch",
    tag="segment",
    scope=Scope.INGEST,
    body=SegmentBatchIn,
    response=SegmentOut,
    partial=IngestReport,
)
async def segment_batch(request: Request, ctx: AppContext) -> Response:
    """A Segment batch, as the Segment client libraries send it. A batch-level
    ``context`` is merged under each message's own context."""
    source = "segment:batch"
    most = ctx.settings.max_batch_events

    def a_batch(body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
            raise ProblemError(
                422, 'a batch is {"batch": [message, ...]}', title="Not a Segment batch"
            )
        if len(body["batch"]) > most:
            raise ProblemError(
                413, f"the batch has {len(body['batch'])} messages; send at most {most}"
            )

    body = await _read(request, ctx, source, a_batch)
    messages = body["batch"]
    shared = body.get("context")
    if isinstance(shared, dict):
        messages = [
            {**m, "context": {**shared, **m.get("context", {})}}
            if isinstance(m, dict) and isinstance(m.get("context", {}), dict)
            else m
            for m in messages
        ]
    sent_at = body.get("sentAt")
    if sent_at is not None:
        messages = [{"sentAt": sent_at, **m} if isinstance(m, dict) else m for m in messages]
    return await _ingest(request, ctx, messages, None, source)
