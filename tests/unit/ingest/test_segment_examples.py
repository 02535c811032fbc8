"""The Segment mapping on worked examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retailor.ingest.segment import SegmentMappingError, to_native

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def track(event_name: str, /, **props: object) -> dict[str, object]:
    return {
        "type": "track",
        "event": event_name,
        "userId": "u",
        "messageId": "m",
        "properties": props,
    }


@pytest.mark.parametrize(
    ("name", "props", "kind", "expect"),
    [
        ("Product Viewed", {"product_id": "p1"}, "product_viewed", {"item_id": "p1"}),
        ("Product Added", {"sku": "s1", "quantity": 2}, "product_added", {"item_id": "s1", "quantity": 2}),
        ("Product Removed", {"id": 12}, "product_removed", {"item_id": "12"}),
        ("Products Searched", {"query": "mug"}, "products_searched", {"query": "mug"}),
        ("Product List Viewed", {"list_id": "l", "products": [{"product_id": "a"}]}, "product_list_viewed",
         {"items": [{"product_id": "a", "item_id": "a"}]}),
        ("Cart Viewed", {"products": [{"product_id": "a"}]}, "page_viewed", {"page_type": "cart"}),
        ("Checkout Started", {"order_id": 5, "revenue": 9}, "checkout_started", {"order_id": "5", "value": 9}),
        ("Order Completed", {"order_id": "o", "total": 12, "products": [{"product_id": "a", "price": 6, "quantity": 2}]},
         "order_completed", {"revenue": 12, "lines": [{"item_id": "a", "price": 6, "quantity": 2}]}),
        ("Order Refunded", {"order_id": "o", "total": 6, "products": [{"product_id": "a", "price": 6}]},
         "order_refunded", {"amount": 6, "lines": [{"item_id": "a", "price": 6, "quantity": 1}]}),
        ("Order Cancelled", {"order_id": "o"}, "order_refunded", {"cancelled": True}),
        ("Promotion Viewed", {"promotion_id": "summer"}, "offer_viewed", {"offer_id": "summer"}),
        ("Promotion Clicked", {"name": "summer"}, "offer_clicked", {"offer_id": "summer"}),
        ("Coupon Applied", {"coupon_name": "WINTER"}, "offer_redeemed", {"offer_id": "WINTER"}),
        ("Video Played", {"length": 3}, "custom", {"name": "Video Played", "length": 3}),
    ],
)  # fmt: skip
def test_track_events(
    name: str, props: dict[str, object], kind: str, expect: dict[str, object]
) -> None:
    native = to_native(track(name, **props), NOW)
    assert native["type"] == kind
    for key, value in expect.items():
        assert native["properties"][key] == value
    for key in props:
        assert key in native["properties"]  # every original property is kept


def test_envelope_fields() -> None:
    native = to_native(
        {"type": "identify", "userId": 42.0, "anonymousId": "a", "traits": {"email": "x@y.z"},
         "context": {"app": {"name": "shop"}}, "integrations": {"All": True}, "messageId": "m9"},
        NOW,
    )  # fmt: skip
    assert (
        native["customer_id"] == "42"
        and native["anonymous_id"] == "a"
        and native["event_id"] == "m9"
    )
    assert native["properties"] == {"traits": {"email": "x@y.z"}}
    assert native["channel"] == "app"
    assert native["context"]["segment"] == {"integrations": {"All": True}}


def test_derived_ids_are_stable_and_distinct() -> None:
    a = {"type": "track", "event": "X", "userId": "u", "timestamp": "2026-01-01T00:00:00Z"}
    b = {**a, "event": "Y"}
    assert to_native(a, NOW)["event_id"] == to_native(dict(a), NOW)["event_id"]
    assert to_native(a, NOW)["event_id"] != to_native(b, NOW)["event_id"]


def test_clock_skew_is_corrected() -> None:
    message = {"type": "page", "userId": "u", "originalTimestamp": "2026-06-01T11:00:00Z",
               "sentAt": "2026-06-01T11:10:00Z"}  # fmt: skip
    corrected = datetime.fromisoformat(to_native(message, NOW)["timestamp"])
    assert corrected == NOW - timedelta(minutes=10)


def test_page_screen_alias_group() -> None:
    assert (
        to_native({"type": "page", "userId": "u", "name": "Home", "context": {"page": {}}}, NOW)[
            "channel"
        ]
        == "web"
    )
    screen = to_native({"type": "screen", "userId": "u", "name": "Cart"}, NOW)
    assert (
        screen["type"] == "page_viewed"
        and screen["channel"] == "app"
        and screen["properties"]["screen"]
    )
    alias = to_native({"type": "alias", "userId": "u", "previousId": "old"}, NOW)
    assert alias["properties"] == {"previous_id": "old"}
    group = to_native({"type": "group", "userId": "u", "groupId": "g", "traits": {"n": 1}}, NOW)
    assert group["type"] == "custom" and group["properties"]["group_id"] == "g"


@pytest.mark.parametrize(
    "message",
    [[], {"type": "launch"}, {"type": "track"}, {"type": "track", "event": "X", "userId": {"a": 1}},
     {"type": "track", "event": "X", "properties": [1]}],
)  # fmt: skip
def test_unmappable_messages(message: object) -> None:
    with pytest.raises(SegmentMappingError):
        to_native(message, NOW)
