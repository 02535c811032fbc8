"""The language of segment definitions (:mod:`retailor.profiles.segments`) as the OpenAPI
document shows it: one schema per kind of condition, built from the parser's own lists of
keys, operators, traits and event types."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from retailor.domain.events import EventType
from retailor.profiles.segments import (
    FREE_PREFIXES,
    MAX_CHOICES,
    MAX_COUNT,
    MAX_WINDOW_DAYS,
    OPS,
    TRAITS,
)

COMPONENT = "#/components/schemas/{name}"

#: ``value`` is needed by every op but ``exists``, and is a list for ``in`` and ``not_in``.
_TRAIT_RULES: dict[str, Any] = {
    "allOf": [
        {
            "if": {"required": ["op"], "properties": {"op": {"const": "exists"}}},
            "else": {"required": ["value"]},
        },
        {
            "if": {"required": ["op"], "properties": {"op": {"enum": ["in", "not_in"]}}},
            "then": {"properties": {"value": {"type": "array", "maxItems": MAX_CHOICES}}},
        },
    ]
}
_RULES = {"TraitCondition": _TRAIT_RULES}
_KINDS = ("AllCondition", "AnyCondition", "NotCondition", "TraitCondition", "EventCondition")

#: A nested condition: any of the kinds below.
Condition = Annotated[
    dict[str, Any],
    Meta(
        extra_json_schema={
            "anyOf": [{"$ref": COMPONENT.format(name=k), **_RULES.get(k, {})} for k in _KINDS]
        }
    ),
]
Conditions = Annotated[list[Condition], Meta(min_length=1)]


class AllCondition(Struct, kw_only=True, forbid_unknown_fields=True):
    """Every condition holds."""

    all: Conditions
    name: str | None = None
    description: str | None = None


class AnyCondition(Struct, kw_only=True, forbid_unknown_fields=True):
    """At least one condition holds."""

    any: Conditions
    name: str | None = None
    description: str | None = None


class NotCondition(Struct, kw_only=True, forbid_unknown_fields=True):
    """The condition does not hold."""

    not_: Condition = msgspec.field(name="not")


TraitPath = Annotated[
    str,
    Meta(
        description="a computed trait, or attributes.* and consent.*",
        extra_json_schema={
            "anyOf": [
                {"enum": sorted(TRAITS)},
                {"pattern": "^(" + "|".join(p.replace(".", "\\.") for p in FREE_PREFIXES) + ")"},
            ]
        },
    ),
]


class TraitCondition(Struct, kw_only=True, forbid_unknown_fields=True):
    """A test of a computed trait (``op`` defaults to ``eq``)."""

    trait: TraitPath
    op: Literal[OPS] = "eq"  # type: ignore[valid-type]
    value: Any = None


class EventCondition(Struct, kw_only=True, forbid_unknown_fields=True):
    """How many events of some types happened in a window (all of history without
    ``within_days``)."""

    event: EventType | Annotated[list[EventType], Meta(min_length=1)]
    within_days: Annotated[float, Meta(gt=0, le=MAX_WINDOW_DAYS)] | None = None
    min_count: Annotated[int, Meta(ge=0, le=MAX_COUNT)] = 1
    max_count: Annotated[int, Meta(ge=0, le=MAX_COUNT)] | None = None
    category: str | None = None
    item_id: str | None = None


#: A segment definition: any kind of condition at the top.
SegmentDefinition = (
    AllCondition
    | AnyCondition
    | NotCondition
    | Annotated[TraitCondition, Meta(extra_json_schema=_TRAIT_RULES)]
    | EventCondition
)
