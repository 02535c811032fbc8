"""Turning a request body of events into validated events, rejections and a report."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.ingest.quarantining import rejection
from retailor.ingest.splitting import (
    UnsplittableError,
    batch_items,
    id_member,
    malformed_reason,
)
from retailor.ingest.validation import EventValidator, Invalid
from retailor.storage.base import AppendResult

log = logging.getLogger(__name__)


class RejectedEvent(msgspec.Struct):
    """One event of a request that was not stored, and why."""

    index: int
    event_id: str | None
    reason: str


class IngestReport(msgspec.Struct):
    """The answer to a request that sent events."""

    accepted: int
    duplicates: int
    rejected: list[RejectedEvent]


class BodyRejectedError(Exception):
    """The whole body is unusable (not JSON, wrong shape, too many events)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


@dataclass
class Prepared:
    """Events ready to write, and what was rejected on the way."""

    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    rejected: list[RejectedEvent] = field(default_factory=list)

    def reject(
        self, *, index: int, payload: Any, reason: str, source: str, received_at: datetime
    ) -> None:
        event_id = _event_id_of(payload)
        self.rejected.append(RejectedEvent(index=index, event_id=event_id, reason=reason))
        self.rejections.append(
            rejection(
                source=source,
                reason=reason,
                payload=payload,
                received_at=received_at,
                event_id=event_id,
                index=index,
            )
        )

    def reject_defect(
        self, *, index: int, payload: Any, error: Exception, source: str, received_at: datetime
    ) -> None:
        """Reject an item that broke Retailor itself (logged as a defect), keeping it."""
        log.error("item %d from %s could not be read", index, source, exc_info=error)
        self.reject(
            index=index,
            payload=payload,
            reason=f"could not be read ({type(error).__name__}); it is kept for inspection",
            source=source,
            received_at=received_at,
        )

    def report(self, result: AppendResult) -> IngestReport:
        return IngestReport(
            accepted=result.accepted, duplicates=len(result.duplicates), rejected=self.rejected
        )


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    events: list[msgspec.Raw]


_top_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_batch_decoder = msgspec.json.Decoder(_Batch)


def split_native_body(body: bytes, max_events: int) -> list[msgspec.Raw]:
    """The raw events of a native body: one event object or ``{"events": [...]}``. A batch
    that does not decode whole is split around its broken events (:mod:`.splitting`), which
    are then rejected one by one."""
    try:
        top = _top_decoder.decode(body)
    except msgspec.ValidationError:
        raise BodyRejectedError(
            422, "Not an event", 'send one event object or {"events": [...]}'
        ) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        try:
            raws = [msgspec.Raw(item) for item in batch_items(body, "events")]
        except UnsplittableError:
            raise BodyRejectedError(400, "Malformed JSON", malformed_reason(exc)) from None
    else:
        if "events" not in top:
            return [msgspec.Raw(body)]
        try:
            raws = _batch_decoder.decode(body).events
        except msgspec.ValidationError as exc:
            raise BodyRejectedError(
                422, "Not an event batch", f'a batch is {{"events": [...]}} and nothing else: {exc}'
            ) from None
    if len(raws) > max_events:
        raise BodyRejectedError(
            413,
            "Too many events",
            f"the batch has {len(raws)} events; send at most {max_events} per request",
        )
    return raws


def prepare_native(
    raws: Sequence[msgspec.Raw], validator: EventValidator, received_at: datetime, source: str
) -> Prepared:
    """Validate each raw event; the invalid ones become rejections with their reason."""
    prepared = Prepared()
    for index, raw in enumerate(raws):
        try:
            prepared.events.append(validator.from_json(raw, received_at))
        except Invalid as exc:
            prepared.reject(
                index=index,
                payload=bytes(raw),
                reason=str(exc),
                source=source,
                received_at=received_at,
            )
        except Exception as exc:  # a defect must not cost the rest of the batch
            prepared.reject_defect(
                index=index, payload=bytes(raw), error=exc, source=source, received_at=received_at
            )
    return prepared


def _event_id_of(payload: Any) -> str | None:
    if isinstance(payload, bytes | bytearray | memoryview):
        return id_member(bytes(payload), "event_id", "messageId")
    if isinstance(payload, dict):
        for key in ("event_id", "messageId"):
            value = payload.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)
    return None
