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
from retailor.api.endpoints import PartialAnswer, endpoint
from retailor.api.http import ingest_response, json_response, read_body
from retailor.api.problems import EVENTS_REJECTED, ProblemError
from retailor.api.schemas import SegmentOut
from retailor.domain.access import Scope
from retailor.ingest.quarantining import rejection
from retailor.ingest.segment import SegmentMappingError, to_native
from retailor.ingest.segment_messages import CALLS, BatchEnvelope, SegmentBatchIn
from retailor.ingest.service import IngestReport, Prepared
from retailor.ingest.splitting import (
    UnsplittableError,
    array_items,
    malformed_reason,
    object_members,
)
from retailor.ingest.validation import Invalid


class _Unreadable(msgspec.Struct):
    """A message of a batch that does not decode, kept to be rejected on its own."""

    raw: bytes
    reason: str


def _decode(body: bytes, batch_key: str | None = None) -> Any:
    """The decoded body. A body with a ``batch_key`` list that does not decode whole is
    split (:mod:`retailor.ingest.splitting`): its other members must decode, and each
    message that does not becomes an :class:`_Unreadable`."""
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        malformed = ProblemError(400, malformed_reason(exc), title="Malformed JSON")
        if batch_key is None:
            raise malformed from None
        try:
            members = object_members(body)
            messages = array_items(members[batch_key]) if batch_key in members else None
        except UnsplittableError:
            raise malformed from None
        if messages is None:
            raise malformed from None
        decoded = {key: _decode(raw) for key, raw in members.items() if key != batch_key}
        decoded[batch_key] = [_decode_message(raw) for raw in messages]
        return decoded


def _decode_message(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return _Unreadable(raw, f"not valid JSON: {exc}")
    except RecursionError:
        return _Unreadable(raw, "the message nests lists and objects too deeply")


async def _ingest(
    request: Request, ctx: AppContext, messages: list[Any], implied: str | None, source: str
) -> Response:
    received_at = datetime.now(UTC)
    prepared = Prepared()
    for index, message in enumerate(messages):
        if isinstance(message, _Unreadable):
            prepared.reject(
                index=index,
                payload=message.raw,
                reason=message.reason,
                source=source,
                received_at=received_at,
            )
            continue
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
    request: Request,
    ctx: AppContext,
    source: str,
    shape: Callable[[Any], None] | None = None,
    batch_key: str | None = None,
) -> Any:
    """The decoded body (see :func:`_decode`); a body that cannot be read, or that ``shape``
    refuses (with a :class:`ProblemError`), is kept in the quarantine as it was sent before
    the problem is raised."""
    received_at = datetime.now(UTC)
    raw = b""
    try:
        raw = await read_body(request, ctx.settings.max_body_bytes)
        body = _decode(raw, batch_key)
        if shape is not None:
            shape(body)
        return body
    except ProblemError as exc:
        kept = rejection(source=source, reason=exc.detail, payload=raw, received_at=received_at)
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
        body=CALLS[_kind],
        response=SegmentOut,
        partial=PartialAnswer(EVENTS_REJECTED, IngestReport),
        errors=(503,),
    )(_single(_kind))


@endpoint(
    "POST",
    "/v1/batch",
    summary="Segment batch",
    tag="segment",
    scope=Scope.INGEST,
    body=SegmentBatchIn,
    response=SegmentOut,
    partial=PartialAnswer(EVENTS_REJECTED, IngestReport),
    errors=(503,),
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
        try:
            msgspec.convert(body, BatchEnvelope, strict=True)
        except msgspec.ValidationError as exc:
            raise ProblemError(
                422,
                f"the batch around the messages: {exc}",
                title="Not a Segment batch",
            ) from None
        if len(body["batch"]) > most:
            raise ProblemError(
                413, f"the batch has {len(body['batch'])} messages; send at most {most}"
            )

    body = await _read(request, ctx, source, a_batch, batch_key="batch")
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
