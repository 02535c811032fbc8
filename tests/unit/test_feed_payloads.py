"""The event feed's payloads: events as the feed carries them, and those it cannot carry
(an integer past 64 bits), announced without a payload so readers take them from the log."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from retailor.domain.events import Event
from retailor.ingest.validation import EventValidator
from retailor.runtime.feeding import decode_events, encode_events


def one(properties: dict[str, object]) -> list[Event]:
    raw = {"event_id": "e1", "type": "page_viewed", "customer_id": "c1", "properties": properties}
    return [EventValidator().from_json(msgspec.json.encode(raw), datetime.now(UTC))]


def test_events_round_trip_through_the_payload() -> None:
    events = one({"url": "https://shop.example/"})
    payload = encode_events(events)
    assert payload is not None and decode_events(payload) == events


def test_an_integer_past_64_bits_is_left_to_the_log() -> None:
    assert encode_events(one({"n": 2**70})) is None
