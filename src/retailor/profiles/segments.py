"""Segment definitions: a small declarative language over traits and over events in time
windows, parsed with errors that say where, and evaluated for one customer or the base.

    {"all": [
        {"trait": "rfm.segment", "op": "eq", "value": "at risk"},
        {"trait": "consent.marketing_email", "op": "eq", "value": true},
        {"event": "order_completed", "category": "Shoes", "within_days": 90, "min_count": 2},
        {"not": {"event": "order_completed", "category": "Shoes", "within_days": 30}}
    ]}

A condition is ``all``/``any`` (lists), ``not`` (one condition), a trait test
``{"trait": path, "op": ..., "value": ...}`` or an event count ``{"event": type or list,
"within_days": N, "min_count": 1, "max_count": …, "category": …, "item_id": …}``. Windows
end at the newest event Retailor has seen. Trait paths name computed traits
(``order_count``, ``rfm.segment``, ``clv.churn_risk``, ``attributes.city``,
``consent.marketing_email``, …).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from retailor.domain.events import Event, EventType

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists")
TRAITS = {
    "first_seen", "last_seen", "event_count", "sessions", "order_count", "revenue",
    "average_order_value", "last_order_at", "favourite_categories", "favourite_brands",
    "preferred_channel", "preferred_store", "discount_share", "loyalty.tier", "loyalty.points",
    "loyalty.enrolled_at", "quality.bot_like_velocity", "quality.impossible_values",
    "quality.suspected_duplicate_account", "rfm.recency_days", "rfm.frequency", "rfm.monetary",
    "rfm.r", "rfm.f", "rfm.m", "rfm.score", "rfm.segment", "clv.expected_purchases_90d",
    "clv.probability_alive", "clv.churn_risk", "clv.expected_spend_per_purchase",
    "clv.predicted_value_12m",
}  # fmt: skip
FREE_PREFIXES = ("attributes.", "consent.")
EVENT_KEYS = {"event", "within_days", "min_count", "max_count", "category", "item_id"}
#: The widest event window (a hundred years; leave ``within_days`` out for all of history).
MAX_WINDOW_DAYS = 36_500


class SegmentError(ValueError):
    """A definition that does not parse; ``where`` is the path to the fault."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


@dataclass(frozen=True)
class TraitTest:
    path: str
    op: str
    value: Any


@dataclass(frozen=True)
class EventCount:
    types: frozenset[str]
    within: timedelta | None
    min_count: int
    max_count: int | None
    category: str | None
    item_id: str | None


@dataclass(frozen=True)
class Combined:
    kind: str  # all | any | not
    parts: tuple[Condition, ...]


Condition = TraitTest | EventCount | Combined


def parse(definition: Any, where: str = "$") -> Condition:
    """Parse a definition (already decoded from JSON or YAML); raises ``SegmentError``."""
    if not isinstance(definition, dict):
        raise SegmentError(where, "a condition is an object")
    keys = set(definition)
    if keys & {"all", "any"}:
        kind = "all" if "all" in keys else "any"
        if keys - {kind, "name", "description"}:
            raise SegmentError(
                where,
                f"unexpected keys {sorted(keys - {kind, 'name', 'description'}, key=str)} next to '{kind}'",
            )
        for label in ("name", "description"):
            if definition.get(label) is not None and not isinstance(definition[label], str):
                raise SegmentError(f"{where}.{label}", "must be a string")
        parts = definition[kind]
        if not isinstance(parts, list) or not parts:
            raise SegmentError(f"{where}.{kind}", "must be a non-empty list of conditions")
        return Combined(kind, tuple(parse(p, f"{where}.{kind}[{i}]") for i, p in enumerate(parts)))
    if "not" in keys:
        if keys != {"not"}:
            raise SegmentError(where, "'not' stands alone")
        return Combined("not", (parse(definition["not"], f"{where}.not"),))
    if "trait" in keys:
        return _trait(definition, where)
    if "event" in keys:
        return _event(definition, where)
    raise SegmentError(where, "expected one of all, any, not, trait, event")


def _trait(d: dict[str, Any], where: str) -> TraitTest:
    extra = set(d) - {"trait", "op", "value"}
    if extra:
        raise SegmentError(where, f"unexpected keys {sorted(extra, key=str)}")
    path = d["trait"]
    if not isinstance(path, str) or not (path in TRAITS or path.startswith(FREE_PREFIXES)):
        raise SegmentError(
            f"{where}.trait",
            f"unknown trait {path!r}; known: {', '.join(sorted(TRAITS))}, attributes.*, consent.*",
        )
    op = d.get("op", "eq")
    if op not in OPS:
        raise SegmentError(f"{where}.op", f"unknown op {op!r}; use one of {', '.join(OPS)}")
    if op != "exists" and "value" not in d:
        raise SegmentError(where, f"op {op!r} needs a value")
    if op in ("in", "not_in") and not isinstance(d.get("value"), list):
        raise SegmentError(f"{where}.value", f"op {op!r} needs a list")
    return TraitTest(path, op, d.get("value"))


