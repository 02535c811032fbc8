"""Segment definitions: parsing errors say where; semantics on hand-made customers."""

from __future__ import annotations

from pathlib import Path

import pytest

from retailor.domain.catalog import CatalogItem
from retailor.domain.events import Event
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.segments import EventCount, SegmentError, event_counts, parse
from retailor.profiles.service import ProfileService
from retailor.storage.files.definitions import FileDefinitionStore
from retailor.storage.memory.events import MemoryEventLog
from retailor.storage.schema import events_to_table
from tests.unit.profiles.test_identity import ev, order

DAY = 60 * 24
SHOES_TWICE_NOT_LATELY = {
    "all": [
        {"event": "order_completed", "category": "Shoes", "within_days": 90, "min_count": 2},
        {"not": {"event": "order_completed", "category": "Shoes", "within_days": 30}},
    ]
}


@pytest.mark.parametrize(
    ("definition", "where"),
    [
        ({"all": [{"trait": "nope", "value": 1}]}, "$.all[0].trait"),
        ({"all": [{"trait": "order_count", "op": "bigger", "value": 1}]}, "$.all[0].op"),
        ({"any": [{"event": "teleported"}]}, "$.any[0].event"),
        ({"all": [{"event": "order_completed", "within_days": -3}]}, "$.all[0].within_days"),
        ({"all": []}, "$.all"),
        ({"all": [{"not": {"trait": "revenue"}}]}, "$.all[0].not"),
        ({"all": [{"trait": "rfm.segment", "op": "in", "value": "lost"}]}, "$.all[0].value"),
        ({"all": [{"weird": 1}]}, "$.all[0]"),
        ([1], "$"),
        # bounded definitions: what is too big says where
        (
            {"all": [{"trait": "attributes.city", "op": "in", "value": list(range(10_001))}]},
            "$.all[0].value",
        ),
        ({"any": [{"trait": "order_count", "value": n} for n in range(300)]}, "$.any[199]"),
        ({"any": [{"event": "page_viewed", "min_count": n} for n in range(21)]}, "$.any[20]"),
        ({"all": [{"event": "page_viewed", "min_count": 10_001}]}, "$.all[0].min_count"),
        ({"all": [{"event": "page_viewed", "within_days": 1e12}]}, "$.all[0].within_days"),
        ({"all": [{"event": [{"type": "page_viewed"}]}]}, "$.all[0].event[0]"),
        ({"all": [{"event": []}]}, "$.all[0].event"),
        ({"any": [{"event": [{}]}]}, "$.any[0].event[0]"),
        ({"any": [{"event": "order_completed", "min_count": None}]}, "$.any[0].min_count"),
        ({"any": [{"event": "order_completed", "within_days": 10**9}]}, "$.any[0].within_days"),
        ({"all": [{"trait": "revenue", "op": "exists"}], "name": 5}, "$.name"),
    ],
)
def test_errors_say_where(definition: object, where: str) -> None:
    with pytest.raises(SegmentError) as caught:
        parse(definition)
    assert caught.value.where == where


def test_counts_may_be_written_as_whole_floats() -> None:
    parsed = parse({"event": "order_completed", "min_count": 2.0, "max_count": 3.0})
    assert isinstance(parsed, EventCount) and (parsed.min_count, parsed.max_count) == (2, 3)


def test_a_definition_of_traits_alone_looks_at_no_events() -> None:
    definition = {"all": [{"trait": "order_count", "op": "gt", "value": 1}]}
    assert event_counts(parse(definition)) == []


def history() -> list[Event]:
    return [
        # fits: two shoe orders 80 and 50 days before the newest event, none in the last 30
        order(30 * DAY, "fits", None, "f1", ("boot", 1, 60.0)),
        order(60 * DAY, "fits", None, "f2", ("boot", 1, 60.0)),
        ev("consent_updated", 0, "fits", purposes={"marketing_email": True}),
        # recent: two shoe orders in the window, and one 10 days ago
        order(40 * DAY, "recent", None, "r1", ("boot", 1, 60.0)),
        order(50 * DAY, "recent", None, "r2", ("boot", 1, 60.0)),
        order(100 * DAY, "recent", None, "r3", ("boot", 1, 60.0)),
        # once: one shoe order and a mug in the window
        order(40 * DAY, "once", None, "o1", ("boot", 1, 60.0)),
        order(45 * DAY, "once", None, "o2", ("mug", 1, 5.0)),
        # old: two shoe orders before the window
        order(0, "old", None, "x1", ("boot", 1, 60.0)),
        order(5 * DAY, "old", None, "x2", ("boot", 1, 60.0)),
        ev("page_viewed", 110 * DAY, "browser"),  # the newest event: day 110
    ]


