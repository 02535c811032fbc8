"""Segment definitions: a small declarative language over traits and over events in time
windows, parsed with errors that say where, and evaluated for one customer.

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

A definition is bounded (``MAX_*`` below), so parsing, storing and evaluating one stays
cheap; ``in``/``not_in`` lists are compiled to sets once, when parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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

#: the largest definition body accepted, in bytes (JSON or YAML as sent)
MAX_DEFINITION_BYTES = 256 * 1024
#: conditions in one definition, every all/any/not/trait/event object counted
MAX_CONDITIONS = 200
#: event counts in one definition (each keeps per-customer state while defined)
MAX_EVENT_CONDITIONS = 20
#: values in one ``in`` / ``not_in`` list
MAX_CHOICES = 10_000
#: the largest ``min_count`` / ``max_count`` of an event count
MAX_COUNT = 10_000
#: the widest event window
MAX_WINDOW_DAYS = 36_500


class SegmentError(ValueError):
    """A definition that does not parse; ``where`` is the path to the fault."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class Choices:
    """The values of an ``in`` / ``not_in`` list as a set: ``x in choices`` answers as
    ``x in the_list`` would (equality), in constant time for hashable values."""

    __slots__ = ("_hashable", "_others")

    def __init__(self, values: Iterable[Any]) -> None:
        hashable, others = set(), []
        for value in values:
            try:
                hashable.add(value)
            except TypeError:  # a list or an object: compared by equality
                others.append(value)
        self._hashable = frozenset(hashable)
        self._others = tuple(others)

    def __contains__(self, value: Any) -> bool:
        try:
            return value in self._hashable
        except TypeError:
            return value in self._others

    def __len__(self) -> int:
        return len(self._hashable) + len(self._others)


@dataclass(frozen=True)
class TraitTest:
    path: str
    op: str
    value: Any
    #: ``value`` compiled for ``in`` / ``not_in``
    choices: Choices | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.choices is None and self.op in ("in", "not_in") and isinstance(self.value, list):
            object.__setattr__(self, "choices", Choices(self.value))


@dataclass(frozen=True)
class EventCount:
    types: frozenset[str]
    within: timedelta | None
    min_count: int
    max_count: int | None
    category: str | None
    item_id: str | None

    @property
    def enough(self) -> int:
        """How many events in the window settle the condition: a count capped at this
        compares to ``min_count`` and ``max_count`` as the true count does."""
        return max(self.min_count, self.max_count + 1 if self.max_count is not None else 0)

    def holds_for(self, count: int) -> bool:
        return count >= self.min_count and (self.max_count is None or count <= self.max_count)


@dataclass(frozen=True)
class Combined:
    kind: str  # all | any | not
    parts: tuple[Condition, ...]


Condition = TraitTest | EventCount | Combined


@dataclass
class _Budget:
    """What a definition has used of its limits so far, while it is parsed."""

    conditions: int = 0
    events: int = 0

    def spend(self, where: str) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise SegmentError(
                where, f"too many conditions: a definition holds at most {MAX_CONDITIONS}"
            )

    def spend_event(self, where: str) -> None:
        self.events += 1
        if self.events > MAX_EVENT_CONDITIONS:
            raise SegmentError(
                where,
                f"too many event conditions: a definition counts events at most "
                f"{MAX_EVENT_CONDITIONS} times",
            )


def parse(definition: Any, where: str = "$") -> Condition:
    """Parse a definition (already decoded from JSON or YAML); raises ``SegmentError``."""
    return _parse(definition, where, _Budget())


def _parse(definition: Any, where: str, budget: _Budget) -> Condition:
    if not isinstance(definition, dict):
        raise SegmentError(where, "a condition is an object")
    keys = set(definition)
    budget.spend(where)
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
        return Combined(
            kind, tuple(_parse(p, f"{where}.{kind}[{i}]", budget) for i, p in enumerate(parts))
        )
    if "not" in keys:
        if keys != {"not"}:
            raise SegmentError(where, "'not' stands alone")
        return Combined("not", (_parse(definition["not"], f"{where}.not", budget),))
    if "trait" in keys:
        return _trait(definition, where)
    if "event" in keys:
        budget.spend_event(where)
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
    if op in ("in", "not_in"):
        if not isinstance(d.get("value"), list):
            raise SegmentError(f"{where}.value", f"op {op!r} needs a list")
        if len(d["value"]) > MAX_CHOICES:
            raise SegmentError(
                f"{where}.value",
                f"the list has {len(d['value']):,} values; op {op!r} takes at most "
                f"{MAX_CHOICES:,} (for more, give the customers an attribute and test that)",
            )
    return TraitTest(path, op, d.get("value"))


