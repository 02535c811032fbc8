"""Offers as data: what a marketer declares (kind, scope, targeting, schedule, budget,
frequency caps, consent) and the checks that make a definition valid.

Eligibility against a request lives in ``retailor.decision.offers``; this module only
describes an offer and refuses definitions that cannot work.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from retailor.domain.placements import (
    Campaign,
    ChannelName,
    DefinitionError,
    HourRange,
    ReadOnlyText,
    ReadOnlyTimestamp,
    Weekday,
    as_utc,
    check_channels,
    check_hours,
    check_period,
    convert_definition,
)
from retailor.domain.timestamps import Timestamp

OfferKind = Literal["percent_off", "amount_off", "free_shipping", "points_multiplier", "bundle"]
NonNegative = Annotated[float, Meta(ge=0)]
#: Channels where an offer is marketing that needs the channel's marketing consent.
MARKETING_CHANNELS = {"email": "marketing_email", "sms": "marketing_sms", "push": "marketing_push"}


class OfferScope(Struct, kw_only=True, forbid_unknown_fields=True):
    """What the offer applies to; empty lists mean the whole basket."""

    items: list[str] = msgspec.field(default_factory=list)
    categories: list[str] = msgspec.field(default_factory=list)


class Targeting(Struct, kw_only=True, forbid_unknown_fields=True):
    """Who may get the offer; every given part must hold (segments: any of them)."""

    segments: list[str] = msgspec.field(default_factory=list)
    loyalty_tiers: list[str] = msgspec.field(default_factory=list)
    channels: list[ChannelName] = msgspec.field(default_factory=list)
    stores: list[str] = msgspec.field(default_factory=list)
    customers: Literal["any", "new", "returning"] = "any"


class Schedule(Struct, kw_only=True, forbid_unknown_fields=True):
    """When the offer runs: a date range, weekdays and a ``[start, end)`` range of UTC hours."""

    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    days: list[Weekday] = msgspec.field(default_factory=list)
    hours: HourRange | None = None

    def __post_init__(self) -> None:
        # a naive datetime is UTC, so every comparison is between aware datetimes
        self.starts_at = as_utc(self.starts_at)
        self.ends_at = as_utc(self.ends_at)


class FrequencyCap(Struct, kw_only=True, forbid_unknown_fields=True):
    """How often one customer may be shown the offer."""

    per_day: Annotated[int, Meta(ge=1)] | None = None
    per_week: Annotated[int, Meta(ge=1)] | None = None


class Offer(Struct, kw_only=True, forbid_unknown_fields=True):
    """One offer (see the module docstring).

    ``value`` is the percentage for ``percent_off`` (0-100], the amount for ``amount_off``,
    the multiplier for ``points_multiplier``, the bundle's price for ``bundle``. ``cost`` is
    what one redemption costs the retailer; ``budget`` caps the sum of redemption costs and
    ``max_redemptions`` their number. ``marketing`` offers need the channel's marketing
    consent on email, SMS and push; ``consent_purpose`` adds a purpose of your own.
    ``campaign`` labels the decisions that chose the offer, for reports.
    """

    offer_id: ReadOnlyText = ""
    name: str = ""
    description: str = ""
    kind: OfferKind
    value: NonNegative = 0.0
    bundle_items: list[str] = msgspec.field(default_factory=list)
    scope: OfferScope = msgspec.field(default_factory=OfferScope)
    targeting: Targeting = msgspec.field(default_factory=Targeting)
    schedule: Schedule = msgspec.field(default_factory=Schedule)
    budget: NonNegative | None = None
    max_redemptions: Annotated[int, Meta(ge=1)] | None = None
    frequency_cap: FrequencyCap = msgspec.field(default_factory=FrequencyCap)
    min_basket: NonNegative | None = None
    consent_purpose: str | None = None
    marketing: bool = True
    cost: NonNegative | None = None
    campaign: Campaign | None = None
    active: bool = True
    updated_at: ReadOnlyTimestamp | None = None

    def redemption_cost(self) -> float:
        """What one redemption costs: ``cost``, else the amount off, else nothing known."""
        if self.cost is not None:
            return self.cost
        return self.value if self.kind == "amount_off" else 0.0


def _when_kind(kind: str, then: dict[str, Any]) -> dict[str, Any]:
    return {"if": {"properties": {"kind": {"const": kind}}}, "then": then}


def _value(**bounds: float) -> dict[str, Any]:
    return {"required": ["value"], "properties": {"value": bounds}}


#: The rules of :func:`parse_offer` that span fields, as the OpenAPI document states them
#: (a period that ends after it starts, and ``per_day`` <= ``per_week``, it says in words).
OFFER_RULES: dict[str, Any] = {
    "allOf": [
        _when_kind("percent_off", _value(exclusiveMinimum=0, maximum=100)),
        _when_kind("amount_off", _value(exclusiveMinimum=0)),
        _when_kind("points_multiplier", _value(exclusiveMinimum=1)),
        _when_kind(
            "bundle",
            {"required": ["bundle_items"], "properties": {"bundle_items": {"minItems": 2}}},
        ),
        {  # a budget counts redemption costs: the cost of one must be known
            "if": {"required": ["budget"], "properties": {"budget": {"type": "number"}}},
            "then": {
                "anyOf": [
                    {"properties": {"kind": {"const": "amount_off"}}},
                    {"required": ["cost"], "properties": {"cost": {"type": "number"}}},
                ]
            },
        },
    ],
    "description": "A schedule's starts_at is before its ends_at; a frequency cap's per_day "
    "is at most its per_week.",
}
DocumentedOffer = Annotated[Offer, Meta(extra_json_schema=OFFER_RULES)]


def parse_offer(raw: Any, offer_id: str) -> Offer:
    """Decode and check an offer definition; the error says where it is wrong.

    >>> parse_offer({"kind": "percent_off", "value": 10}, "ten").redemption_cost()
    0.0
    """
    offer = convert_definition(raw, Offer, "offer_id", offer_id)
    if offer.kind == "percent_off" and not 0 < offer.value <= 100:
        raise DefinitionError("a percent_off value is a percentage in (0, 100] - at `$.value`")
    if offer.kind == "amount_off" and offer.value <= 0:
        raise DefinitionError("an amount_off value must be above 0 - at `$.value`")
    if offer.kind == "points_multiplier" and offer.value <= 1:
        raise DefinitionError("a points_multiplier value must be above 1 - at `$.value`")
    if offer.kind == "bundle" and len(offer.bundle_items) < 2:
        raise DefinitionError("a bundle needs at least two bundle_items - at `$.bundle_items`")
    if offer.budget is not None and offer.cost is None and offer.kind != "amount_off":
        raise DefinitionError(
            "a budget needs the cost of one redemption to count against it - at `$.cost`"
        )
    check_period(offer.schedule.starts_at, offer.schedule.ends_at, "$.schedule")
    check_hours(offer.schedule.hours, "$.schedule.hours")
    check_channels(offer.targeting.channels, "$.targeting.channels")
    cap = offer.frequency_cap
    if cap.per_day is not None and cap.per_week is not None and cap.per_day > cap.per_week:
        raise DefinitionError(
            f"per_day ({cap.per_day}) is above per_week ({cap.per_week}) - at `$.frequency_cap`"
        )
    return offer
