"""An import sent through a running server's API, in requests the server takes.

The server says what one request may carry (``GET /healthz``: ``limits``). Records are
encoded one by one and packed into bodies under both its byte and its count limit; a body
the server still refuses as too large (413) is split in halves and sent again. A record
that alone exceeds the limit cannot be sent: it is rejected with that reason and kept in
the quarantine (its payload cut to fit), so the report still adds up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import pyarrow as pa

from retailor.domain.catalog import CatalogPatch
from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.ingest.quarantining import rejection
from retailor.storage.schema import events_to_table


@dataclass(frozen=True)
class RequestLimits:
    """What the server takes in one request."""

    max_body_bytes: int
    max_batch_events: int
    max_batch_items: int

    @classmethod
    def of(cls, health: dict[str, Any]) -> RequestLimits:
        """The limits in a server's ``/healthz`` answer, or ``CAUTIOUS`` when it gives none."""
        given = health.get("limits")
        if not isinstance(given, dict):
            return CAUTIOUS
        try:
            return cls(
                max_body_bytes=int(given["max_body_bytes"]),
                max_batch_events=int(given["max_batch_events"]),
                max_batch_items=int(given["max_batch_items"]),
            )
        except (KeyError, TypeError, ValueError):
            return CAUTIOUS


#: For a server that does not say: small enough for any server configured with sense; a
#: smaller limit is still met by splitting what it refuses.
CAUTIOUS = RequestLimits(max_body_bytes=1024 * 1024, max_batch_events=1_000, max_batch_items=1_000)

_EVENTS = (b'{"events":[', b"]}")
_ITEMS = (b'{"items":[', b"]}")


#: One record to send: its id (for the reasons of what is refused) and its JSON.
Record = tuple[str, bytes]


class _Envelope:
    """``{"<key>": [record, ...]}`` bodies under a byte and a count limit."""

    def __init__(self, parts: tuple[bytes, bytes], max_bytes: int, max_count: int) -> None:
        self.head, self.tail = parts
        self.max_bytes, self.max_count = max_bytes, max(1, max_count)

    @property
    def room(self) -> int:
        """The largest record that fits in a body on its own."""
        return self.max_bytes - len(self.head) - len(self.tail)

    def body(self, records: Sequence[Record]) -> bytes:
        return self.head + b",".join(encoded for _, encoded in records) + self.tail

    def pack(self, records: Sequence[Record]) -> Iterator[list[Record]]:
        """Consecutive runs of ``records`` whose body fits (each record fits on its own)."""
        empty = len(self.head) + len(self.tail)
        batch: list[Record] = []
        size = empty
        for record in records:
            grown = size + len(record[1]) + (1 if batch else 0)
            if batch and (len(batch) >= self.max_count or grown > self.max_bytes):
                yield batch
                batch, grown = [], empty + len(record[1])
            batch.append(record)
            size = grown
        if batch:
            yield batch

    def send(
        self, records: Sequence[Record], send: Callable[[bytes], Any]
    ) -> Iterator[tuple[list[Record], Any]]:
        """Send ``records`` packed in bodies that fit; a body the server still refuses as
        too large is split in halves and sent again. Yields (records, answer), the answer
        ``None`` for a record too large on its own (never sent)."""
        fitting: list[Record] = []
        for record in records:
            if len(record[1]) > self.room:
                yield [record], None
            else:
                fitting.append(record)
        for batch in self.pack(fitting):
            yield from _send_split(self, batch, send)


def _too_large(exc: Exception) -> bool:
    """The server refused the body as too large (the client's errors carry ``status``)."""
    return getattr(exc, "status", None) == 413


def _send_split(
    envelope: _Envelope, records: list[Record], send: Callable[[bytes], Any]
) -> Iterator[tuple[list[Record], Any]]:
    try:
        answer = send(envelope.body(records))
    except Exception as exc:
        if not _too_large(exc):
            raise
        if len(records) == 1:
            yield records, None
            return
        half = len(records) // 2
        yield from _send_split(envelope, records[:half], send)
        yield from _send_split(envelope, records[half:], send)
    else:
        yield records, answer