def _event(d: dict[str, Any], where: str) -> EventCount:
    extra = set(d) - EVENT_KEYS
    if extra:
        raise SegmentError(
            where,
            f"unexpected keys {sorted(extra, key=str)}; an event condition takes {', '.join(sorted(EVENT_KEYS))}",
        )
    kinds = d["event"] if isinstance(d["event"], list) else [d["event"]]
    known = {t.value for t in EventType}
    for i, kind in enumerate(kinds):
        if not isinstance(kind, str) or kind not in known:
            raise SegmentError(
                f"{where}.event" + (f"[{i}]" if isinstance(d["event"], list) else ""),
                f"unknown event type {kind!r}",
            )
    within = d.get("within_days")
    if within is not None and (
        isinstance(within, bool)
        or not isinstance(within, int | float)
        or not 0 < within <= MAX_WINDOW_DAYS
    ):
        raise SegmentError(
            f"{where}.within_days", f"must be a positive number of days, at most {MAX_WINDOW_DAYS}"
        )
    low = _count(d.get("min_count", 1), f"{where}.min_count")
    high = _count(d["max_count"], f"{where}.max_count") if d.get("max_count") is not None else None
    for name in ("category", "item_id"):
        if d.get(name) is not None and not isinstance(d[name], str):
            raise SegmentError(f"{where}.{name}", "must be a string")
    return EventCount(
        types=frozenset(kinds),
        within=timedelta(days=within) if within is not None else None,
        min_count=low,
        max_count=high,
        category=d.get("category"),
        item_id=d.get("item_id"),
    )


def _count(value: Any, where: str) -> int:
    """A count: a whole number >= 0 (``2.0`` is the whole number 2)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SegmentError(where, "must be a whole number >= 0")
    return value


def longest_window(condition: Condition) -> timedelta | None:
    """The widest event window a condition looks at (None: all of history)."""
    if isinstance(condition, EventCount):
        return condition.within
    if isinstance(condition, Combined):
        windows = [longest_window(p) for p in condition.parts]
        known = [w for w in windows if w is not None]
        return None if len(known) < len(windows) or not known else max(known)
    return timedelta(0)


def event_types(condition: Condition) -> set[str]:
    if isinstance(condition, EventCount):
        return set(condition.types)
    if isinstance(condition, Combined):
        return set().union(*(event_types(p) for p in condition.parts))
    return set()


CategoryOf = Callable[[str], list[str]]


def _trait_value(traits: dict[str, Any], consent: dict[str, bool], path: str) -> Any:
    if path.startswith("consent."):
        return consent.get(path.removeprefix("consent."))
    value: Any = traits
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _test(value: Any, op: str, expected: Any) -> bool:
    if op == "exists":
        return value is not None if expected in (None, True) else value is None
    if value is None:
        return op in ("ne", "not_in")
    try:
        if op == "eq":
            return bool(value == expected)
        if op == "ne":
            return bool(value != expected)
        if op == "gt":
            return bool(value > expected)
        if op == "gte":
            return bool(value >= expected)
        if op == "lt":
            return bool(value < expected)
        if op == "lte":
            return bool(value <= expected)
        if op == "in":
            return value in expected
        if op == "not_in":
            return value not in expected
        return expected in value if isinstance(value, list | str) else False
    except TypeError:
        return False


def _in_category(path: list[str], wanted: str) -> bool:
    wanted = wanted.strip().lower()
    parts = [p.lower() for p in path]
    return wanted in parts or " > ".join(parts).startswith(wanted)


def _matches(event: Event, cond: EventCount, category_of: CategoryOf) -> bool:
    if event.type.value not in cond.types:
        return False
    if cond.item_id is None and cond.category is None:
        return True
    props = event.properties
    items = (
        [str(line.get("item_id")) for line in props.get("lines", [])] if "lines" in props else []
    )
    if "item_id" in props:
        items.append(str(props["item_id"]))
    if cond.item_id is not None and cond.item_id not in items:
        return False
    return cond.category is None or any(_in_category(category_of(i), cond.category) for i in items)


def evaluate(
    condition: Condition,
    traits: dict[str, Any],
    consent: dict[str, bool],
    events: Sequence[Event],
    as_of: datetime,
    category_of: CategoryOf,
) -> bool:
    """Does one customer (traits, consent, events within the longest window) belong?"""
    if isinstance(condition, Combined):
        results = (
            evaluate(p, traits, consent, events, as_of, category_of) for p in condition.parts
        )
        if condition.kind == "all":
            return all(results)
        if condition.kind == "any":
            return any(results)
        return not next(results)
    if isinstance(condition, TraitTest):
        return _test(_trait_value(traits, consent, condition.path), condition.op, condition.value)
    start = as_of - condition.within if condition.within is not None else None
    count = sum(
        1
        for e in events
        if (start is None or e.timestamp >= start)
        and e.timestamp <= as_of
        and _matches(e, condition, category_of)
    )
    return count >= condition.min_count and (
        condition.max_count is None or count <= condition.max_count
    )
