"""The canonical Arrow schema of stored events, and conversion between it and ``Event``.

Every adapter takes and gives events in this schema, so bulk imports, the HTTP path and
model training all speak the same columnar form. ``properties`` and ``context`` are
JSON text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import pyarrow as pa

from retailor.domain.events import Channel, Event, EventType

TIMESTAMP = pa.timestamp("us", tz="UTC")

EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("timestamp", TIMESTAMP, nullable=False),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("customer_id", pa.string()),
        pa.field("anonymous_id", pa.string()),
        pa.field("channel", pa.string()),
        pa.field("store_id", pa.string()),
        pa.field("session_id", pa.string()),
        pa.field("decision_id", pa.string()),
        pa.field("properties", pa.string(), nullable=False),
        pa.field("context", pa.string(), nullable=False),
    ]
)
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)

_encoder = msgspec.json.Encoder()


def to_json_text(value: dict[str, Any]) -> str:
    """Encode a properties or context mapping as compact JSON text."""
    return _encoder.encode(value).decode() if value else "{}"


def events_to_table(events: Sequence[Event]) -> pa.Table:
    """Turn events into a table of ``EVENT_SCHEMA``."""
    columns: dict[str, list[Any]] = {name: [] for name in EVENT_COLUMNS}
    for e in events:
        columns["event_id"].append(e.event_id)
        columns["type"].append(e.type.value)
        columns["timestamp"].append(e.timestamp)
        columns["received_at"].append(e.received_at)
        columns["customer_id"].append(e.customer_id)
        columns["anonymous_id"].append(e.anonymous_id)
        columns["channel"].append(e.channel.value if e.channel else None)
        columns["store_id"].append(e.store_id)
        columns["session_id"].append(e.session_id)
        columns["decision_id"].append(e.decision_id)
        columns["properties"].append(to_json_text(e.properties))
        columns["context"].append(to_json_text(e.context))
    return pa.Table.from_pydict(columns, schema=EVENT_SCHEMA)


_TYPES = {t.value: t for t in EventType}
_CHANNELS = {c.value: c for c in Channel}
_decode = msgspec.json.Decoder().decode


def row_to_event(row: dict[str, Any]) -> Event:
    """Turn one row of ``EVENT_SCHEMA`` (as a dict) back into an ``Event``."""
    return Event(
        event_id=row["event_id"],
        type=_TYPES[row["type"]],
        timestamp=row["timestamp"],
        received_at=row["received_at"],
        customer_id=row["customer_id"],
        anonymous_id=row["anonymous_id"],
        channel=_CHANNELS[row["channel"]] if row["channel"] else None,
        store_id=row["store_id"],
        session_id=row["session_id"],
        decision_id=row["decision_id"],
        properties=_decode(row["properties"]),
        context=_decode(row["context"]),
    )


def table_to_events(table: pa.Table | pa.RecordBatch) -> list[Event]:
    """Turn a table of ``EVENT_SCHEMA`` into events (column by column, which is faster
    than row dicts)."""
    columns = [table.column(name).to_pylist() for name in EVENT_COLUMNS]
    return [
        Event(
            event_id=event_id,
            type=_TYPES[kind],
            timestamp=timestamp,
            received_at=received_at,
            customer_id=customer_id,
            anonymous_id=anonymous_id,
            channel=_CHANNELS[channel] if channel else None,
            store_id=store_id,
            session_id=session_id,
            decision_id=decision_id,
            properties=_decode(properties),
            context=_decode(context) if context != "{}" else {},
        )
        for (event_id, kind, timestamp, received_at, customer_id, anonymous_id, channel, store_id,
             session_id, decision_id, properties, context) in zip(*columns, strict=True)
    ]  # fmt: skip
