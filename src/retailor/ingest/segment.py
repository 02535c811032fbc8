"""The Segment HTTP Tracking API, mapped to Retailor's native events.

``track`` events of the Segment e-commerce spec v2 become Retailor's typed events;
other ``track`` events are kept as ``custom`` events under their name. ``identify``,
``alias``, ``page`` and ``screen`` map to their native counterparts. Properties Retailor
does not know are kept as sent; top-level fields it does not use are kept in
``context.segment``. A message without ``messageId`` gets an id derived from its
content, so a retried message is still a duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.ingest.ids import derived_event_id
from retailor.ingest.segment_messages import KINDS, MESSAGES

SegmentMessage = dict[str, Any]
Native = dict[str, Any]

_PER_ATTEMPT = {"sentAt", "receivedAt", "writeKey"}  # change on every retry: not identity
MESSAGE_TYPES = KINDS
_USED = {
    "type", "event", "messageId", "userId", "anonymousId", "timestamp", "originalTimestamp",
    "sentAt", "receivedAt", "properties", "traits", "context", "name", "category",
    "previousId", "writeKey",
}  # fmt: skip


class SegmentMappingError(ValueError):
    """The message cannot be read as a Segment message; the text says why."""


def _id(value: Any) -> str | None:
    """Segment ids are strings, but clients send numbers too; other types are invalid."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SegmentMappingError(f"an id must be a string, got {type(value).__name__}")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _product(product: Any) -> dict[str, Any]:
    if not isinstance(product, dict):
        return {"value": product}
    item = dict(product)
    item_id = _first(product, "product_id", "sku", "id")
    if item_id is not None:
        item["item_id"] = _id(item_id)
    return item


