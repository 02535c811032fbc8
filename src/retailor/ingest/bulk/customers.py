"""The ``customers`` preset: a CRM or loyalty export, one customer per row.

Each row becomes an ``identify`` event whose traits are the row's columns (email, phone
and loyalty card link identities; everything else becomes profile attributes), and, when
the row has ``consent_<purpose>`` columns, a ``consent_updated`` event. ``updated_at``
(when present) dates the events. Ids derive from the row, so re-importing adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgspec

from retailor.domain.events import ConsentPurpose, Event
from retailor.domain.quarantine import Rejection
from retailor.ingest.bulk.events import plain_id
from retailor.ingest.bulk.source import Source, converted_chunks, resolve_columns
from retailor.ingest.ids import derived_event_id
from retailor.ingest.validation import EventValidator, Invalid

WANTED: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "id", "client_id", "member_id", "user_id"),
    "updated_at": ("modified_at", "last_updated"),
}
CHUNK = 5_000
_TRUE = {"true", "yes", "y", "1", "t", "opt-in", "opted_in", "granted"}
_FALSE = {"false", "no", "n", "0", "f", "opt-out", "opted_out", "denied", ""}


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def customer_chunks(
    source: Source, validator: EventValidator, received_at: datetime, source_name: str
) -> Iterator[tuple[list[Event], list[Rejection], int]]:
    found = resolve_columns(source.columns, WANTED, ("customer_id",), "customers")
    id_column, stamp_column = found["customer_id"], found.get("updated_at")

    def convert(row: dict[str, Any]) -> list[Event]:
        return _row_events(row, id_column, stamp_column, validator, received_at)

    yield from converted_chunks(
        source, convert, chunk=CHUNK, received_at=received_at, source_name=source_name
    )


def _row_events(
    row: dict[str, Any],
    id_column: str,
    stamp_column: str | None,
    validator: EventValidator,
    received_at: datetime,
) -> list[Event]:
    customer = plain_id(row.get(id_column))
    if not customer:
        raise Invalid(f"missing {id_column}")
    fingerprint = msgspec.json.encode(row, order="deterministic").decode()
    stamp = row.get(stamp_column) if stamp_column else None
    traits: dict[str, Any] = {}
    purposes: dict[str, bool] = {}
    for column, value in row.items():
        if column in (id_column, stamp_column) or value is None or value == "":
            continue
        if column.lower().startswith("consent_"):
            purpose = column.lower().removeprefix("consent_")
            if purpose not in {p.value for p in ConsentPurpose}:
                raise Invalid(f"column {column}: unknown consent purpose {purpose!r}")
            flag = _flag(value)
            if flag is None:
                raise Invalid(f"column {column}: {value!r} is not yes/no")
            purposes[purpose] = flag
        else:
            traits[column] = (
                plain_id(value) if column.lower() in ("phone", "loyalty_card") else value
            )
    base: dict[str, Any] = {"customer_id": customer, "context": {"source": "import:customers"}}
    if stamp is not None:
        base["timestamp"] = stamp if isinstance(stamp, datetime) else str(stamp)
    events = [validator.from_mapping({**base, "event_id": derived_event_id("crm", customer, fingerprint),
                                      "type": "identify", "properties": {"traits": traits}}, received_at)]  # fmt: skip
    if purposes:
        events.append(validator.from_mapping({**base, "event_id": derived_event_id("crm-consent", customer, fingerprint),
                                              "type": "consent_updated", "properties": {"purposes": purposes}}, received_at))  # fmt: skip
    return events
