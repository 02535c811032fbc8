"""A profile's accumulated state: every field is a commutative, mergeable accumulator, so
the state does not depend on the order events are folded in, and two customers' states
merge into the state of their union.

Time decay of favourites uses accumulators of ``w * 2**((t - EPOCH) / HALF_LIFE)``; the
decayed score at time ``now`` is that times ``2**(-(now - EPOCH) / HALF_LIFE)`` (only
rankings are used, so ``now`` never needs to be known when folding).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.domain.events import Event, EventType

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
HALF_LIFE_DAYS = 30.0
INTEREST_WEIGHTS = {
    EventType.PRODUCT_VIEWED: 1.0,
    EventType.PRODUCT_ADDED: 3.0,
    EventType.ORDER_COMPLETED: 5.0,
}
BOT_EVENTS_PER_MINUTE = 120
RECENT_EVENTS = 10
_encode = msgspec.json.Encoder().encode
IMPOSSIBLE_QUANTITY = 10_000
IMPOSSIBLE_PRICE = 1_000_000

ItemInfo = Callable[[str], tuple[list[str], str | None]]  # item_id -> (category path, brand)


def decay_weight(at: datetime) -> float:
    return math.exp(math.log(2) * (at - EPOCH).total_seconds() / 86_400 / HALF_LIFE_DAYS)


@dataclass
class Stamped:
    """A value with the time it was set; the later one wins (ties: the larger value)."""

    at: datetime
    value: Any

    def newer(self, other: Stamped | None) -> Stamped:
        if other is None:
            return self
        return self if (self.at, repr(self.value)) >= (other.at, repr(other.value)) else other


def _latest(target: dict[str, Stamped], key: str, stamped: Stamped) -> None:
    target[key] = stamped.newer(target.get(key))


def _add(target: dict[str, float], key: str, amount: float) -> None:
    target[key] = target.get(key, 0.0) + amount


@dataclass
class Order:
    """One order as the profile sees it."""

    at: datetime
    revenue: float
    discounted: bool


@dataclass
class ProfileState:
    """Everything a profile accumulates (see the module docstring)."""

    first_seen: datetime | None = None
    last_seen: datetime | None = None
    events: int = 0
    sessions: set[str] = field(default_factory=set)
    orders: dict[str, Order] = field(default_factory=dict)
    cancelled_orders: set[str] = field(default_factory=set)
    voided: set[str] = field(default_factory=set)
    refunded: float = 0.0
    channels: dict[str, float] = field(default_factory=dict)
    stores: dict[str, float] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)
    brands: dict[str, float] = field(default_factory=dict)
    #: interest in items the catalog did not know yet, placed in categories and brands
    #: once it does (so the order of catalog and history does not change a profile)
    unplaced: dict[str, float] = field(default_factory=dict)
    traits: dict[str, Stamped] = field(default_factory=dict)
    consent: dict[str, Stamped] = field(default_factory=dict)
    loyalty_tier: Stamped | None = None
    loyalty_enrolled: datetime | None = None
    points_earned: float = 0.0
    points_redeemed: float = 0.0
    minutes: dict[int, int] = field(default_factory=dict)
    impossible: int = 0
    recent: list[tuple[datetime, str, bytes]] = field(default_factory=list)

    def fold(self, event: Event, item_info: ItemInfo) -> None:
        """Add one event."""
        at = event.timestamp
        if len(self.recent) < RECENT_EVENTS or (at, event.event_id) > self.recent[0][:2]:
            self._keep_recent([(at, event.event_id, _encode(event))])
        self.first_seen = at if self.first_seen is None else min(self.first_seen, at)
        self.last_seen = at if self.last_seen is None else max(self.last_seen, at)
        self.events += 1
        minute = int(at.timestamp() // 60)
        self.minutes[minute] = self.minutes.get(minute, 0) + 1
        if event.session_id:
            self.sessions.add(event.session_id)
        if event.channel:
            _add(self.channels, event.channel.value, 1.0)
        if event.store_id:
            _add(self.stores, event.store_id, 1.0)
        props = event.properties
        kind = event.type
        if kind in (EventType.PRODUCT_VIEWED, EventType.PRODUCT_ADDED):
            self._interest(props["item_id"], INTEREST_WEIGHTS[kind], at, item_info)
        elif kind is EventType.ORDER_COMPLETED:
            self._order(event, item_info)
        elif kind is EventType.ORDER_REFUNDED:
            self._refund(props)
        elif kind is EventType.IDENTIFY:
            for name, value in (props.get("traits") or {}).items():
                _latest(self.traits, name, Stamped(at, value))
        elif kind is EventType.CONSENT_UPDATED:
            for purpose, granted in props["purposes"].items():
                _latest(self.consent, purpose, Stamped(at, bool(granted)))
        elif kind is EventType.LOYALTY_ENROLLED:
            self.loyalty_enrolled = (
                at if self.loyalty_enrolled is None else min(self.loyalty_enrolled, at)
            )
            if props.get("tier"):
                self.loyalty_tier = Stamped(at, str(props["tier"])).newer(self.loyalty_tier)
        elif kind is EventType.POINTS_EARNED:
            self.points_earned += float(props["points"])
        elif kind is EventType.POINTS_REDEEMED:
            self.points_redeemed += float(props["points"])

    def _keep_recent(self, entries: list[tuple[datetime, str, bytes]]) -> None:
        """The newest few events (by timestamp, then id), kept encoded for fast reads, in a
        min-heap: the oldest kept is ``recent[0]``."""
        for entry in entries:
            if len(self.recent) < RECENT_EVENTS:
                heapq.heappush(self.recent, entry)
            elif entry > self.recent[0]:
                heapq.heapreplace(self.recent, entry)

    def newest_events(self) -> list[bytes]:
        """The kept events, newest first."""
        return [encoded for _, _, encoded in sorted(self.recent, reverse=True)]

    def _interest(self, item_id: str, weight: float, at: datetime, item_info: ItemInfo) -> None:
        self._place(item_id, weight * decay_weight(at), item_info)

    def _place(self, item_id: str, w: float, item_info: ItemInfo) -> None:
        category, brand = item_info(item_id)
        if not category and not brand:
            _add(self.unplaced, item_id, w)
            return
        if category:
            _add(self.categories, " > ".join(category), w)
        if brand:
            _add(self.brands, brand, w)

    def place(self, item_info: ItemInfo) -> None:
        """Move the interest in items the catalog now knows into categories and brands."""
        waiting, self.unplaced = self.unplaced, {}
        for item_id, w in waiting.items():
            self._place(item_id, w, item_info)

    def _order(self, event: Event, item_info: ItemInfo) -> None:
        props = event.properties
        lines = props["lines"]
        revenue = sum(float(line["quantity"]) * float(line["price"]) for line in lines)
        discounted = bool(props.get("discount") or props.get("coupon"))
        order_id = str(props["order_id"])
        known = self.orders.get(order_id)
        if known is None or (event.timestamp, revenue) < (known.at, known.revenue):
            self.orders[order_id] = Order(event.timestamp, revenue, discounted)
        for line in lines:
            self._interest(
                str(line["item_id"]),
                INTEREST_WEIGHTS[EventType.ORDER_COMPLETED],
                event.timestamp,
                item_info,
            )
            if (
                float(line["quantity"]) > IMPOSSIBLE_QUANTITY
                or float(line["price"]) > IMPOSSIBLE_PRICE
            ):
                self.impossible += 1

    def _refund(self, props: dict[str, Any]) -> None:
        order_id = str(props["order_id"])
        lines = props.get("lines") or []
        if props.get("cancelled"):
            self.cancelled_orders.add(order_id)
        if props.get("amount") is not None:
            self.refunded += float(props["amount"])
        elif lines:
            self.refunded += sum(
                float(line.get("price") or 0) * float(line["quantity"]) for line in lines
            )
        else:  # a refund that says nothing of its amount voids the whole order
            self.voided.add(order_id)

    def merge(self, other: ProfileState) -> None:
        """Absorb ``other`` (another cluster merged into this customer)."""
        if other.first_seen is not None:
            self.first_seen = (
                other.first_seen
                if self.first_seen is None
                else min(self.first_seen, other.first_seen)
            )
        if other.last_seen is not None:
            self.last_seen = (
                other.last_seen if self.last_seen is None else max(self.last_seen, other.last_seen)
            )
        self.events += other.events
        self.sessions |= other.sessions
        for order_id, order in other.orders.items():
            mine = self.orders.get(order_id)
            if mine is None or (order.at, order.revenue) < (mine.at, mine.revenue):
                self.orders[order_id] = order
        self.cancelled_orders |= other.cancelled_orders
        self.voided |= other.voided
        self.refunded += other.refunded
        for mine_map, theirs in (
            (self.channels, other.channels),
            (self.stores, other.stores),
            (self.categories, other.categories),
            (self.brands, other.brands),
            (self.unplaced, other.unplaced),
        ):
            for key, value in theirs.items():
                _add(mine_map, key, value)
        for key, stamped in other.traits.items():
            _latest(self.traits, key, stamped)
        for key, stamped in other.consent.items():
            _latest(self.consent, key, stamped)
        if other.loyalty_tier is not None:
            self.loyalty_tier = other.loyalty_tier.newer(self.loyalty_tier)
        if other.loyalty_enrolled is not None:
            self.loyalty_enrolled = (
                other.loyalty_enrolled
                if self.loyalty_enrolled is None
                else min(self.loyalty_enrolled, other.loyalty_enrolled)
            )
        self.points_earned += other.points_earned
        self.points_redeemed += other.points_redeemed
        for minute, count in other.minutes.items():
            self.minutes[minute] = self.minutes.get(minute, 0) + count
        self.impossible += other.impossible
        self._keep_recent(other.recent)

    # -- derived values -------------------------------------------------------------

    def live_orders(self) -> dict[str, Order]:
        """Orders not cancelled."""
        return {k: v for k, v in self.orders.items() if k not in self.cancelled_orders}

    def revenue(self) -> float:
        """Quantity x price over the order lines, net of refunds and cancellations."""
        voided = sum(self.orders[o].revenue for o in self.voided if o in self.orders)
        return sum(o.revenue for o in self.orders.values()) - self.refunded - voided

    def max_events_per_minute(self) -> int:
        return max(self.minutes.values(), default=0)
