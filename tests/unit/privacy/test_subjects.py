"""Finding a person: from any identifier to their cluster's ids, the identifiers as they
were written in their events, and the hashes a suppression list keeps; the suppression
list then recognises their events, ids and payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from retailor.domain.events import Event
from retailor.ingest.validation import EventValidator
from retailor.privacy.subjects import resolve_subject, suppression_hash
from retailor.privacy.suppression import Suppression
from retailor.profiles.service import ProfileService
from retailor.storage.memory.events import MemoryEventLog
from retailor.storage.memory.privacy import MemoryPrivacyStore
from retailor.storage.schema import events_to_table

SALT = "s"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def events() -> list[Event]:
    validator = EventValidator()
    raw = [
        {"event_id": "e1", "type": "identify", "customer_id": "c-9", "anonymous_id": "dev-1",
         "timestamp": "2026-10-01T00:00:00Z",
         "properties": {"traits": {"email": " Ann@Example.COM ", "phone": "+44 1234 567891",
                                   "loyalty_card": "LC-1"}}},
        {"event_id": "e2", "type": "product_viewed", "anonymous_id": "dev-2",
         "timestamp": "2026-10-02T00:00:00Z", "properties": {"item_id": "i1"}},
        {"event_id": "e3", "type": "identify", "customer_id": "c-other",
         "timestamp": "2026-10-02T00:00:00Z",
         "properties": {"traits": {"email": "bob@example.com"}}},
    ]  # fmt: skip
    return [validator.from_json(msgspec.json.encode(r), NOW) for r in raw]


def test_any_identifier_finds_the_whole_cluster_and_how_it_was_written() -> None:
    log, profiles = MemoryEventLog(), ProfileService(SALT)
    found = events()
    log.append(events_to_table(found))
    profiles.apply(found)
    for asked in ("email:ann@example.com", "c-9", "dev-1", "phone:0044 1234 567891",
                  "loyalty_card:LC-1"):  # fmt: skip
        resolved = resolve_subject(asked, profiles, log)
        assert resolved.key is not None
        assert {"c-9", "dev-1", "a:dev-1"} <= set(resolved.subject.ids)
        assert {" Ann@Example.COM ".strip(), "+44 1234 567891", "LC-1"} <= set(
            resolved.subject.texts
        )
        assert "dev-2" not in resolved.subject.ids and "c-other" not in resolved.subject.ids
        assert "bob@example.com" not in resolved.subject.texts


def test_an_unknown_identifier_is_still_a_subject_of_its_own() -> None:
    resolved = resolve_subject("nobody", ProfileService(SALT), MemoryEventLog())
    assert resolved.key is None and resolved.subject.ids == ("nobody",)


def test_the_suppression_list_recognises_events_ids_and_payloads() -> None:
    log, profiles = MemoryEventLog(), ProfileService(SALT)
    found = events()
    log.append(events_to_table(found))
    profiles.apply(found)
    resolved = resolve_subject("c-9", profiles, log)
    store = MemoryPrivacyStore()
    store.suppress([suppression_hash(r, SALT) for r in resolved.refs], NOW)
    suppression = Suppression(store, SALT)
    kept, refused = suppression.keep(found)
    assert [e.event_id for e in kept] == ["e2", "e3"] and refused == 1
    assert suppression.names("c-9") and suppression.names("dev-1")
    assert suppression.names("email:ANN@example.com ") and suppression.names("loyalty_card:LC-1")
    assert not suppression.names("c-other", "dev-2", None)
    assert suppression.names_payload('{"events": [{"traits": {"phone": "441234567891"}}]}')
    assert suppression.names_payload('{"userId": "c-9", "type": "track"}')
    assert not suppression.names_payload('{"customer_id": "c-other"}')
    assert not suppression.names_payload("not json")
    assert not suppression.names_payload("[" * 100_000 + "]" * 100_000)  # too deep to read
    assert store.lift(suppression.hash_of("c-9"))