class ClientSink:
    """Sends everything through a running server's API, in requests it takes."""

    def __init__(self, client: Any, limits: RequestLimits | None = None) -> None:
        """``client`` is a ``retailor.client.Client``; ``limits`` are asked of the server
        when not given."""
        self._client = client
        self.limits = limits or RequestLimits.of(client.health())

    def _envelope(self, parts: tuple[bytes, bytes], max_count: int) -> _Envelope:
        return _Envelope(parts, self.limits.max_body_bytes, max_count)

    def write_events(self, events: Sequence[Event] | pa.Table, source: str) -> tuple[int, int, int]:
        """Send events; return (accepted, duplicates, rejected). The server keeps the events
        it rejects in its quarantine; events too large to send are kept there from here."""
        table = events if isinstance(events, pa.Table) else events_to_table(events)
        envelope = self._envelope(_EVENTS, self.limits.max_batch_events)
        records = [(row["event_id"], msgspec.json.encode(_wire(row))) for row in table.to_pylist()]
        accepted = duplicates = rejected = 0
        refused: list[Rejection] = []
        for sent, answer in envelope.send(records, self._client.send_events):
            if answer is None:
                refused.append(self._oversized(sent[0], source, "event", event_id=sent[0][0]))
                continue
            accepted += answer["accepted"]
            duplicates += answer["duplicates"]
            rejected += len(answer.get("rejected") or ())
        self.keep_rejections(refused)
        return accepted, duplicates, rejected + len(refused)

    def write_items(self, patches: Sequence[CatalogPatch], source: str) -> tuple[int, int, int]:
        """Upsert items; return (created, updated, rejected). Items the server rejects, or
        too large to send, are kept in the quarantine with the reason."""
        envelope = self._envelope(_ITEMS, self.limits.max_batch_items)
        records = [(p.item_id, msgspec.json.encode(p)) for p in patches]
        created = updated = 0
        refused: list[Rejection] = []
        for sent, answer in envelope.send(records, self._client.upsert_items):
            if answer is None:
                refused.append(self._oversized(sent[0], source, f"catalog item {sent[0][0]}"))
                continue
            created += answer["created"]
            updated += answer["updated"]
            for item in answer.get("rejected") or ():
                item_id, payload = sent[item["index"]]
                reason = f"catalog item {item_id}: {item['reason']}"
                refused.append(_rejection(source, reason, payload))
        self.keep_rejections(refused)
        return created, updated, len(refused)

    def keep_rejections(self, rejections: Sequence[Rejection]) -> None:
        """Send quarantine records, a payload cut when the record would not fit a request."""
        envelope = self._envelope(_ITEMS, self.limits.max_batch_items)
        records = [(str(n), _fitted(r, envelope.room)) for n, r in enumerate(rejections)]
        for sent, answer in envelope.send(records, self._client.add_to_quarantine):
            if answer is None:  # the server takes less than it said: keep the reason alone
                lone = _fitted(rejections[int(sent[0][0])], 0)
                self._client.add_to_quarantine(envelope.body([("", lone)]))

    def _oversized(
        self, record: Record, source: str, what: str, event_id: str | None = None
    ) -> Rejection:
        reason = (
            f"the {what} is {len(record[1]):,} bytes encoded, more than the "
            f"{self.limits.max_body_bytes:,} bytes the server takes in one request"
        )
        return _rejection(source, reason, record[1], event_id)


def _rejection(source: str, reason: str, payload: bytes, event_id: str | None = None) -> Rejection:
    return rejection(
        source=source, reason=reason, payload=payload, received_at=datetime.now(UTC),
        event_id=event_id,
    )  # fmt: skip


def _fitted(record: Rejection, room: int) -> bytes:
    """The encoded record, its payload cut (and the reason saying so) when the whole would
    not fit in ``room`` bytes; with no room at all, the payload is dropped."""
    encoded = msgspec.json.encode(record)
    if len(encoded) <= room:
        return encoded
    keep = max(0, len(record.payload) - (len(encoded) - room) - 200)
    while True:
        cut = msgspec.structs.replace(
            record,
            payload=record.payload[:keep],
            reason=f"{record.reason} (payload cut to its first {keep:,} characters)",
        )
        encoded = msgspec.json.encode(cut)
        if len(encoded) <= room or keep == 0:
            return encoded
        keep //= 2


def _wire(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event row in the native wire form (properties passed through as raw JSON)."""
    out: dict[str, Any] = {
        k: v
        for k, v in row.items()
        if v is not None and k not in ("received_at", "properties", "context")
    }
    out["timestamp"] = row["timestamp"].isoformat()
    out["properties"] = msgspec.Raw(row["properties"].encode())
    out["context"] = msgspec.Raw(row["context"].encode())
    return out
