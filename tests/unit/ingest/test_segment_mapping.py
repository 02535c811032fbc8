"""The Segment Tracking API mapping (``to_native``) and the native validator.

Worked examples of every mapped Segment e-commerce v2 event and of the other message
types, then hypothesis properties of both mappers: valid e-commerce messages validate to
the mapped type keeping every property; arbitrary JSON is mapped or refused with
``SegmentMappingError``/``Invalid`` and nothing else; valid native events round-trip.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings, target
from hypothesis import strategies as st

from retailor.domain.events import Channel, ConsentPurpose, Event, EventType
from retailor.domain.ids import id_problem
from retailor.ingest.segment import TRACK_EVENTS, SegmentMappingError, to_native
from retailor.ingest.validation import EventValidator, Invalid

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
validator = EventValidator()
fast = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def track(name: str, props: dict[str, Any], **fields: Any) -> dict[str, Any]:
    message = {"type": "track", "event": name, "userId": "u-1", "messageId": "m-1"}
    return {**message, "properties": props, **fields}


def mapped(message: Any, implied: str | None = None) -> Event:
    """Map a Segment message and validate the result as the API does."""
    return validator.from_mapping(to_native(message, NOW, implied), NOW)


# --- worked examples: the e-commerce v2 events ----------------------------------------


@pytest.mark.parametrize(
    ("name", "props", "kind", "expect"),
    [
        (
            "Product Viewed",
            {"product_id": "p1", "price": 9.5, "brand": "Acme"},
            "product_viewed",
            {"item_id": "p1", "price": 9.5, "brand": "Acme"},
        ),
        ("Product Viewed", {"sku": "s-1"}, "product_viewed", {"item_id": "s-1"}),
        ("Product Viewed", {"id": 77}, "product_viewed", {"item_id": "77", "id": 77}),
        (
            "Product Added",
            {"product_id": 123, "quantity": 2, "cart_id": "c"},
            "product_added",
            {"item_id": "123", "quantity": 2, "cart_id": "c"},
        ),
        (
            "Product Removed",
            {"sku": "k", "quantity": 1},
            "product_removed",
            {"item_id": "k", "quantity": 1},
        ),
        (
            "Product List Viewed",
            {"list_id": "hot", "category": "Deals", "products": [{"product_id": "a"}, {"sku": 5}]},
            "product_list_viewed",
            {
                "list_id": "hot",
                "category": "Deals",
                "items": [{"product_id": "a", "item_id": "a"}, {"sku": 5, "item_id": "5"}],
            },
        ),
        (
            "Product List Filtered",
            {"list_id": "f", "products": []},
            "product_list_viewed",
            {"items": []},
        ),
        ("Products Searched", {"query": "red mug"}, "products_searched", {"query": "red mug"}),
        (
            "Cart Viewed",
            {"cart_id": "c9", "products": [{"product_id": "a", "price": 3}]},
            "page_viewed",
            {
                "page_type": "cart",
                "cart_id": "c9",
                "items": [{"product_id": "a", "price": 3, "item_id": "a"}],
            },
        ),
        (
            "Checkout Started",
            {"order_id": 5, "revenue": 19.0, "products": [{"sku": "a"}]},
            "checkout_started",
            {
                "order_id": "5",
                "value": 19.0,
                "revenue": 19.0,
                "items": [{"sku": "a", "item_id": "a"}],
            },
        ),
        ("Checkout Started", {"value": 4, "total": 9}, "checkout_started", {"value": 4}),
        ("Checkout Started", {"total": 9}, "checkout_started", {"value": 9}),
        (
            "Order Refunded",
            {
                "order_id": "o-1",
                "total": 6,
                "currency": "EUR",
                "products": [{"product_id": "a", "price": 6}],
            },
            "order_refunded",
            {
                "order_id": "o-1",
                "amount": 6,
                "lines": [{"item_id": "a", "price": 6, "quantity": 1}],
            },
        ),
        ("Order Refunded", {"order_id": 8}, "order_refunded", {"order_id": "8", "lines": []}),
        (
            "Order Cancelled",
            {"order_id": "o-2", "total": 12},
            "order_refunded",
            {"order_id": "o-2", "amount": 12, "cancelled": True},
        ),
        (
            "Promotion Viewed",
            {"promotion_id": "summer", "creative": "banner"},
            "offer_viewed",
            {"offer_id": "summer", "creative": "banner"},
        ),
        ("Promotion Viewed", {"id": 31}, "offer_viewed", {"offer_id": "31"}),
        ("Promotion Clicked", {"name": "winter"}, "offer_clicked", {"offer_id": "winter"}),
        (
            "Coupon Applied",
            {"coupon_id": "C1", "coupon_name": "Ten off", "discount": 10},
            "offer_redeemed",
            {"offer_id": "C1", "discount": 10},
        ),
        ("Coupon Applied", {"coupon_name": "WINTER"}, "offer_redeemed", {"offer_id": "WINTER"}),
        ("Coupon Applied", {"coupon": "SPRING"}, "offer_redeemed", {"offer_id": "SPRING"}),
    ],
)
def test_ecommerce_events_map_to_their_type(
    name: str, props: dict[str, Any], kind: str, expect: dict[str, Any]
) -> None:
    event = mapped(track(name, props))
    assert event.type == kind == TRACK_EVENTS[name][0]
    for key, value in expect.items():
        assert event.properties[key] == value, key
    assert set(props) <= set(event.properties)  # every original property is kept
    assert event.properties["segment_event"] == name
    assert (event.event_id, event.customer_id) == ("m-1", "u-1")


def test_order_completed_lines_come_from_products() -> None:
    props = {
        "order_id": 1001,
        "total": 31.0,
        "revenue": 27.5,
        "coupon": "WINTER",
        "discount": 2.5,
        "currency": "USD",
        "products": [
            {"product_id": "sku-9", "quantity": 2, "price": 12.5, "name": "Mug"},
            {"sku": "sku-3", "price": 5},  # no quantity: one
            {"id": 42, "quantity": 3, "price": 0},
        ],
    }
    event = mapped(track("Order Completed", props))
    assert event.type is EventType.ORDER_COMPLETED
    assert event.properties["order_id"] == "1001"
    assert event.properties["lines"] == [
        {"item_id": "sku-9", "price": 12.5, "quantity": 2},
        {"item_id": "sku-3", "price": 5, "quantity": 1},
        {"item_id": "42", "price": 0, "quantity": 3},
    ]
    assert event.properties["revenue"] == 27.5  # revenue wins over total
    assert event.properties["products"] == props["products"]  # originals kept
    assert {k: event.properties[k] for k in ("coupon", "discount", "currency", "total")} == {
        "coupon": "WINTER",
        "discount": 2.5,
        "currency": "USD",
        "total": 31.0,
    }
    total_only = mapped(
        track("Order Completed", {k: v for k, v in props.items() if k != "revenue"})
    )
    assert total_only.properties["revenue"] == 31.0


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        ({"products": [{"product_id": "a", "price": 1}]}, "order_id"),
        ({"order_id": "o"}, "lines"),  # no products: an order needs at least one line
        ({"order_id": "o", "products": [{"product_id": "a"}]}, "price"),
        ({"order_id": "o", "products": [{"price": 1}]}, "item_id"),
        ({"order_id": "o", "products": [{"product_id": "a", "price": -1}]}, "price"),
        (
            {"order_id": "o", "products": [{"product_id": "a", "price": 1, "quantity": 0}]},
            "quantity",
        ),
    ],
)
def test_an_unusable_order_is_refused_with_the_field_named(
    props: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Invalid, match=reason):
        mapped(track("Order Completed", props))


@pytest.mark.parametrize(
    ("name", "props", "missing"),
    [
        ("Product Viewed", {"name": "no id"}, "item_id"),
        ("Products Searched", {}, "query"),
        ("Promotion Clicked", {"creative": "x"}, "offer_id"),
        ("Coupon Applied", {"discount": 1}, "offer_id"),
        ("Order Refunded", {"total": 3}, "order_id"),
    ],
)
def test_mapped_events_without_their_key_are_invalid(
    name: str, props: dict[str, Any], missing: str
) -> None:
    with pytest.raises(Invalid, match=missing):
        mapped(track(name, props))


@pytest.mark.parametrize("name", ["Order Refunded", "Order Cancelled"])
def test_refunds_keep_the_original_revenue_property(name: str) -> None:
    props = {"order_id": "o-1", "revenue": 10.0, "total": 12.0}
    event = mapped(track(name, props))
    assert event.properties.get("revenue") == 10.0


# --- custom events and the other message types ----------------------------------------


@pytest.mark.parametrize("name", ["Wishlist Shared", "product viewed", "Order Shipped", "x"])
def test_other_track_events_are_custom_under_their_name(name: str) -> None:
    event = mapped(track(name, {"list": "xmas", "size": 3, "nested": {"a": [1, 2]}}))
    assert event.type is EventType.CUSTOM
    assert event.properties == {"list": "xmas", "size": 3, "nested": {"a": [1, 2]}, "name": name}


def test_a_custom_events_own_name_property_survives() -> None:
    native = to_native(track("Button Clicked", {"name": "signup"}), NOW)
    assert native["properties"]["name"] == "Button Clicked"
    assert "signup" in json.dumps(native)  # the sent value is kept somewhere


def test_identify() -> None:
    event = mapped(
        {
            "type": "identify",
            "userId": 42,
            "anonymousId": "dev-1",
            "messageId": "m-i",
            "traits": {"email": "ada@example.com", "plan": "gold"},
        }
    )
    assert event.type is EventType.IDENTIFY
    assert (event.customer_id, event.anonymous_id) == ("42", "dev-1")
    assert event.properties == {"traits": {"email": "ada@example.com", "plan": "gold"}}
    # Segment clients may put traits in context.traits instead
    from_context = mapped({"type": "identify", "userId": "u", "context": {"traits": {"a": 1}}})
    assert from_context.properties == {"traits": {"a": 1}}
    assert mapped({"type": "identify", "anonymousId": "anon"}).properties == {"traits": {}}


@pytest.mark.parametrize("traits", [5, "ab", [1], True])
def test_identify_with_non_object_context_traits_is_refused(traits: Any) -> None:
    with pytest.raises((SegmentMappingError, Invalid)):
        mapped({"type": "identify", "userId": "u", "context": {"traits": traits}})


def test_alias() -> None:
    event = mapped({"type": "alias", "userId": "u-1", "previousId": 900, "messageId": "m-a"})
    assert event.type is EventType.ALIAS
    assert event.customer_id == "u-1" and event.properties == {"previous_id": "900"}
    with pytest.raises(Invalid, match="customer_id"):
        mapped({"type": "alias", "anonymousId": "a", "previousId": "p"})
    with pytest.raises(Invalid, match="previous_id"):
        mapped({"type": "alias", "userId": "u"})


def test_page_and_screen() -> None:
    page = mapped(
        {
            "type": "page",
            "userId": "u",
            "name": "Home",
            "category": "Shop",
            "properties": {"url": "https://shop.example/", "title": "Shop"},
            "context": {"page": {"path": "/"}},
        }
    )
    assert page.type is EventType.PAGE_VIEWED and page.channel == "web"
    assert page.properties == {
        "url": "https://shop.example/",
        "title": "Shop",
        "name": "Home",
        "category": "Shop",
    }
    screen = mapped({"type": "screen", "userId": "u", "name": "Basket", "properties": {"n": 1}})
    assert screen.type is EventType.PAGE_VIEWED and screen.channel == "app"
    assert screen.properties == {"n": 1, "name": "Basket", "screen": True}
    kiosk = mapped({"type": "screen", "userId": "u", "context": {"channel": "kiosk"}})
    assert kiosk.channel == "kiosk"  # an explicit channel is kept


def test_group_is_a_custom_event() -> None:
    event = mapped({"type": "group", "userId": "u", "groupId": 7, "traits": {"name": "Acme"}})
    assert event.type is EventType.CUSTOM
    assert event.properties == {"name": "group", "group_id": "7", "traits": {"name": "Acme"}}


@pytest.mark.parametrize(
    ("context", "channel"),
    [
        ({"channel": "store"}, "store"),
        ({"channel": "browser"}, "web"),
        ({"channel": "mobile"}, "app"),
        ({"channel": "server", "app": {"name": "shop"}}, "app"),
        ({"device": {"type": "ios"}}, "app"),
        ({"userAgent": "Mozilla/5.0"}, "web"),
        ({"page": {"url": "https://x"}}, "web"),
        ({"channel": "server"}, None),
        ({}, None),
    ],
)
def test_channel(context: dict[str, Any], channel: str | None) -> None:
    event = mapped(track("Product Viewed", {"product_id": "p"}, context=context))
    assert event.channel == channel
    assert event.context == context


# --- the envelope -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [(42, "42"), (42.0, "42"), (4.5, "4.5"), (10**20, str(10**20)), ("007", "007"), (0, "0")],
)
def test_numeric_ids_become_strings(user_id: Any, expected: str) -> None:
    event = mapped(track("Product Viewed", {"product_id": 1}, userId=user_id, anonymousId=user_id))
    assert event.customer_id == event.anonymous_id == expected
    assert event.properties["item_id"] == "1"


@pytest.mark.parametrize("bad", [{"a": 1}, [1], True])
def test_ids_of_other_types_are_refused(bad: Any) -> None:
    with pytest.raises(SegmentMappingError, match="id must be"):
        to_native(track("Product Viewed", {"product_id": "p"}, userId=bad), NOW)


def test_store_session_and_decision_ids() -> None:
    message = track(
        "Product Viewed",
        {"product_id": "p", "store_id": 12, "decision_id": "d-1"},
        context={"session_id": "s-9", "store_id": "ignored: properties win"},
    )
    event = mapped(message)
    assert (event.store_id, event.session_id, event.decision_id) == ("12", "s-9", "d-1")


def test_message_id_is_the_event_id() -> None:
    assert mapped(track("Product Viewed", {"product_id": "p"}, messageId="abc")).event_id == "abc"
    assert mapped(track("Product Viewed", {"product_id": "p"}, messageId=99)).event_id == "99"


def test_a_missing_message_id_is_derived_from_the_content() -> None:
    message: dict[str, Any] = {
        "type": "track",
        "event": "Product Viewed",
        "userId": "u",
        "timestamp": "2026-05-01T10:00:00Z",
        "properties": {"product_id": "p", "price": 2},
    }
    first = to_native(message, NOW)["event_id"]
    assert first.startswith("segment-")
    same = json.loads(json.dumps(message))  # an equal copy, as a retry would be
    reordered = dict(reversed(list(message.items())))
    later = NOW + timedelta(minutes=5)  # a retry arrives later
    assert to_native(same, NOW)["event_id"] == first
    assert to_native(reordered, later)["event_id"] == first
    assert mapped(message).event_id == first
    for change in (
        {"userId": "v"},
        {"properties": {"product_id": "q", "price": 2}},
        {"timestamp": "2026-05-01T10:00:01Z"},
    ):
        assert to_native({**message, **change}, NOW)["event_id"] != first
    # an empty or null messageId counts as missing
    for empty in ("", None):
        assert to_native({**message, "messageId": empty}, NOW)["event_id"].startswith("segment-")


def test_a_retry_with_a_new_sent_at_keeps_the_derived_id() -> None:
    message = {"type": "track", "event": "X", "userId": "u", "timestamp": "2026-05-01T10:00:00Z"}
    first = to_native({**message, "sentAt": "2026-05-01T10:00:01Z"}, NOW)["event_id"]
    retry = to_native({**message, "sentAt": "2026-05-01T10:00:31Z"}, NOW)["event_id"]
    assert retry == first


def test_clock_skew_is_corrected_from_original_timestamp_and_sent_at() -> None:
    # by the device's clock (whatever it says) the event happened 10 minutes before sending
    message = {
        "type": "page",
        "userId": "u",
        "originalTimestamp": "2026-06-01T09:00:00Z",
        "sentAt": "2026-06-01T09:10:00Z",
    }
    native = to_native(message, NOW)
    assert datetime.fromisoformat(native["timestamp"]) == NOW - timedelta(minutes=10)
    assert mapped(message).timestamp == NOW - timedelta(minutes=10)
    # a device clock running ahead is corrected the same way
    ahead = {
        **message,
        "originalTimestamp": "2026-06-01T15:00:00+02:00",
        "sentAt": "2026-06-01T13:00:30Z",
    }
    assert mapped(ahead).timestamp == NOW - timedelta(seconds=30)
    # naive times are UTC
    naive = {**message, "originalTimestamp": "2026-06-01T09:00:00", "sentAt": "2026-06-01T09:00:05"}
    assert mapped(naive).timestamp == NOW - timedelta(seconds=5)


def test_timestamp_wins_and_original_timestamp_alone_is_used_as_is() -> None:
    both = {
        "type": "page",
        "userId": "u",
        "timestamp": "2026-05-01T00:00:00Z",
        "originalTimestamp": "2026-01-01T00:00:00Z",
        "sentAt": "2026-01-01T00:00:09Z",
    }
    assert mapped(both).timestamp == datetime(2026, 5, 1, tzinfo=UTC)
    alone = {"type": "page", "userId": "u", "originalTimestamp": "2026-05-01T08:00:00+02:00"}
    assert mapped(alone).timestamp == datetime(2026, 5, 1, 6, tzinfo=UTC)
    assert mapped({"type": "page", "userId": "u"}).timestamp == NOW  # none: received_at


@pytest.mark.parametrize(
    ("original", "sent"),
    [
        ("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"),
        ("9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z"),
    ],
)
def test_absurd_clock_skew_is_refused(original: str, sent: str) -> None:
    with pytest.raises((SegmentMappingError, Invalid)):
        mapped({"type": "page", "userId": "u", "originalTimestamp": original, "sentAt": sent})


def test_unknown_top_level_fields_are_kept_under_context_segment() -> None:
    message = track(
        "Product Viewed",
        {"product_id": "p"},
        context={"ip": "10.0.0.1", "library": {"name": "analytics-python"}},
        integrations={"All": False},
        channel="server",
        version=2,
        writeKey="rk_ingest_x",
        receivedAt="2026-06-01T12:00:00Z",
        sentAt="2026-06-01T12:00:00Z",
    )
    event = mapped(message)
    assert event.context == {
        "ip": "10.0.0.1",
        "library": {"name": "analytics-python"},
        "segment": {"integrations": {"All": False}, "channel": "server", "version": 2},
    }
    plain = mapped(track("Product Viewed", {"product_id": "p"}, context={"ip": "1"}))
    assert plain.context == {"ip": "1"}  # nothing unknown: no context.segment


def test_implied_type_of_the_single_message_endpoints() -> None:
    assert mapped({"userId": "u", "traits": {}}, "identify").type is EventType.IDENTIFY
    assert mapped({"type": "page", "userId": "u"}, "page").type is EventType.PAGE_VIEWED
    with pytest.raises(SegmentMappingError, match="takes track messages"):
        to_native({"type": "identify", "userId": "u"}, NOW, "track")


@pytest.mark.parametrize(
    "message",
    [
        [],
        "track",
        None,
        3,
        {"type": "launch", "userId": "u"},
        {"userId": "u"},
        {"type": "track", "userId": "u"},
        {"type": "track", "event": "", "userId": "u"},
        {"type": "track", "event": 5, "userId": "u"},
        {"type": "track", "event": "X", "userId": "u", "properties": [1]},
        {"type": "track", "event": "X", "userId": "u", "context": "web"},
        {"type": "identify", "userId": "u", "traits": "gold"},
        {
            "type": "track",
            "event": "Product Viewed",
            "userId": "u",
            "properties": {"product_id": {}},
        },
        {"type": "track", "event": "X", "userId": "u", "messageId": ["m"]},
    ],
)
def test_unmappable_messages_are_refused(message: Any) -> None:
    with pytest.raises(SegmentMappingError):
        to_native(message, NOW)


def test_a_message_naming_no_one_is_invalid() -> None:
    with pytest.raises(Invalid, match="names no one"):
        mapped({"type": "track", "event": "X", "userId": "", "anonymousId": None})


# --- hypothesis: strategies ---------------------------------------------------------

# ids a client may send: not blank, no control or invisible format characters
id_texts = st.text(min_size=1, max_size=40).filter(lambda text: id_problem(text) is None)
ids = id_texts | st.integers(min_value=0, max_value=10**12)
idents = id_texts
prices = st.floats(min_value=0, max_value=1e6, allow_nan=False) | st.integers(0, 10**6)
quantities = st.integers(1, 1000) | st.floats(min_value=0.001, max_value=1e4)
words = st.text(max_size=30)
currencies = st.sampled_from(["USD", "EUR", "GBP", "JPY"])
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def merged(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda dicts: {k: v for d in dicts for k, v in d.items()})


def json_like(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
        max_leaves=25,
    )


product_fields = {
    "sku": id_texts,
    "name": words,
    "brand": words,
    "variant": words,
    "category": words,
    "url": words,
    "position": st.integers(1, 50),
    "coupon": words,
}


@st.composite
def products(draw: st.DrawFn, *, priced: bool = True) -> dict[str, Any]:
    product = {"product_id": draw(ids), **draw(optional(**product_fields))}
    if draw(st.booleans()):
        product["quantity"] = draw(quantities)
    if priced or draw(st.booleans()):
        product["price"] = draw(prices)
    return product


def product_lists(*, priced: bool = True, min_size: int = 0) -> st.SearchStrategy[list[Any]]:
    return st.lists(products(priced=priced), min_size=min_size, max_size=5)


order_fields = {
    "checkout_id": words,
    "affiliation": words,
    "total": prices,
    "subtotal": prices,
    "shipping": prices,
    "tax": prices,
    "discount": prices,
    "coupon": words,
    "currency": currencies,
}
promotion_fields = {"creative": words, "name": words, "position": words}

# The properties of each mapped event, after the Segment e-commerce v2 spec.
EVENT_PROPERTIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "Product Viewed": merged(products(priced=False), optional(currency=currencies, value=prices)),
    "Product Added": merged(products(priced=False), optional(cart_id=ids)),
    "Product Removed": merged(products(priced=False), optional(cart_id=ids)),
    "Product List Viewed": st.fixed_dictionaries(
        {"products": product_lists(priced=False)}, optional={"list_id": words, "category": words}
    ),
    "Product List Filtered": st.fixed_dictionaries(
        {"products": product_lists(priced=False)},
        optional={
            "list_id": words,
            "category": words,
            "filters": st.lists(st.fixed_dictionaries({"type": words, "value": words})),
            "sorts": st.lists(st.fixed_dictionaries({"type": words, "value": words})),
        },
    ),
    "Products Searched": st.fixed_dictionaries({"query": words}),
    "Cart Viewed": st.fixed_dictionaries(
        {"products": product_lists(priced=False)}, optional={"cart_id": ids}
    ),
    "Checkout Started": st.fixed_dictionaries(
        {"products": product_lists(priced=False)},
        optional={"order_id": ids, "value": prices, "revenue": prices, **order_fields},
    ),
    "Order Completed": st.fixed_dictionaries(
        {"order_id": ids, "products": product_lists(min_size=1)},
        optional={"revenue": prices, **order_fields},
    ),
    # 'revenue' is left out of refunds and cancellations while the xfail
    # test_refunds_keep_the_original_revenue_property stands.
    "Order Refunded": st.fixed_dictionaries(
        {"order_id": ids},
        optional={"total": prices, "currency": currencies, "products": product_lists(priced=False)},
    ),
    "Order Cancelled": st.fixed_dictionaries(
        {"order_id": ids}, optional={"products": product_lists(priced=False), **order_fields}
    ),
    "Promotion Viewed": st.fixed_dictionaries({"promotion_id": ids}, optional=promotion_fields),
    "Promotion Clicked": st.fixed_dictionaries({"promotion_id": ids}, optional=promotion_fields),
    "Coupon Applied": st.fixed_dictionaries(
        {"coupon_id": ids},
        optional={"order_id": ids, "cart_id": ids, "coupon_name": words, "discount": prices},
    ),
}


def test_every_mapped_event_has_a_strategy() -> None:
    assert set(EVENT_PROPERTIES) == set(TRACK_EVENTS)


@st.composite
def ecommerce_messages(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(EVENT_PROPERTIES)))
    props = draw(EVENT_PROPERTIES[name])
    extra = draw(st.dictionaries(st.sampled_from(["x_note", "x_flag", "x_n"]), json_scalars))
    message: dict[str, Any] = {"type": "track", "event": name, "properties": {**props, **extra}}
    who = draw(st.sampled_from(["user", "anonymous", "both"]))
    if who != "anonymous":
        message["userId"] = draw(ids)
    if who != "user":
        message["anonymousId"] = draw(ids)
    message.update(
        draw(
            optional(
                messageId=id_texts | st.integers(0, 2**53),
                timestamp=st.datetimes(datetime(1990, 1, 1), datetime(2026, 5, 31)).map(
                    lambda d: d.isoformat() + "Z"
                ),
                context=optional(ip=words, locale=words, library=st.just({"name": "x"})),
                integrations=st.dictionaries(words, st.booleans(), max_size=2),
            )
        )
    )
    return message


MESSAGE_KINDS = ["track", "identify", "page", "screen", "alias", "group"]
SEGMENT_KEYS = [
    "type",
    "event",
    "messageId",
    "userId",
    "anonymousId",
    "timestamp",
    "sentAt",
    "originalTimestamp",
    "properties",
    "context",
    "name",
    "category",
    "previousId",
    "groupId",
    "products",
    "product_id",
    "sku",
    "id",
    "order_id",
    "price",
    "quantity",
    "revenue",
    "total",
    "value",
    "promotion_id",
    "coupon_id",
    "store_id",
    "session_id",
    "decision_id",
    "channel",
    "app",
    "device",
    "page",
    "userAgent",
]
# Keys that reach the mapper's interesting paths, mixed with random ones; no 'traits',
# which would reach the non-object context.traits crash (see the xfail tests).
safe_keys = st.sampled_from(SEGMENT_KEYS) | st.text(max_size=8).filter(lambda k: k != "traits")
all_keys = st.sampled_from([*SEGMENT_KEYS, "traits"]) | st.text(max_size=8)
safe_json = json_like(safe_keys)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))])
# From 1900 to 2100 neither the clock-skew correction nor the conversion to UTC can overflow.
sane_times = st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=offsets).map(
    datetime.isoformat
)
any_times = st.datetimes(timezones=st.none() | offsets).map(datetime.isoformat) | st.sampled_from(
    ["0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-11:00"]
)
mostly = st.sampled_from([True] * 9 + [False])  # (hypothesis favours 0 in integers(0, 9))


@st.composite
def segment_like(
    draw: st.DrawFn, keys: st.SearchStrategy[str], times: st.SearchStrategy[str], *, safe: bool
) -> dict[str, Any]:
    """A message-shaped object: each field plausible or an arbitrary JSON value."""
    values = json_like(keys)
    context_traits = st.dictionaries(keys, values, max_size=3) if safe else values
    objects = st.dictionaries(keys, values, max_size=5)
    message = draw(st.dictionaries(keys, values, max_size=2))
    fields: dict[str, st.SearchStrategy[Any]] = {
        "type": st.sampled_from([*MESSAGE_KINDS, "launch"]),
        "event": st.sampled_from([*sorted(TRACK_EVENTS), "Wishlist Shared", ""]),
        "userId": ids,
        "anonymousId": ids,
        "messageId": ids,
        "previousId": ids,
        "groupId": ids,
        "name": words,
        "category": words,
        "timestamp": times,
        "originalTimestamp": times,
        "sentAt": times,
        "traits": objects,
        "context": merged(
            objects,
            optional(
                channel=st.sampled_from(["web", "mobile", "browser", "tv"]),
                app=objects,
                page=objects,
                userAgent=words,
                store_id=ids,
                traits=context_traits,
            ),
        ),
        "properties": merged(st.one_of(*EVENT_PROPERTIES.values()), objects),
    }
    for key, plausible in fields.items():
        if key in ("type", "event", "userId") or draw(st.booleans()):
            message[key] = draw(plausible if draw(mostly) else values)
    return message


def _maps_or_refuses(value: Any, implied: str | None) -> str:
    try:
        native = to_native(value, NOW, implied)
    except SegmentMappingError as exc:
        assert str(exc)
        return "refused"
    assert isinstance(native, dict)
    try:
        event = validator.from_mapping(native, NOW)
    except Invalid as exc:
        assert str(exc)
        return "invalid"
    assert isinstance(event, Event)
    assert msgspec.json.decode(msgspec.json.encode(event))["event_id"] == event.event_id
    return "event"


# --- hypothesis: the Segment mapper ---------------------------------------------------


@fast
@given(ecommerce_messages())
def test_valid_ecommerce_messages_validate_to_the_mapped_type(message: dict[str, Any]) -> None:
    event = validator.from_mapping(to_native(message, NOW), NOW)
    assert event.type == TRACK_EVENTS[message["event"]][0]
    assert event.customer_id == (str(message["userId"]) if "userId" in message else None)
    assert event.anonymous_id == (str(message["anonymousId"]) if "anonymousId" in message else None)
    assert set(message["properties"]) <= set(event.properties)
    assert event.properties["segment_event"] == message["event"]
    if "messageId" in message:
        assert event.event_id == str(message["messageId"])
    else:  # derived: the same message maps to the same id
        assert event.event_id == to_native(json.loads(json.dumps(message)), NOW)["event_id"]
    orders = (EventType.CHECKOUT_STARTED, EventType.ORDER_COMPLETED, EventType.ORDER_REFUNDED)
    if event.type in orders and "order_id" in message["properties"]:
        assert event.properties["order_id"] == str(message["properties"]["order_id"])
    if event.type is EventType.ORDER_COMPLETED:
        assert [line["item_id"] for line in event.properties["lines"]] == [
            str(p["product_id"]) for p in message["properties"]["products"]
        ]


@fast
@given(
    safe_json | segment_like(safe_keys, sane_times, safe=True),
    st.sampled_from([None, *MESSAGE_KINDS[:5]]),
)
def test_arbitrary_json_is_mapped_or_refused(value: Any, implied: str | None) -> None:
    outcome = _maps_or_refuses(value, implied)
    target(1.0 if outcome == "event" else 0.0, label="validated events")


@fast
@given(
    json_like(all_keys) | segment_like(all_keys, any_times, safe=False),
    st.sampled_from([None, *MESSAGE_KINDS[:5]]),
)
@example({"type": "identify", "userId": "u", "context": {"traits": 5}}, None)
@example(
    {
        "type": "page",
        "userId": "u",
        "originalTimestamp": "0001-01-01T00:00:00",
        "sentAt": "9999-12-31T00:00:00",
    },
    None,
)
def test_arbitrary_json_including_known_crashes_is_mapped_or_refused(
    value: Any, implied: str | None
) -> None:
    _maps_or_refuses(value, implied)


# --- hypothesis: the native validator -------------------------------------------------

FIELDS = [
    "event_id",
    "type",
    "timestamp",
    "customer_id",
    "anonymous_id",
    "channel",
    "store_id",
    "session_id",
    "decision_id",
    "properties",
    "context",
]
PROPERTY_KEYS = [
    "item_id",
    "lines",
    "query",
    "name",
    "offer_id",
    "points",
    "purposes",
    "previous_id",
    "order_id",
    "traits",
    "items",
    "quantity",
    "price",
]
native_json = json_like(st.sampled_from(FIELDS + PROPERTY_KEYS) | st.text(max_size=8))
channels = st.sampled_from([c.value for c in Channel])
extras = st.dictionaries(
    st.text(max_size=8).map(lambda k: "x_" + k), json_like(st.text(max_size=8)), max_size=4
)
line = st.fixed_dictionaries({"item_id": idents, "quantity": quantities, "price": prices})

VALID_PROPERTIES: dict[EventType, st.SearchStrategy[dict[str, Any]]] = {
    EventType.IDENTIFY: st.fixed_dictionaries(
        {"traits": st.dictionaries(st.text(max_size=8), json_scalars)}
    ),
    EventType.ALIAS: st.fixed_dictionaries({"previous_id": idents}),
    EventType.PAGE_VIEWED: optional(url=words, title=words, page_type=words),
    EventType.PRODUCT_VIEWED: st.fixed_dictionaries(
        {"item_id": idents}, optional={"price": prices}
    ),
    EventType.PRODUCT_LIST_VIEWED: optional(
        list_id=words, items=st.lists(st.fixed_dictionaries({"item_id": words}))
    ),
    EventType.PRODUCTS_SEARCHED: st.fixed_dictionaries({"query": words}),
    EventType.PRODUCT_ADDED: st.fixed_dictionaries(
        {"item_id": idents}, optional={"quantity": quantities}
    ),
    EventType.PRODUCT_REMOVED: st.fixed_dictionaries({"item_id": idents}),
    EventType.CHECKOUT_STARTED: optional(order_id=words, value=prices),
    EventType.ORDER_COMPLETED: st.fixed_dictionaries(
        {"order_id": idents, "lines": st.lists(line, min_size=1, max_size=4)},
        optional={"revenue": prices, "discount": prices, "coupon": words, "currency": currencies},
    ),
    EventType.ORDER_REFUNDED: st.fixed_dictionaries(
        {"order_id": idents}, optional={"lines": st.lists(line, max_size=3), "amount": prices}
    ),
    EventType.LOYALTY_ENROLLED: optional(card_id=words, tier=words, program=words),
    EventType.POINTS_EARNED: st.fixed_dictionaries({"points": quantities}),
    EventType.POINTS_REDEEMED: st.fixed_dictionaries({"points": quantities}),
    EventType.OFFER_VIEWED: st.fixed_dictionaries({"offer_id": idents}),
    EventType.OFFER_CLICKED: st.fixed_dictionaries({"offer_id": idents}),
    EventType.OFFER_REDEEMED: st.fixed_dictionaries({"offer_id": idents}),
    EventType.CONSENT_UPDATED: st.fixed_dictionaries(
        {
            "purposes": st.dictionaries(
                st.sampled_from([p.value for p in ConsentPurpose]), st.booleans(), min_size=1
            )
        }
    ),
    EventType.CUSTOM: st.fixed_dictionaries({"name": st.text(min_size=1, max_size=60)}),
}


def test_every_event_type_has_a_valid_properties_strategy() -> None:
    assert set(VALID_PROPERTIES) == set(EventType)


@st.composite
def native_like(draw: st.DrawFn, times: st.SearchStrategy[Any]) -> dict[str, Any]:
    """An event-shaped object: each field valid or an arbitrary JSON value."""
    kind = draw(st.sampled_from(list(EventType)))
    event = draw(st.dictionaries(st.sampled_from([*FIELDS, "extra"]), native_json, max_size=1))
    fields: dict[str, st.SearchStrategy[Any]] = {
        "event_id": idents,
        "type": st.just(kind.value),
        "customer_id": idents,
        "anonymous_id": idents,
        "timestamp": times,
        "channel": channels,
        "store_id": idents,
        "properties": merged(
            VALID_PROPERTIES[kind],
            st.dictionaries(st.sampled_from(PROPERTY_KEYS), native_json, max_size=1),
        ),
        "context": st.dictionaries(st.text(max_size=8), native_json, max_size=3),
    }
    for key, valid in fields.items():
        if key in ("event_id", "type", "customer_id", "properties") or draw(st.booleans()):
            event[key] = draw(valid if draw(mostly) else native_json)
    return event


def _validates_or_refuses(value: Any) -> str:
    raw = msgspec.json.encode(value)
    outcomes = []
    for validate in (
        lambda: validator.from_mapping(value, NOW),
        lambda: validator.from_json(raw, NOW),
    ):
        try:
            event = validate()
        except Invalid as exc:
            assert str(exc)
            outcomes.append("invalid")
        else:
            assert isinstance(event, Event)
            outcomes.append("event")
    return outcomes[0]


sane_numbers = st.integers(-(2**63), 2**64) | st.floats(allow_nan=False, allow_infinity=False)


@fast
@given(native_json | native_like(sane_times | sane_numbers))
def test_native_validation_returns_an_event_or_raises_invalid(value: Any) -> None:
    outcome = _validates_or_refuses(value)
    target(1.0 if outcome == "event" else 0.0, label="validated events")


@fast
@given(native_like(any_times))
@example(
    {
        "event_id": "e",
        "type": "page_viewed",
        "customer_id": "c",
        "timestamp": "0001-01-01T00:00:00+01:00",
    }
)
def test_native_validation_of_any_timestamp_returns_an_event_or_raises_invalid(
    value: Any,
) -> None:
    _validates_or_refuses(value)


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("how", ["mapping", "json"])
def test_a_timestamp_out_of_range_in_utc_is_invalid(stamp: str, how: str) -> None:
    wire = {"event_id": "e", "type": "page_viewed", "customer_id": "c", "timestamp": stamp}
    with pytest.raises(Invalid):
        if how == "mapping":
            validator.from_mapping(wire, NOW)
        else:
            validator.from_json(msgspec.json.encode(wire), NOW)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(EventType)))
    ident = st.text(min_size=1, max_size=256).filter(lambda text: id_problem(text) is None)
    wire: dict[str, Any] = {
        "event_id": draw(ident),
        "type": kind.value,
        "properties": {**draw(VALID_PROPERTIES[kind]), **draw(extras)},
    }
    who = (
        "customer"
        if kind is EventType.ALIAS
        else draw(st.sampled_from(["customer", "anon", "both"]))
    )
    if who != "anon":
        wire["customer_id"] = draw(ident)
    if who != "customer":
        wire["anonymous_id"] = draw(ident)
    wire.update(
        draw(
            optional(
                timestamp=st.datetimes(
                    datetime(1971, 1, 1),
                    datetime(2026, 6, 1),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3))]),
                ),
                channel=channels,
                store_id=ident,
                session_id=ident,
                decision_id=ident,
                context=st.dictionaries(st.text(max_size=8), json_scalars, max_size=3),
            )
        )
    )
    return wire


@fast
@given(valid_events(), st.sampled_from(["mapping", "json"]))
def test_valid_native_events_round_trip(wire: dict[str, Any], how: str) -> None:
    raw = msgspec.json.encode(wire)
    event = validator.from_mapping(wire, NOW) if how == "mapping" else validator.from_json(raw, NOW)
    assert event.event_id == wire["event_id"]
    assert event.type.value == wire["type"]
    assert event.customer_id == wire.get("customer_id")
    assert event.anonymous_id == wire.get("anonymous_id")
    assert event.properties == wire["properties"]
    assert event.context == wire.get("context", {})
    assert (event.store_id, event.session_id, event.decision_id) == (
        wire.get("store_id"),
        wire.get("session_id"),
        wire.get("decision_id"),
    )
    assert event.channel == wire.get("channel")
    assert event.timestamp == wire.get("timestamp", NOW)
    assert event.timestamp.utcoffset() == timedelta(0) and event.received_at == NOW
    # and what is stored decodes back to the same event
    assert msgspec.json.decode(msgspec.json.encode(event), type=Event) == event
