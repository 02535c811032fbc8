"""The ``events`` preset: native events, one per JSONL line or per CSV/Parquet row.

JSONL lines are validated exactly like the HTTP API's events. In CSV and Parquet, the
columns named like envelope fields fill the envelope; a ``properties`` (or ``context``)
column holding JSON is parsed; every other column becomes a property. A row without
``event_id`` gets one derived from its content, so re-importing the file adds nothing.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.ingest.bulk.source import Source, converted_chunks, is_text_column
from retailor.ingest.ids import derived_event_id
from retailor.ingest.quarantining import rejection
from retailor.ingest.validation import EventValidator, Invalid

ENVELOPE = (
    "event_id",
    "type",
    "timestamp",
    "customer_id",
    "anonymous_id",
    "channel",
    "store_id",
    "session_id",
    "decision_id",
)
ID_FIELDS = ("event_id", "customer_id", "anonymous_id", "store_id", "session_id", "decision_id")
CHUNK = 10_000

Chunk = tuple[list[Event], list[Rejection], int]


def jsonl_chunks(
    path: Path,
    validator: EventValidator,
    received_at: datetime,
    source: str,
    mapping: dict[str, str] | None = None,
) -> Iterator[Chunk]:
    """Validate a JSONL file line by line, each line's top-level fields renamed by
    ``mapping`` (target=source) first; yield (events, rejections, lines read) per chunk.
    A bad line is rejected with its number; the others go on."""
    renames = {source_name: target for target, source_name in (mapping or {}).items()}
    opener = gzip.open if path.name.lower().endswith((".gz", ".gzip")) else open
    events: list[Event] = []
    rejected: list[Rejection] = []
    read = 0
    with opener(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            read += 1
            if line.strip():
                try:
                    if renames:
                        events.append(validator.from_mapping(_renamed(line, renames), received_at))
                    else:
                        events.append(validator.from_json(line, received_at))
                except Invalid as exc:
                    rejected.append(
                        rejection(
                            source=source,
                            reason=f"line {number}: {exc}",
                            payload=line.rstrip(b"\r\n"),
                            received_at=received_at,
                            index=number,
                        )
                    )
            if read == CHUNK:
                yield events, rejected, read
                events, rejected, read = [], [], 0
    yield events, rejected, read


def _renamed(line: bytes, renames: dict[str, str]) -> Any:
    """One JSONL line decoded, its top-level fields renamed; ``Invalid`` when unreadable."""
    try:
        data = msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise Invalid(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise Invalid("the event nests lists and objects too deeply") from None
    if not isinstance(data, dict):
        return data  # the validator says what is wrong with it
    return {renames.get(key, key): value for key, value in data.items()}


def plain_id(value: Any) -> Any:
    """Identifiers as strings: ``17850`` and ``17850.0`` both become ``"17850"``."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        head, dot, tail = text.partition(".")
        if dot and tail and set(tail) == {"0"} and head.lstrip("-").isdigit():
            return head
        return text or None
    return value


def row_to_mapping(row: dict[str, Any]) -> dict[str, Any]:
    """One table row as a native event mapping (see the module docstring)."""
    event: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, value in row.items():
        if key in ENVELOPE:
            if value is not None and value != "":
                event[key] = plain_id(value) if key in ID_FIELDS else value
        elif key in ("properties", "context"):
            parsed = _json_object(value, key)
            if key == "context":
                event["context"] = parsed
            else:
                properties.update(parsed)
        elif value is not None and value != "":
            # a file's reader types a column of numbers as numbers; ids are strings
            properties[key] = plain_id(value) if is_text_column(key) else value
    event["properties"] = properties
    if "event_id" not in event:
        event["event_id"] = derived_event_id(
            "row", msgspec.json.encode(row, order="deterministic").decode()
        )
    return event


def _json_object(value: Any, name: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = msgspec.json.decode(value)
        except msgspec.DecodeError:
            raise Invalid(f"column {name} is not JSON: {value[:80]!r}") from None
        if isinstance(parsed, dict):
            return parsed
    raise Invalid(f"column {name} must hold a JSON object")


def table_chunks(
    source: Source, validator: EventValidator, received_at: datetime, source_name: str
) -> Iterator[Chunk]:
    """Validate the rows of a CSV or Parquet table; yield per chunk of rows."""

    def convert(row: dict[str, Any]) -> list[Event]:
        return [validator.from_mapping(row_to_mapping(row), received_at)]

    yield from converted_chunks(
        source, convert, chunk=CHUNK, received_at=received_at, source_name=source_name
    )