@pytest.fixture
def segments(tmp_path: Path) -> SegmentService:
    profiles = ProfileService("salt")
    profiles.remember_items([CatalogItem(item_id="boot", category=["Fashion", "Shoes"]),
                             CatalogItem(item_id="mug", category=["Home", "Kitchen"])])  # fmt: skip
    log = MemoryEventLog()
    events = history()
    log.append(events_to_table(events))
    profiles.apply(events)
    return SegmentService(FileDefinitionStore(tmp_path), profiles, log)


def members(service: SegmentService, definition: dict[str, object]) -> list[str]:
    service.put("s", definition)
    membership = service.members("s")
    assert membership is not None
    return membership.members


def test_bought_shoes_twice_in_90_days_but_not_in_the_last_30(segments: SegmentService) -> None:
    assert members(segments, SHOES_TWICE_NOT_LATELY) == ["fits"]


def test_trait_and_event_conditions(segments: SegmentService) -> None:
    assert members(segments, {"all": [{"trait": "order_count", "op": "gte", "value": 3}]}) == [
        "recent"
    ]
    assert members(segments, {"all": [{"trait": "consent.marketing_email", "value": True}]}) == [
        "fits"
    ]
    assert members(segments, {"all": [{"trait": "order_count", "op": "eq", "value": 0}]}) == [
        "browser"
    ]
    assert members(segments, {"any": [{"event": "order_completed", "item_id": "mug"},
                                      {"trait": "rfm.segment", "op": "in", "value": ["nothing"]}]}) == ["once"]  # fmt: skip
    assert members(
        segments, {"all": [{"event": "order_completed", "min_count": 0, "max_count": 0}]}
    ) == ["browser"]
    assert members(
        segments,
        {"all": [{"trait": "favourite_categories", "op": "contains", "value": "Home > Kitchen"}]},
    ) == ["once"]


def test_single_customer_view_agrees_with_the_base(segments: SegmentService) -> None:
    segments.put("shoes", SHOES_TWICE_NOT_LATELY)
    segments.put("big", {"all": [{"trait": "revenue", "op": "gt", "value": 100}]})
    for key in ("fits", "recent", "once", "old", "browser"):
        view = segments.profiles.view(key)
        assert view is not None
        mine = segments.segments_of(key, view.traits, view.consent)
        for segment_id in ("shoes", "big"):
            membership = segments.members(segment_id)
            assert membership is not None
            assert (segment_id in mine) == (key in membership.members), (key, segment_id)


def test_membership_follows_new_events(segments: SegmentService) -> None:
    assert members(segments, SHOES_TWICE_NOT_LATELY) == ["fits"]
    late = order(105 * DAY, "fits", None, "f3", ("boot", 1, 60.0))
    segments.events.append(events_to_table([late]))
    segments.profiles.apply([late])
    refreshed = segments.members("s")
    assert refreshed is not None and refreshed.members == []


def test_a_definition_stored_elsewhere_is_taken_up_on_reload(
    segments: SegmentService, tmp_path: Path
) -> None:
    elsewhere = FileDefinitionStore(tmp_path)  # another process's view of the same files
    elsewhere.put("segment", "shoes", SHOES_TWICE_NOT_LATELY)
    assert segments.get("shoes") is None
    segments.reload("shoes")
    membership = segments.members("shoes")
    assert membership is not None and membership.members == ["fits"]
    kept = segments.get("shoes")
    segments.reload("shoes")  # nothing new: the same definition stays in use
    assert segments.get("shoes") is kept
    elsewhere.put("segment", "shoes", {"all": [{"trait": "order_count", "op": "gte", "value": 99}]})
    segments.reload("shoes")
    membership = segments.members("shoes")
    assert membership is not None and membership.members == []
    elsewhere.delete("segment", "shoes")
    segments.reload("shoes")
    assert segments.get("shoes") is None and segments.members("shoes") is None
    assert not segments.defined()


@pytest.mark.parametrize(
    "definition",
    [
        {"event": []},
        {"event": "order_completed", "min_count": 10_001},
        {"trait": "attributes.city", "op": "in", "value": list(range(10_001))},
    ],
)
def test_the_documented_grammar_refuses_what_the_parser_refuses(definition: dict) -> None:
    import jsonschema_rs

    from retailor.api import routes  # noqa: F401 - registers the endpoints
    from retailor.api.endpoints import ENDPOINTS
    from retailor.api.openapi import build_openapi

    with pytest.raises(SegmentError):
        parse(definition)
    document = build_openapi(ENDPOINTS)
    put = document["paths"]["/v1/segments/{segment_id}"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for({**body, "components": document["components"]})
    assert not validator.is_valid(definition)