def _first(props: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` whose value is not null."""
    return next((props[k] for k in keys if props.get(k) is not None), None)


def _products(props: dict[str, Any]) -> list[dict[str, Any]]:
    products = props.get("products")
    return [_product(p) for p in products] if isinstance(products, list) else []


def _line(product: dict[str, Any], default_quantity: int = 1) -> dict[str, Any]:
    line: dict[str, Any] = {k: product[k] for k in ("item_id", "price") if k in product}
    line["quantity"] = product.get("quantity", default_quantity)
    return line


def _product_event(props: dict[str, Any]) -> Native:
    return _product(props)


def _list_viewed(props: dict[str, Any]) -> Native:
    return {**props, "items": _products(props)}


def _cart_viewed(props: dict[str, Any]) -> Native:
    return {**props, "page_type": "cart", "items": _products(props)}


def _checkout(props: dict[str, Any]) -> Native:
    out = {**props, "items": _products(props)}
    value = _first(props, "value", "revenue", "total")
    if value is not None:
        out["value"] = value
    if "order_id" in props:
        out["order_id"] = _id(props["order_id"])
    return out


def _order(props: dict[str, Any]) -> Native:
    out = {**props, "lines": [_line(p) for p in _products(props)]}
    if "order_id" in props:
        out["order_id"] = _id(props["order_id"])
    revenue = _first(props, "revenue", "total")
    if revenue is not None:
        out["revenue"] = revenue
    return out


def _refund(props: dict[str, Any]) -> Native:
    out = {**props, "lines": [_line(p) for p in _products(props)]}
    if "order_id" in props:
        out["order_id"] = _id(props["order_id"])
    amount = _first(props, "total", "value", "revenue")
    if amount is not None:
        out["amount"] = amount
    return out


def _cancel(props: dict[str, Any]) -> Native:
    return {**_refund(props), "cancelled": True}


def _promotion(props: dict[str, Any]) -> Native:
    offer = _first(props, "promotion_id", "id", "name")
    return {**props, "offer_id": _id(offer)} if offer is not None else dict(props)


def _coupon(props: dict[str, Any]) -> Native:
    out = dict(props)
    offer = _first(props, "coupon_id", "coupon_name", "coupon")
    if offer is not None:
        out["offer_id"] = _id(offer)
    if props.get("order_id") is not None:
        out["order_id"] = _id(props["order_id"])
    return out


def _search(props: dict[str, Any]) -> Native:
    return dict(props)


TRACK_EVENTS: dict[str, tuple[str, Callable[[dict[str, Any]], Native]]] = {
    "Product Viewed": ("product_viewed", _product_event),
    "Product Added": ("product_added", _product_event),
    "Product Removed": ("product_removed", _product_event),
    "Product List Viewed": ("product_list_viewed", _list_viewed),
    "Product List Filtered": ("product_list_viewed", _list_viewed),
    "Products Searched": ("products_searched", _search),
    "Cart Viewed": ("page_viewed", _cart_viewed),
    "Checkout Started": ("checkout_started", _checkout),
    "Order Completed": ("order_completed", _order),
    "Order Refunded": ("order_refunded", _refund),
    "Order Cancelled": ("order_refunded", _cancel),
    "Promotion Viewed": ("offer_viewed", _promotion),
    "Promotion Clicked": ("offer_clicked", _promotion),
    "Coupon Applied": ("offer_redeemed", _coupon),
}


def _channel(message: SegmentMessage, context: dict[str, Any]) -> str | None:
    explicit = context.get("channel") or message.get("channel")
    if explicit in ("web", "app", "store", "email", "sms", "push", "kiosk", "call_center"):
        return str(explicit)
    if explicit == "browser":
        return "web"
    if explicit == "mobile":
        return "app"
    if isinstance(context.get("app"), dict) or isinstance(context.get("device"), dict):
        return "app"
    if isinstance(context.get("page"), dict) or context.get("userAgent"):
        return "web"
    return None


def _timestamp(message: SegmentMessage, received_at: datetime) -> Any:
    """``timestamp``, else ``originalTimestamp`` corrected by the client's clock skew."""
    if message.get("timestamp") is not None:
        return message["timestamp"]
    original = message.get("originalTimestamp")
    if original is None:
        return None
    sent = message.get("sentAt")
    try:
        original_at = msgspec.convert(original, datetime)
        sent_at = msgspec.convert(sent, datetime) if sent is not None else None
    except msgspec.ValidationError:
        return original
    original_at = original_at if original_at.tzinfo else original_at.replace(tzinfo=UTC)
    if sent_at is None:
        return original_at.isoformat()
    sent_at = sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)
    try:
        return (received_at - (sent_at - original_at)).isoformat()
    except OverflowError:  # clocks too far apart to correct: keep what the device said
        return original_at.isoformat()


_ID_OF_A_TYPE = re.compile(r"^Expected `[^`]*`, got `(\w+)` - at `\$\.(\w*Id)`$")


def _reason(exc: msgspec.ValidationError) -> str:
    """Why a message does not have the types of :data:`MESSAGES`, in words."""
    wrong_id = _ID_OF_A_TYPE.match(str(exc))
    if wrong_id is not None:
        got, field = wrong_id.groups()
        return f"an id must be a string or a number, got {got} - at `{field}`"
    return str(exc).replace("at `$.", "at `")


def to_native(message: Any, received_at: datetime, implied_type: str | None = None) -> Native:
    """Map one Segment message to the native event form (validated later like any event).

    >>> to_native({"type": "track", "event": "Product Viewed", "messageId": "m1",
    ...            "userId": 42, "properties": {"product_id": "sku-9"}},
    ...           datetime(2026, 1, 1, tzinfo=UTC))["properties"]["item_id"]
    'sku-9'
    """
    if not isinstance(message, dict):
        raise SegmentMappingError(f"a message must be a JSON object, got {type(message).__name__}")
    kind = message.get("type", implied_type)
    if implied_type is not None and kind != implied_type:
        raise SegmentMappingError(f"this endpoint takes {implied_type} messages, got {kind!r}")
    if kind not in MESSAGE_TYPES:
        raise SegmentMappingError(f"unknown Segment message type {kind!r}")
    context = message.get("context") or {}
    props = message.get("properties") or {}
    traits = message.get("traits") or {}
    if not isinstance(context, dict) or not isinstance(props, dict) or not isinstance(traits, dict):
        raise SegmentMappingError("context, properties and traits must be JSON objects")
    if kind == "track" and (not isinstance(message.get("event"), str) or not message["event"]):
        raise SegmentMappingError("a track message needs an event name in `event`")
    try:  # the fields read below have the types the document gives them
        msgspec.convert(message, MESSAGES[kind], strict=True)
    except msgspec.ValidationError as exc:
        raise SegmentMappingError(_reason(exc)) from None

    native: Native = {
        "type": "custom",
        "customer_id": _id(message.get("userId")),
        "anonymous_id": _id(message.get("anonymousId")),
        "timestamp": _timestamp(message, received_at),
        "channel": _channel(message, context),
    }
    if kind == "track":
        name = message["event"]
        if name in TRACK_EVENTS:
            native["type"], mapper = TRACK_EVENTS[name]
            native["properties"] = {**mapper(props), "segment_event": name}
        else:
            own_name = {"name_property": props["name"]} if "name" in props else {}
            native["properties"] = {**props, **own_name, "name": name}
    elif kind == "identify":
        native["type"] = "identify"
        fallback = context.get("traits") or {}
        if not isinstance(fallback, dict):
            raise SegmentMappingError("context.traits must be a JSON object")
        native["properties"] = {"traits": traits or dict(fallback)}
    elif kind in ("page", "screen"):
        native["type"] = "page_viewed"
        page = {**props}
        for key in ("name", "category"):
            if message.get(key) is not None:
                page[key] = message[key]
        if kind == "screen":
            page["screen"] = True
            native["channel"] = native["channel"] or "app"
        native["properties"] = page
    elif kind == "alias":
        native["type"] = "alias"
        native["properties"] = {"previous_id": _id(message.get("previousId"))}
    else:  # group
        native["properties"] = {
            "name": "group",
            "group_id": _id(message.get("groupId")),
            "traits": traits,
        }

    for key in ("store_id", "session_id", "decision_id"):
        value = props.get(key, context.get(key))
        if value is not None:
            native[key] = _id(value)
    extra = {k: v for k, v in message.items() if k not in _USED}
    native["context"] = {**context, **({"segment": extra} if extra else {})}
    message_id = _id(message.get("messageId"))
    native["event_id"] = message_id or derived_event_id(
        "segment",
        msgspec.json.encode(
            {k: v for k, v in message.items() if k not in _PER_ATTEMPT}, order="deterministic"
        ).decode(),
    )
    return {k: v for k, v in native.items() if v is not None}
