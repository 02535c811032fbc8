"""Property tests of the format mappers: native validation and the Segment mapping."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from retailor.domain.events import Event, EventType
from retailor.ingest.segment import TRACK_EVENTS, SegmentMappingError, to_native
from retailor.ingest.validation import EventValidator, Invalid

NOW = datetime(2026, 6, 1, tzinfo=UTC)
validator = EventValidator()

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
ids = st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s != "") | st.integers(
    0, 10**9
)
prices = st.floats(min_value=0, max_value=10_000, allow_nan=False)
quantities = st.integers(1, 50)
extra_props = st.dictionaries(
    st.sampled_from(["brand", "color", "url", "variant", "note"]), json_scalars, max_size=3
)
products = st.lists(
    st.fixed_dictionaries({"product_id": ids, "price": prices, "quantity": quantities}),
    min_size=1,
    max_size=5,
)


@st.composite
def ecommerce_messages(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(TRACK_EVENTS)))
    props: dict[str, Any] = dict(draw(extra_props))
    if name.startswith("Product ") and name not in ("Product List Viewed", "Product List Filtered"):
        props.update({"product_id": draw(ids), "price": draw(prices), "quantity": draw(quantities)})
    elif name.startswith("Order") or name == "Checkout Started":
        props.update({"order_id": draw(ids), "products": draw(products)})
    elif name == "Products Searched":
        props["query"] = draw(st.text(max_size=30))
    elif name.startswith("Promotion"):
        props["promotion_id"] = draw(ids)
    elif name == "Coupon Applied":
        props["coupon_id"] = draw(ids)
    else:
        props["products"] = draw(products)
    message: dict[str, Any] = {"type": "track", "event": name, "properties": props}
    who = draw(st.sampled_from(["user", "anon", "both"]))
    if who in ("user", "both"):
        message["userId"] = draw(ids)
    if who in ("anon", "both"):
        message["anonymousId"] = draw(ids)
    if draw(st.booleans()):
        message["messageId"] = draw(st.text(min_size=1, max_size=30))
    return message


@settings(max_examples=300, deadline=None)
@given(ecommerce_messages())
def test_every_mapped_ecommerce_event_validates_and_keeps_its_properties(
    message: dict[str, Any],
) -> None:
    event = validator.from_mapping(to_native(message, NOW), NOW)
    assert event.type is EventType(TRACK_EVENTS[message["event"]][0])
    assert event.customer_id == (str(message["userId"]) if "userId" in message else None)
    assert event.anonymous_id == (str(message["anonymousId"]) if "anonymousId" in message else None)
    assert set(message["properties"]) <= set(event.properties)
    if "messageId" in message:
        assert event.event_id == message["messageId"]
    else:
        assert event.event_id == to_native(message, NOW)["event_id"]  # stable across retries


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, "track", "identify", "page", "screen", "alias"]))
def test_arbitrary_input_is_mapped_or_refused_never_crashes(
    value: Any, implied: str | None
) -> None:
    try:
        native = to_native(value, NOW, implied)
    except SegmentMappingError:
        return
    assert isinstance(native, dict)
    with contextlib.suppress(Invalid):
        assert isinstance(validator.from_mapping(native, NOW), Event)


@settings(max_examples=300, deadline=None)
@given(json_values | st.dictionaries(st.sampled_from(["event_id", "type", "customer_id", "anonymous_id",
       "timestamp", "channel", "properties", "context"]), json_values))  # fmt: skip
def test_native_validation_refuses_with_a_reason_or_accepts(value: Any) -> None:
    for attempt in (
        lambda: validator.from_mapping(value, NOW),
        lambda: validator.from_json(msgspec.json.encode(value), NOW),
    ):
        try:
            assert isinstance(attempt(), Event)
        except Invalid as exc:
            assert str(exc)


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=1, max_size=30),
    st.sampled_from(["product_viewed", "product_added", "page_viewed", "products_searched"]),
    ids,
    st.dictionaries(st.text(max_size=8), json_scalars, max_size=4),
)
def test_valid_native_events_round_trip(
    event_id: str, kind: str, who: Any, extra: dict[str, Any]
) -> None:
    props = dict(extra)
    if kind.startswith("product_"):
        props["item_id"] = "sku-1"
    if kind == "products_searched":
        props["query"] = "mug"
    wire = {"event_id": event_id, "type": kind, "customer_id": str(who), "properties": props,
            "timestamp": "2026-05-01T12:00:00Z"}  # fmt: skip
    event = validator.from_json(msgspec.json.encode(wire), NOW)
    assert (event.event_id, event.type.value, event.customer_id, event.properties) == (
        event_id,
        kind,
        str(who),
        props,
    )
    assert event.timestamp == datetime(2026, 5, 1, 12, tzinfo=UTC) and event.received_at == NOW