def _event(d: dict[str, Any], where: str) -> EventCount:
    extra = set(d) - EVENT_KEYS
    if extra:
        raise SegmentError(
            where,
            f"unexpected keys {sorted(extra, key=str)}; an event condition takes {', '.join(sorted(EVENT_KEYS))}",
        )
    listed = isinstance(d["event"], list)
    kinds = d["event"] if listed else [d["event"]]
    if not kinds:
        raise SegmentError(f"{where}.event", "name at least one event type")
    known = {t.value for t in EventType}
    for i, kind in enumerate(kinds):
        if not isinstance(kind, str) or kind not in known:
            raise SegmentError(
                f"{where}.event" + (f"[{i}]" if listed else ""), f"unknown event type {kind!r}"
            )
    within = d.get("within_days")
    if within is not None and (
        isinstance(within, bool)
        or not isinstance(within, int | float)
        or not 0 < within <= MAX_WINDOW_DAYS
    ):
        raise SegmentError(
            f"{where}.within_days",
            f"must be a positive number of days, at most {MAX_WINDOW_DAYS:,}",
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
    """A count: a whole number from 0 to :data:`MAX_COUNT` (``2.0`` is the whole number 2)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise SegmentError(where, f"must be a whole number from 0 to {MAX_COUNT:,}")
    return value


def event_counts(condition: Condition) -> list[EventCount]:
    """The event counts of a condition, each once, in the order they appear."""
    if isinstance(condition, EventCount):
        return [condition]
    if isinstance(condition, Combined):
        return list(dict.fromkeys(c for p in condition.parts for c in event_counts(p)))
    return []


CategoryOf = Callable[[str], list[str]]
TraitOf = Callable[[str], Any]
CountOf = Callable[[EventCount], int]


def trait_value(traits: dict[str, Any], consent: dict[str, bool], path: str) -> Any:
    """The value a trait path names in a customer's traits and consent (None when absent)."""
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


def in_category(path: list[str], cond: EventCount) -> bool:
    """Whether an item of category ``path`` is one the condition's ``category`` names."""
    return cond.category is not None and _in_category(path, cond.category)


def event_items(event: Event) -> list[str]:
    """The items an event is about: its ``item_id`` and its order lines' items."""
    props = event.properties
    items = (
        [str(line.get("item_id")) for line in props.get("lines", [])] if "lines" in props else []
    )
    if "item_id" in props:
        items.append(str(props["item_id"]))
    return items


def matches(event: Event, cond: EventCount, category_of: CategoryOf) -> bool:
    """Whether ``event`` is one the condition counts (its window aside)."""
    if event.type.value not in cond.types:
        return False
    if cond.item_id is None and cond.category is None:
        return True
    items = event_items(event)
    if cond.item_id is not None and cond.item_id not in items:
        return False
    return cond.category is None or any(_in_category(category_of(i), cond.category) for i in items)


def holds(condition: Condition, trait_of: TraitOf, count_of: CountOf) -> bool:
    """Does a customer belong? ``trait_of(path)`` reads its traits, ``count_of(count)``
    tells how many of its events an event count sees in its window (or at least
    ``count.enough`` of them when there are more)."""
    if isinstance(condition, Combined):
        results = (holds(p, trait_of, count_of) for p in condition.parts)
        if condition.kind == "all":
            return all(results)
        if condition.kind == "any":
            return any(results)
        return not next(results)
    if isinstance(condition, TraitTest):
        expected = condition.choices if condition.choices is not None else condition.value
        return _test(trait_of(condition.path), condition.op, expected)
    return condition.holds_for(count_of(condition))


def evaluate(
    condition: Condition,
    traits: dict[str, Any],
    consent: dict[str, bool],
    events: Sequence[Event],
    as_of: datetime,
    category_of: CategoryOf,
) -> bool:
    """Does one customer (traits, consent, its events) belong, counting its events from
    scratch in windows that end at ``as_of``? (The reference the maintained counts equal.)"""

    def count(cond: EventCount) -> int:
        start = as_of - cond.within if cond.within is not None else None
        return sum(
            1
            for e in events
            if (start is None or e.timestamp >= start)
            and e.timestamp <= as_of
            and matches(e, cond, category_of)
        )

    return holds(condition, lambda path: trait_value(traits, consent, path), count)
