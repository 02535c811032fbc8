"""What decisions need of the catalog, in memory: category path, brand, price, margin,
stock, visibility and age of every item, and the words to find it by, updated when the
catalog changes."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from retailor.decision.search import QueryIndex
from retailor.domain.catalog import CatalogItem

HIDDEN_STATUSES = frozenset({"hidden", "discontinued", "inactive", "draft", "archived"})


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """One item as rules see it."""

    item_id: str
    name: str | None
    category: tuple[str, ...]
    brand: str | None
    price: float | None
    cost: float | None
    stock: int | None
    hidden: bool
    created_at: float | None
    attributes: dict[str, Any]

    @property
    def margin_rate(self) -> float | None:
        if self.price is None or self.cost is None or self.price <= 0:
            return None
        return (self.price - self.cost) / self.price

    def label(self) -> str:
        return self.name or self.item_id


def facts_of(item: CatalogItem) -> ItemFacts:
    attrs = item.attributes
    status = str(attrs.get("status", "")).lower()
    hidden = (
        attrs.get("hidden") is True or attrs.get("visible") is False or status in HIDDEN_STATUSES
    )
    return ItemFacts(
        item_id=item.item_id,
        name=item.name,
        category=tuple(item.category),
        brand=item.brand,
        price=item.price,
        cost=item.cost,
        stock=item.stock,
        hidden=hidden,
        created_at=item.created_at.timestamp() if item.created_at else None,
        attributes=dict(attrs),
    )


class CatalogIndex:
    """Facts by item id; replaced item by item as the catalog changes (thread-safe reads)."""

    def __init__(self, items: Iterable[CatalogItem] = ()) -> None:
        self._facts: dict[str, ItemFacts] = {}
        self._lock = threading.Lock()
        self._newest: tuple[int, list[ItemFacts]] | None = None
        self.version = 0
        self.words = QueryIndex()
        self.update(items)

    def update(self, items: Iterable[CatalogItem]) -> None:
        fresh = {item.item_id: facts_of(item) for item in items}
        for facts in fresh.values():
            self.words.put(facts.item_id, facts.name, facts.category, facts.brand)
        with self._lock:
            self._facts.update(fresh)
            self.version += 1

    def get(self, item_id: str) -> ItemFacts | None:
        return self._facts.get(item_id)

    def newest(self, k: int) -> list[ItemFacts]:
        """The ``k`` most recently created visible items (kept sorted between changes)."""
        cached = self._newest
        if cached is None or cached[0] != self.version:
            version = self.version
            dated = [
                f for f in list(self._facts.values()) if f.created_at is not None and not f.hidden
            ]
            dated.sort(key=lambda f: (-(f.created_at or 0.0), f.item_id))
            cached = self._newest = (version, dated[:500])
        return cached[1][:k]

    def __len__(self) -> int:
        return len(self._facts)
