"""Placements and business rules as data: what a merchandiser declares for each spot where
products are shown (home page, product page, cart, email, POS receipt, ...).

A placement names its candidate sources (with weights or slot quotas), its rules, its
diversity limits, its fallbacks and its default size. Rules are a tagged union on
``kind``; every rule may carry a ``when`` condition on the request's context. Decoding
with :func:`parse_placement` checks types and ranges and says where a definition is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from retailor.domain import numbers
from retailor.domain.events import Channel
from retailor.domain.ids import DefinitionId
from retailor.domain.nesting import walk
from retailor.domain.timestamps import Timestamp
from retailor.domain.timestamps import as_utc as as_utc  # where offers and the engine read it

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Hour = Annotated[int, Meta(ge=0, le=24)]
Positive = Annotated[float, Meta(gt=0)]
Count = Annotated[int, Meta(ge=1, le=1000)]
#: How many levels lists and mappings may nest in a definition (real ones need under ten).
MAX_DEPTH = 64
#: The channel names a definition may use (those of :class:`Channel`).
CHANNELS: tuple[str, ...] = tuple(channel.value for channel in Channel)
#: A channel name: the document lists them, :func:`check_channels` says which are valid.
ChannelName = Annotated[str, Meta(extra_json_schema={"enum": list(CHANNELS)})]
#: An hour range some hour is in (:func:`check_hours`): it ends at another hour than it
#: starts, and ``[24, 0]`` is empty too. The document says so start by start.
HourRange = Annotated[
    tuple[Hour, Hour],
    Meta(
        extra_json_schema={
            "anyOf": [
                {
                    "prefixItems": [
                        {"const": start},
                        {"not": {"enum": [start, 0] if start == 24 else [start]}},
                    ]
                }
                for start in range(25)
            ]
        }
    ),
]
#: A campaign label that reports group by: the shape of a definition id (letters, digits,
#: ``.``, ``-``, ``_``; 1-128 characters, the first a letter or digit).
Campaign = Annotated[
    DefinitionId,
    Meta(description="a campaign label reports group by (letters, digits, '.', '-', '_')"),
]
#: A definition repeats its id (from the URL) and its time of change (from the server) at
#: most as they were read back: the document shows them read-only.
ReadOnlyText = Annotated[str, Meta(extra_json_schema={"readOnly": True})]
ReadOnlyTimestamp = Annotated[Timestamp, Meta(extra_json_schema={"readOnly": True})]


class Condition(Struct, kw_only=True, forbid_unknown_fields=True):
    """When a rule applies; every given part must hold (an empty condition always holds).

    ``hours`` is a ``[start, end)`` range of UTC hours (``[22, 6]`` wraps midnight).
    """

    channels: list[ChannelName] = msgspec.field(default_factory=list)
    stores: list[str] = msgspec.field(default_factory=list)
    segments: list[str] = msgspec.field(default_factory=list)
    not_segments: list[str] = msgspec.field(default_factory=list)
    days: list[Weekday] = msgspec.field(default_factory=list)
    hours: HourRange | None = None
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None

    def __post_init__(self) -> None:
        self.starts_at = as_utc(self.starts_at)
        self.ends_at = as_utc(self.ends_at)


class Match(Struct, kw_only=True, forbid_unknown_fields=True):
    """Which items a rule is about; every given part must hold.

    ``categories`` match anywhere in an item's category path; ``margin_above`` is the
    margin rate ``(price - cost) / price``; ``new_within_days`` looks at ``created_at``;
    ``stock_above`` finds overstock; ``attributes`` compares catalog attributes for equality.
    """

    items: list[str] = msgspec.field(default_factory=list)
    categories: list[str] = msgspec.field(default_factory=list)
    brands: list[str] = msgspec.field(default_factory=list)
    price_min: Annotated[float, Meta(ge=0)] | None = None
    price_max: Annotated[float, Meta(ge=0)] | None = None
    margin_above: float | None = None
    new_within_days: Annotated[int, Meta(ge=0)] | None = None
    stock_above: int | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


#: A match names something (:class:`Match` with nothing given would hit every item).
GIVEN_MATCH = Annotated[
    Match,
    Meta(
        extra_json_schema={
            "anyOf": [
                *(
                    {"required": [name], "properties": {name: {"minItems": 1}}}
                    for name in ("items", "categories", "brands")
                ),
                *(
                    {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                    for name in (
                        "price_min",
                        "price_max",
                        "margin_above",
                        "new_within_days",
                        "stock_above",
                    )
                ),
                {"required": ["attributes"], "properties": {"attributes": {"minProperties": 1}}},
            ]
        }
    ),
]


class _Rule(Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    when: Condition | None = None
    note: str = ""


class ExcludeOutOfStock(_Rule, tag="exclude_out_of_stock"):
    """Drop items whose known stock is below ``min_stock`` (unknown stock is kept)."""

    min_stock: Annotated[int, Meta(ge=1)] = 1


class ExcludeHidden(_Rule, tag="exclude_hidden"):
    """Drop items the catalog marks hidden (``hidden: true``, ``visible: false`` or a
    ``status`` of hidden, discontinued or inactive)."""


class ExcludePurchased(_Rule, tag="exclude_purchased"):
    """Drop what the customer already bought, except in ``repurchasable_categories``
    (consumables); ``within_days`` limits the look-back."""

    repurchasable_categories: list[str] = msgspec.field(default_factory=list)
    within_days: Annotated[int, Meta(ge=1)] | None = None


class ExcludeInCart(_Rule, tag="exclude_in_cart"):
    """Drop what is in the cart (the request's and the live one)."""


class Include(_Rule, tag="include"):
    """Keep only matching items."""

    match: GIVEN_MATCH


class Exclude(_Rule, tag="exclude"):
    """Drop matching items."""

    match: GIVEN_MATCH


class Boost(_Rule, tag="boost"):
    """Multiply the score of matching items by ``factor`` (> 1 lifts them)."""

    match: GIVEN_MATCH
    factor: Positive = 1.5


class Bury(_Rule, tag="bury"):
    """Divide the score of matching items by ``factor`` (> 1 sinks them)."""

    match: GIVEN_MATCH
    factor: Positive = 2.0


class BoostMargin(_Rule, tag="boost_margin"):
    """Multiply every score by ``1 + weight * margin rate`` (items without a cost unchanged)."""

    weight: Annotated[float, Meta(ge=0, le=100)] = 1.0


class Pin(_Rule, tag="pin"):
    """Put ``item_id`` at ``position`` (1 = first), whatever the models say; other rules
    that exclude the item still win (a pinned item that is out of stock is not shown)."""

    item_id: str
    position: Annotated[int, Meta(ge=1, le=1000)] = 1


Rule = (
    ExcludeOutOfStock
    | ExcludeHidden
    | ExcludePurchased
    | ExcludeInCart
    | Include
    | Exclude
    | Boost
    | Bury
    | BoostMargin
    | Pin
)
RULE_KINDS = tuple(
    str(t.__struct_config__.tag)
    for t in (
        ExcludeOutOfStock,
        ExcludeHidden,
        ExcludePurchased,
        ExcludeInCart,
        Include,
        Exclude,
        Boost,
        Bury,
        BoostMargin,
        Pin,
    )
)


class Source(Struct, kw_only=True, forbid_unknown_fields=True):
    """One candidate source of a placement: a weight in the blend or a slot quota."""

    source: str
    weight: Positive = 1.0
    slots: Count | None = None


class Diversity(Struct, kw_only=True, forbid_unknown_fields=True):
    """At most so many items per category (at ``category_level`` of the path, 0 = top;
    -1 = the leaf) or per brand."""

    max_per_category: Count | None = None
    max_per_brand: Count | None = None
    category_level: int = -1


class AttributionWindow(Struct, kw_only=True, forbid_unknown_fields=True):
    """How long after one of the placement's decisions an order line may be attributed to
    it: when the item was clicked (or an offer redeemed), and when it was only shown."""

    clicked_hours: Annotated[float, Meta(gt=0, le=24 * 90)] = 24.0
    shown_hours: Annotated[float, Meta(gt=0, le=24 * 90)] = 1.0


class Placement(Struct, kw_only=True, forbid_unknown_fields=True):
    """A placement's strategy (see the module docstring). ``campaign`` labels its decisions
    for reports; ``attribution`` sets its attribution windows (24 h clicked, 1 h shown)."""

    placement_id: ReadOnlyText = ""
    name: str = ""
    description: str = ""
    sources: Annotated[list[Source], Meta(min_length=1)]
    rules: list[Rule] = msgspec.field(default_factory=list)
    diversity: Diversity | None = None
    fallback: list[str] = msgspec.field(default_factory=lambda: ["trending_now", "popular"])
    k: Annotated[int, Meta(ge=1, le=100)] = 10
    offers: Annotated[int, Meta(ge=0, le=10)] = 0
    channel: ChannelName | None = None  # the channel it serves when a request does not say
    campaign: Campaign | None = None
    attribution: AttributionWindow | None = None
    updated_at: ReadOnlyTimestamp | None = None


class DefinitionError(ValueError):
    """A definition that does not decode or does not make sense; the message says where."""


class NestedTooDeepError(DefinitionError):
    """Lists and mappings nested deeper than :data:`MAX_DEPTH` (no definition needs it; a
    reader would exhaust the stack)."""


T = TypeVar("T")


def check_raw(raw: Any) -> None:
    """Refuse a non-finite number (``inf``, ``nan``, as YAML's ``.inf``/``.nan`` give)
    anywhere in ``raw``, keys included, and lists or mappings nested more than
    :data:`MAX_DEPTH` levels (which would exhaust the stack later); iterative, so any
    depth is safe to look at."""
    for value, path, depth in walk(raw):
        if isinstance(value, float) and not math.isfinite(value):
            raise DefinitionError(f"numbers must be finite, got {value} - at `{path}`")
        if isinstance(value, dict | list | tuple | set | frozenset) and depth >= MAX_DEPTH:
            raise NestedTooDeepError(
                f"the definition is nested too deeply (at most {MAX_DEPTH} levels) - at `{path}`"
            )
        if isinstance(value, dict):
            for key in value:
                if isinstance(key, float) and not math.isfinite(key):
                    raise DefinitionError(f"keys must be finite, got {key} - at `{path}`")


def _unknown_channel(name: str, where: str) -> DefinitionError:
    valid = ", ".join(CHANNELS)
    return DefinitionError(f"unknown channel {name!r}; valid channels: {valid} - at `{where}`")


def check_channels(names: Sequence[str], where: str) -> None:
    """Refuse a channel name that is not one of :data:`CHANNELS`."""
    for i, name in enumerate(names):
        if name not in CHANNELS:
            raise _unknown_channel(name, f"{where}[{i}]")


def check_hours(hours: tuple[int, int] | None, where: str) -> None:
    """Refuse an hour range no hour is in (``[h, h]``, or ``[24, 0]``): the ``[start, end)``
    window (wrapping midnight when ``start > end``) would never be open."""
    if hours is None:
        return
    start, end = hours
    if start == end or (start, end) == (24, 0):
        raise DefinitionError(
            f"hours [{start}, {end}] is an empty window; [start, end) needs start != end "
            f"(use [0, 24] for the whole day) - at `{where}`"
        )


def check_period(starts_at: datetime | None, ends_at: datetime | None, where: str) -> None:
    """Refuse a date range that ends before it starts (or as it starts)."""
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        raise DefinitionError(f"starts_at must be before ends_at - at `{where}`")


def convert_definition(raw: Any, kind: type[T], id_field: str, id_value: str) -> T:
    """Decode a definition sent as JSON-like data into ``kind``, with its id from the URL
    (an id the definition gives must be that one); :class:`DefinitionError` says where it
    is wrong."""
    check_raw(raw)
    if isinstance(raw, dict):
        given = raw.get(id_field, id_value)
        if given != id_value:
            raise DefinitionError(
                f"{id_field} {given!r} differs from the id in the URL, {id_value!r}: leave it "
                f"out or make them agree - at `$.{id_field}`"
            )
        raw = {**raw, id_field: id_value}
    try:
        return numbers.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise DefinitionError(str(exc)) from None
    except RecursionError:
        raise NestedTooDeepError("the definition is nested too deeply - at `$`") from None


def _check_condition(condition: Condition | None, where: str) -> None:
    if condition is None:
        return
    check_channels(condition.channels, f"{where}.channels")
    check_hours(condition.hours, f"{where}.hours")
    check_period(condition.starts_at, condition.ends_at, where)


def parse_placement(raw: Any, placement_id: str) -> Placement:
    """Decode a placement definition (JSON-like data) and check it.

    >>> parse_placement({"sources": [{"source": "trending"}]}, "home").k
    10
    """
    placement = convert_definition(raw, Placement, "placement_id", placement_id)
    if not placement.sources:
        raise DefinitionError("a placement needs at least one source - at `$.sources`")
    if placement.channel is not None and placement.channel not in CHANNELS:
        raise _unknown_channel(placement.channel, "$.channel")
    for i, rule in enumerate(placement.rules):
        _check_condition(rule.when, f"$.rules[{i}].when")
        match = getattr(rule, "match", None)
        if isinstance(match, Match) and match == Match():
            raise DefinitionError(f"an empty match would hit every item - at `$.rules[{i}].match`")
        if isinstance(match, Match) and (
            match.price_min is not None
            and match.price_max is not None
            and match.price_min > match.price_max
        ):
            raise DefinitionError(f"price_min is above price_max - at `$.rules[{i}].match`")
    return placement
