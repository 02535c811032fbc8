"""The online feature store of one process: subjects (a customer or an anonymous visitor,
keyed ``c:<customer_id>`` or ``a:<anonymous_id>``) and item windows, in memory.

An event updates the customer it names, else the visitor; a decision reads every subject
of the customer's identity cluster and merges them (:meth:`OnlineFeatures.snapshot`), so
browsing before login counts after it. Decayed weights are kept as ``(weight, at)`` and
decayed on read with a half-life; sliding windows use the newest event time seen as
"now", so replays and simulated clocks behave like live traffic. An event stamped later
than the server's clock (ingest accepts up to a day ahead) counts as happening now: one
such event must not hold every window a day ahead of the traffic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from retailor.domain.events import Event, EventType
from retailor.features.windows import WINDOWS, ItemWindows

#: Items and categories kept per subject (the oldest are forgotten first).
RECENT_ITEMS = 30
RECENT_CATEGORIES = 20
#: Half-life of interest in an item or category.
HALF_LIFE_SECONDS = 3600.0
#: A session without a session id ends after this much inactivity.
SESSION_GAP_SECONDS = 1800.0
VIEW, CART, PURCHASE = 0, 1, 2
_WEIGHTS = {VIEW: 1.0, CART: 3.0, PURCHASE: 5.0}
TRENDING_CACHE_SECONDS = 1.0
#: A snapshot is reused while its subjects have no new events, for this much of the
#: newest event time (decayed weights move little in that time).
SNAPSHOT_REUSE_SECONDS = 30.0
SNAPSHOT_CACHE = 100_000
#: How far ahead of this server's clock an event's time is believed (clock skew).
CLOCK_SKEW_SECONDS = 60.0

ItemInfo = Callable[[str], tuple[list[str], str | None]]


def _decayed(weight: float, at: float, now: float) -> float:
    return float(weight * 2.0 ** (-(max(0.0, now - at)) / HALF_LIFE_SECONDS))


def _bump(
    target: dict[str, tuple[float, float]], key: str, amount: float, at: float, cap: int
) -> None:
    old = target.get(key)
    if old is None:
        if len(target) >= cap:
            oldest = min(target, key=lambda k: target[k][1])
            del target[oldest]
        target[key] = (amount, at)
    elif at >= old[1]:
        target[key] = (_decayed(old[0], old[1], at) + amount, at)
    else:
        target[key] = (old[0] + _decayed(amount, at, old[1]), old[1])


@dataclass
class Subject:
    """What one customer or visitor did lately."""

    items: dict[str, tuple[float, float]] = field(default_factory=dict)
    categories: dict[str, tuple[float, float]] = field(default_factory=dict)
    cart: dict[str, float] = field(default_factory=dict)
    purchased: dict[str, float] = field(default_factory=dict)
    last_search: tuple[str, float] | None = None
    session_id: str | None = None
    session_started: float = 0.0
    session_events: int = 0
    last_at: float = 0.0
    channel: str | None = None
    store_id: str | None = None
    version: int = 0

    def fold(self, event: Event, at: float, info: ItemInfo) -> None:
        new_session = (
            event.session_id != self.session_id
            if event.session_id
            else at - self.last_at > SESSION_GAP_SECONDS
        )
        if at >= self.last_at:
            if new_session:
                self.session_id, self.session_started, self.session_events = (
                    event.session_id,
                    at,
                    0,
                )
            self.session_events += 1
            self.last_at = at
            if event.channel:
                self.channel = event.channel.value
            if event.store_id:
                self.store_id = event.store_id
        props, kind = event.properties, event.type
        if kind is EventType.PRODUCT_VIEWED:
            self._interest(str(props["item_id"]), _WEIGHTS[VIEW], at, info)
        elif kind is EventType.PRODUCT_ADDED:
            item = str(props["item_id"])
            self.cart[item] = self.cart.get(item, 0.0) + float(props.get("quantity") or 1)
            self._interest(item, _WEIGHTS[CART], at, info)
        elif kind is EventType.PRODUCT_REMOVED:
            item = str(props["item_id"])
            left = self.cart.get(item, 0.0) - float(props.get("quantity") or 1)
            if left > 0:
                self.cart[item] = left
            else:
                self.cart.pop(item, None)
        elif kind is EventType.PRODUCTS_SEARCHED:
            if self.last_search is None or at >= self.last_search[1]:
                self.last_search = (str(props["query"]), at)
        elif kind is EventType.ORDER_COMPLETED:
            for line in props["lines"]:
                item = str(line["item_id"])
                self.purchased[item] = max(self.purchased.get(item, 0.0), at)
                self.cart.pop(item, None)

    def _interest(self, item: str, amount: float, at: float, info: ItemInfo) -> None:
        _bump(self.items, item, amount, at, RECENT_ITEMS)
        path, _ = info(item)
        if path:
            _bump(self.categories, path[-1], amount, at, RECENT_CATEGORIES)


@dataclass(frozen=True)
class Snapshot:
    """The merged features of everyone a decision is about, read at ``now``."""

    recent_items: list[tuple[str, float]]  # newest first, with decayed weight
    categories: dict[str, float]
    cart: list[str]
    purchased: dict[str, float]  # item -> epoch seconds of the latest purchase
    last_search: str | None
    session_events: int
    session_seconds: float
    channel: str | None
    store_id: str | None
    now: float

    @property
    def known(self) -> bool:
        return bool(self.recent_items or self.cart or self.purchased or self.session_events)


EMPTY = Snapshot([], {}, [], {}, None, 0, 0.0, None, None, 0.0)


class OnlineFeatures:
    """Subjects and item windows of this process (see the module docstring); thread-safe."""

    def __init__(self, item_info: ItemInfo) -> None:
        self._info = item_info
        self._subjects: dict[str, Subject] = {}
        self._items: dict[str, ItemWindows] = {}
        self._lock = threading.Lock()
        self.newest = 0.0
        self._trending: tuple[float, float, list[tuple[str, float]]] | None = None
        self._pruned_at = 0.0
        self._snapshots: dict[tuple[str, ...], tuple[tuple[int, ...], int, Snapshot]] = {}

    # --- writing -------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> None:
        """Fold stored events (called in the ingest path, before they are acknowledged)."""
        with self._lock:
            latest = time.time() + CLOCK_SKEW_SECONDS
            for event in events:
                at = min(event.timestamp.timestamp(), latest)
                if at > self.newest:
                    self.newest = at
                key = (
                    f"c:{event.customer_id}"
                    if event.customer_id
                    else f"a:{event.anonymous_id}"
                    if event.anonymous_id
                    else None
                )
                if key is not None:
                    subject = self._subjects.get(key)
                    if subject is None:
                        subject = self._subjects[key] = Subject()
                    subject.fold(event, at, self._info)
                    subject.version += 1  # after the fold: a snapshot never caches half of it
                self._count(event, at)
            if self.newest - self._pruned_at > 60:
                self._prune()

    def export_state(self) -> dict[str, Any]:
        """What a snapshot keeps: every subject and item window (plain objects)."""
        with self._lock:
            return {
                "subjects": self._subjects,
                "items": self._items,
                "newest": self.newest,
                "pruned_at": self._pruned_at,
            }

    def import_state(self, state: dict[str, Any]) -> None:
        """Replace everything with a snapshot's ``export_state``."""
        with self._lock:
            self._subjects = state["subjects"]
            self._items = state["items"]
            self.newest = state["newest"]
            self._pruned_at = state["pruned_at"]
            self._trending = None
            self._snapshots = {}

    def _count(self, event: Event, at: float) -> None:
        if self.newest - at > WINDOWS["24h"]:
            return
        kind = event.type
        if kind is EventType.PRODUCT_VIEWED:
            self._window(str(event.properties["item_id"])).add(at, VIEW)
        elif kind is EventType.PRODUCT_ADDED:
            self._window(str(event.properties["item_id"])).add(at, CART)
        elif kind is EventType.ORDER_COMPLETED:
            for line in event.properties["lines"]:
                self._window(str(line["item_id"])).add(at, PURCHASE, float(line["quantity"]))

    def _window(self, item: str) -> ItemWindows:
        window = self._items.get(item)
        if window is None:
            window = self._items[item] = ItemWindows()
        return window

    def _prune(self) -> None:
        self._pruned_at = self.newest
        for item in list(self._items):
            window = self._items[item]
            window.prune(self.newest)
            if window.empty():
                del self._items[item]

    # --- reading -------------------------------------------------------------------

    def snapshot(self, keys: Sequence[str]) -> Snapshot:
        """The merged features of the subjects ``keys`` (``c:…``/``a:…``) as of now; reused
        while none of them changed and the clock moved less than a few seconds."""
        with self._lock:
            subjects = [s for s in (self._subjects.get(k) for k in keys) if s is not None]
            now = self.newest
        if not subjects:
            return Snapshot([], {}, [], {}, None, 0, 0.0, None, None, now)
        key = tuple(keys)
        versions = tuple(s.version for s in subjects)
        bucket = int(now // SNAPSHOT_REUSE_SECONDS)
        cached = self._snapshots.get(key)
        if cached is not None and cached[0] == versions and cached[1] == bucket:
            return cached[2]
        snapshot = self._merge(subjects, now)
        if len(self._snapshots) >= SNAPSHOT_CACHE:
            self._snapshots.clear()
        self._snapshots[key] = (versions, bucket, snapshot)
        return snapshot

    def _merge(self, subjects: list[Subject], now: float) -> Snapshot:
        items: dict[str, tuple[float, float]] = {}
        categories: dict[str, float] = {}
        cart: dict[str, None] = {}
        purchased: dict[str, float] = {}
        for s in subjects:
            for item, (weight, at) in list(s.items.items()):
                prior = items.get(item)
                w = _decayed(weight, at, now)
                items[item] = (w + (prior[0] if prior else 0.0), max(at, prior[1] if prior else at))
            for cat, (weight, at) in list(s.categories.items()):
                categories[cat] = categories.get(cat, 0.0) + _decayed(weight, at, now)
            cart.update(dict.fromkeys(s.cart))
            for item, at in list(s.purchased.items()):
                purchased[item] = max(at, purchased.get(item, 0.0))
        latest = max(subjects, key=lambda s: s.last_at)
        searches = [s.last_search for s in subjects if s.last_search]
        ordered = sorted(items.items(), key=lambda kv: -kv[1][1])
        return Snapshot(
            recent_items=[(item, w) for item, (w, _) in ordered],
            categories=categories,
            cart=list(cart),
            purchased=purchased,
            last_search=max(searches, key=lambda q: q[1])[0] if searches else None,
            session_events=latest.session_events,
            session_seconds=max(0.0, latest.last_at - latest.session_started),
            channel=latest.channel,
            store_id=latest.store_id,
            now=now,
        )

    def item_counts(self, item_id: str, window: str = "1h") -> tuple[float, float, float]:
        """An item's views, carts and purchases in the window ``5m``, ``1h`` or ``24h``."""
        with self._lock:
            counts = self._items.get(item_id)
            return counts.counts(self.newest, WINDOWS[window]) if counts else (0.0, 0.0, 0.0)

    def trending_now(self, k: int) -> list[tuple[str, float]]:
        """Items moving most in the last hour (views, carts x3, purchases x5; the last five
        minutes count double); recomputed at most once a second, and only after new events."""
        clock = time.monotonic()
        cached = self._trending
        if cached is not None and (
            cached[1] == self.newest or clock - cached[0] < TRENDING_CACHE_SECONDS
        ):
            return cached[2][:k]
        with self._lock:
            now = self.newest
            scored = []
            for item, windows in self._items.items():
                v, c, p = windows.counts(now, WINDOWS["1h"])
                v5, c5, p5 = windows.counts(now, WINDOWS["5m"])
                score = v + 3 * c + 5 * p + v5 + 3 * c5 + 5 * p5
                if score > 0:
                    scored.append((item, score))
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        top = scored[:200]
        self._trending = (clock, now, top)
        return top[:k]
