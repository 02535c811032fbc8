"""The event envelope and the retail event types, with the rules each type's properties obey.

One envelope carries every event. ``event_id`` is the client's idempotency key; the
server stamps ``received_at``. ``properties`` hold the type-specific payload; unknown
extra properties are kept as they were sent.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from retailor.domain.ids import Identifier, IdFields

__all__ = ["Identifier"]  # re-exported: the envelope's id type

#: The largest amount, price or quantity an event may carry: beyond it a number is a
#: mistake, and products and sums of such numbers would overflow to infinity.
MAX_AMOUNT = 1e12
NonNegative = Annotated[float, Meta(ge=0, le=MAX_AMOUNT)]
Positive = Annotated[float, Meta(gt=0, le=MAX_AMOUNT)]


class EventType(enum.StrEnum):
    """Every event type Retailor understands, following the retail journey."""

    IDENTIFY = "identify"
    ALIAS = "alias"
    PAGE_VIEWED = "page_viewed"
    PRODUCT_VIEWED = "product_viewed"
    PRODUCT_LIST_VIEWED = "product_list_viewed"
    PRODUCTS_SEARCHED = "products_searched"
    PRODUCT_ADDED = "product_added"
    PRODUCT_REMOVED = "product_removed"
    CHECKOUT_STARTED = "checkout_started"
    ORDER_COMPLETED = "order_completed"
    ORDER_REFUNDED = "order_refunded"
    LOYALTY_ENROLLED = "loyalty_enrolled"
    POINTS_EARNED = "points_earned"
    POINTS_REDEEMED = "points_redeemed"
    OFFER_VIEWED = "offer_viewed"
    OFFER_CLICKED = "offer_clicked"
    OFFER_REDEEMED = "offer_redeemed"
    CONSENT_UPDATED = "consent_updated"
    CUSTOM = "custom"


class Channel(enum.StrEnum):
    """Where an event happened."""

    WEB = "web"
    APP = "app"
    STORE = "store"
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    KIOSK = "kiosk"
    CALL_CENTER = "call_center"
    OTHER = "other"


class ConsentPurpose(enum.StrEnum):
    """The purposes a customer can consent to."""

    PERSONALIZATION = "personalization"
    MARKETING_EMAIL = "marketing_email"
    MARKETING_SMS = "marketing_sms"
    MARKETING_PUSH = "marketing_push"
    ANALYTICS = "analytics"


class Event(Struct, kw_only=True):
    """The envelope of every event, as stored in the event log."""

    event_id: str
    type: EventType
    timestamp: datetime
    received_at: datetime
    customer_id: str | None = None
    anonymous_id: str | None = None
    channel: Channel | None = None
    store_id: str | None = None
    session_id: str | None = None
    decision_id: str | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    context: dict[str, Any] = msgspec.field(default_factory=dict)


# --- properties of each type: what must be there and of which type; extras are kept ---


class _Props(IdFields, kw_only=True):
    """Base for property schemas: unknown fields are allowed (and kept by the caller)."""


class IdentifyProps(_Props):
    traits: dict[str, Any] = {}


class AliasProps(_Props):
    previous_id: Identifier


class ProductProps(_Props):
    item_id: Identifier
    quantity: Positive | None = None
    price: NonNegative | None = None


class ProductListProps(_Props):
    list_id: str | None = None
    category: str | None = None
    items: list[dict[str, Any]] = []


class SearchProps(_Props):
    query: Annotated[str, Meta(max_length=2048)]


class CheckoutProps(_Props):
    order_id: str | None = None
    value: NonNegative | None = None


class OrderLine(IdFields, kw_only=True):
    """One line of an order: which item, how many, at what unit price."""

    item_id: Identifier
    quantity: Positive
    price: NonNegative


class RefundLine(IdFields, kw_only=True):
    item_id: Identifier
    quantity: Positive
    price: NonNegative | None = None


class OrderProps(_Props):
    order_id: Identifier
    lines: Annotated[list[OrderLine], Meta(min_length=1, max_length=10_000)]
    revenue: NonNegative | None = None
    discount: NonNegative | None = None
    coupon: str | None = None
    currency: Annotated[str, Meta(min_length=3, max_length=3)] | None = None


class RefundProps(_Props):
    order_id: Identifier
    lines: list[RefundLine] = []
    amount: NonNegative | None = None


class LoyaltyProps(_Props):
    card_id: str | None = None
    tier: str | None = None
    program: str | None = None


class PointsProps(_Props):
    points: Positive


class OfferProps(_Props):
    offer_id: Identifier


class ConsentProps(_Props):
    purposes: Annotated[
        dict[ConsentPurpose, bool],
        Meta(
            min_length=1,
            extra_json_schema={"propertyNames": {"enum": [p.value for p in ConsentPurpose]}},
        ),
    ]


class CustomProps(_Props):
    name: Annotated[str, Meta(min_length=1, max_length=256)]


PROPERTY_SCHEMAS: dict[EventType, type[_Props]] = {
    EventType.IDENTIFY: IdentifyProps,
    EventType.ALIAS: AliasProps,
    EventType.PAGE_VIEWED: _Props,
    EventType.PRODUCT_VIEWED: ProductProps,
    EventType.PRODUCT_LIST_VIEWED: ProductListProps,
    EventType.PRODUCTS_SEARCHED: SearchProps,
    EventType.PRODUCT_ADDED: ProductProps,
    EventType.PRODUCT_REMOVED: ProductProps,
    EventType.CHECKOUT_STARTED: CheckoutProps,
    EventType.ORDER_COMPLETED: OrderProps,
    EventType.ORDER_REFUNDED: RefundProps,
    EventType.LOYALTY_ENROLLED: LoyaltyProps,
    EventType.POINTS_EARNED: PointsProps,
    EventType.POINTS_REDEEMED: PointsProps,
    EventType.OFFER_VIEWED: OfferProps,
    EventType.OFFER_CLICKED: OfferProps,
    EventType.OFFER_REDEEMED: OfferProps,
    EventType.CONSENT_UPDATED: ConsentProps,
    EventType.CUSTOM: CustomProps,
}

REQUIRES_CUSTOMER: frozenset[EventType] = frozenset({EventType.ALIAS})


def check_properties(
    event_type: EventType, properties: dict[str, Any], *, ids: bool = True
) -> str | None:
    """Return why ``properties`` are invalid for ``event_type``, or None when they are valid.
    ``ids=False`` skips the check of the characters of ids (for text known to hold none
    that could be refused).

    >>> check_properties(EventType.PRODUCT_VIEWED, {"item_id": "sku-1"}) is None
    True
    >>> check_properties(EventType.PRODUCT_VIEWED, {})
    'properties: Object missing required field `item_id`'
    """
    try:
        converted = msgspec.convert(properties, PROPERTY_SCHEMAS[event_type], strict=True)
    except msgspec.ValidationError as exc:
        return "properties: " + str(exc).replace("`$.", "`properties.").replace("at `$`", "")
    problem = converted.id_problem() if ids else None
    return None if problem is None else f"properties.{problem}"


def order_revenue(properties: dict[str, Any]) -> float:
    """Revenue of an order: the sent ``revenue`` when present, else lines net of discount."""
    if properties.get("revenue") is not None:
        return float(properties["revenue"])
    gross = sum(float(line["quantity"]) * float(line["price"]) for line in properties["lines"])
    return gross - float(properties.get("discount") or 0.0)
