"""Popularity and trending: time-decayed counts weighted by event kind.

``Popularity`` ranks items by decayed interest globally, within a category (the
context's category, matched on any level of the item's path) and per store. ``Trending``
compares a short half-life against a long one: an item whose recent interest is above
what its long-run rate predicts trends, so a new item trends within its first events.
Both update from the stream between retrains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np

from retailor.models.base import Context, ScoringRecommender
from retailor.models.interactions import DAY, Interactions
from retailor.models.vocab import Vocab


class DecayedCounts:
    """Per-item sums of ``weight x 0.5^(age / half_life)``, kept relative to ``now``."""

    def __init__(self, half_life_days: float) -> None:
        self.half_life = half_life_days
        self.values = np.zeros(0, dtype=np.float64)
        self.now = 0.0

    def grow(self, size: int) -> None:
        if size > self.values.size:
            self.values = np.concatenate([self.values, np.zeros(size - self.values.size)])

    def add(self, items: np.ndarray, weights: np.ndarray, ts: np.ndarray, size: int) -> None:
        self.grow(size)
        if ts.size == 0:
            return
        newest = max(self.now, float(ts.max()))
        if newest > self.now and self.values.any():
            self.values *= 0.5 ** ((newest - self.now) / DAY / self.half_life)
        self.now = newest
        factors = weights * np.power(0.5, np.maximum(newest - ts, 0.0) / DAY / self.half_life)
        np.add.at(self.values, items, factors)

    def at(self, now: float | None) -> np.ndarray:
        if now is None or now <= self.now:
            return self.values
        return self.values * 0.5 ** ((now - self.now) / DAY / self.half_life)


class Popularity(ScoringRecommender):
    """Most popular items, decayed by time; by category and store when the context says."""

    name = "popularity"
    incremental = True

    def __init__(
        self,
        *,
        seed: int = 0,
        half_life_days: float = 30.0,
        weights: dict[str, float] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(seed=seed, half_life_days=half_life_days, weights=weights, **extra)
        self.vocab = Vocab()
        self.counts = DecayedCounts(half_life_days)
        self.store_counts: dict[str, DecayedCounts] = {}
        self.categories: dict[str, set[str]] = {}

    @property
    def item_ids(self) -> Sequence[str]:
        return self.vocab.ids

    def fit(self, data: Interactions) -> Self:
        self.vocab = Vocab()
        self.counts = DecayedCounts(self.params["half_life_days"])
        self.store_counts = {}
        self.categories = {}
        self.update(data)
        self.fitted = True
        return self

    def update(self, data: Interactions) -> None:
        items = self.vocab.codes(data.item_ids)[data.item]
        weights = data.weights(self.params["weights"]).astype(np.float64)
        self.counts.add(items, weights, data.ts, len(self.vocab))
        if data.stores is not None and data.store_ids.size:
            for code, store in enumerate(data.store_ids):
                rows = data.stores == code
                counts = self.store_counts.setdefault(
                    str(store), DecayedCounts(self.params["half_life_days"])
                )
                counts.add(items[rows], weights[rows], data.ts[rows], len(self.vocab))
        for item_id in np.unique(data.item_ids[np.unique(data.item)]) if len(data) else ():
            attrs = data.attributes.get(str(item_id))
            if attrs:
                for level in attrs.category:
                    self.categories.setdefault(level.lower(), set()).add(str(item_id))

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        scores = self.counts.at(context.now).copy()
        if context.store_id and context.store_id in self.store_counts:
            local = self.store_counts[context.store_id].at(context.now)
            local = np.pad(local, (0, scores.size - local.size))
            scores = local * 10.0 + scores / max(scores.max(initial=0.0), 1e-9)
        if context.category:
            members = self.categories.get(context.category.lower(), set())
            mask = np.zeros(scores.size, dtype=bool)
            mask[[self.vocab.index[i] for i in members if i in self.vocab.index]] = True
            scores = np.where(mask, scores, 0.0)
        return scores

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {"items": self.vocab.array(), "counts": self.counts.values}
        stores = sorted(self.store_counts)
        for i, store in enumerate(stores):
            arrays[f"store_{i}"] = self.store_counts[store].values
        meta = {
            "now": self.counts.now,
            "stores": stores,
            "store_now": [self.store_counts[s].now for s in stores],
            "categories": {c: sorted(m) for c, m in self.categories.items()},
        }
        return meta, arrays

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.vocab = Vocab(arrays["items"])
        self.counts = DecayedCounts(self.params["half_life_days"])
        self.counts.values, self.counts.now = arrays["counts"].astype(np.float64), meta["now"]
        self.store_counts = {}
        for i, (store, now) in enumerate(zip(meta["stores"], meta["store_now"], strict=True)):
            counts = DecayedCounts(self.params["half_life_days"])
            counts.values, counts.now = arrays[f"store_{i}"].astype(np.float64), now
            self.store_counts[store] = counts
        self.categories = {c: set(m) for c, m in meta["categories"].items()}


class Trending(ScoringRecommender):
    """Items whose recent interest outruns their long-run rate (a Poisson z-score)."""

    name = "trending"
    incremental = True

    def __init__(
        self,
        *,
        seed: int = 0,
        short_half_life_days: float = 1.0,
        long_half_life_days: float = 14.0,
        weights: dict[str, float] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(
            seed=seed,
            short_half_life_days=short_half_life_days,
            long_half_life_days=long_half_life_days,
            weights=weights,
            **extra,
        )
        self.vocab = Vocab()
        self.short = DecayedCounts(short_half_life_days)
        self.long = DecayedCounts(long_half_life_days)

    @property
    def item_ids(self) -> Sequence[str]:
        return self.vocab.ids

    def fit(self, data: Interactions) -> Self:
        self.vocab = Vocab()
        self.short = DecayedCounts(self.params["short_half_life_days"])
        self.long = DecayedCounts(self.params["long_half_life_days"])
        self.update(data)
        self.fitted = True
        return self

    def update(self, data: Interactions) -> None:
        items = self.vocab.codes(data.item_ids)[data.item]
        weights = data.weights(self.params["weights"]).astype(np.float64)
        self.short.add(items, weights, data.ts, len(self.vocab))
        self.long.add(items, weights, data.ts, len(self.vocab))

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        short, long = self.short.at(context.now), self.long.at(context.now)
        expected = long * (self.short.half_life / self.long.half_life)
        return (short - expected) / np.sqrt(expected + 1.0)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"now": self.short.now}, {
            "items": self.vocab.array(),
            "short": self.short.values,
            "long": self.long.values,
        }

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.vocab = Vocab(arrays["items"])
        self.short = DecayedCounts(self.params["short_half_life_days"])
        self.long = DecayedCounts(self.params["long_half_life_days"])
        self.short.values, self.long.values = arrays["short"], arrays["long"]
        self.short.now = self.long.now = meta["now"]
