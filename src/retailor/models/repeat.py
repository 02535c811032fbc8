"""Buy it again: the customer's own purchases, when they are due again.

Each customer x item keeps its time-decayed purchase frequency and last purchase; each
item its typical repurchase interval (the median gap between repeat purchases across
customers). An item scores higher the more often and recently it was bought, and more
still as the time since its last purchase approaches its interval — the pattern of
groceries and consumables. ``MostBought`` is the naive list the blend must beat: the
customer's items by purchase count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from retailor.models.base import Context, ScoringRecommender
from retailor.models.interactions import DAY, Interactions, Kind
from retailor.models.sparse import max_per_cell, pack_csr, unpack_csr
from retailor.models.vocab import Vocab


class BuyAgain(ScoringRecommender):
    """Repeat purchases per customer and item, with expected repurchase intervals."""

    name = "buy_again"
    incremental = True

    def __init__(
        self, *, seed: int = 0, half_life_days: float = 90.0, due_weight: float = 0.5, **extra: Any
    ) -> None:
        super().__init__(seed=seed, half_life_days=half_life_days, due_weight=due_weight, **extra)
        self.users = Vocab()
        self.items = Vocab()
        self.frequency = sp.csr_matrix((0, 0), dtype=np.float32)
        self.last = sp.csr_matrix((0, 0), dtype=np.float64)
        self.interval = np.zeros(0)
        self.now = 0.0
        self.live: dict[str, dict[int, tuple[float, float]]] = {}

    @property
    def item_ids(self) -> Sequence[str]:
        return self.items.ids

    def fit(self, data: Interactions) -> Self:
        bought = data.of_kind(Kind.PURCHASE)
        self.users, self.items = Vocab(data.user_ids), Vocab(data.item_ids)
        self.now = data.now
        decay = bought.decay(self.params["half_life_days"], self.now)
        self.frequency = bought.matrix(decay, "user")
        self.last = max_per_cell(bought, data.n_users, data.n_items)
        self.interval = _repurchase_intervals(bought, data.n_items)
        self.live = {}
        self.fitted = True
        return self

    def update(self, data: Interactions) -> None:
        bought = data.of_kind(Kind.PURCHASE)
        codes = self.items.codes(data.item_ids)
        for r in range(len(bought)):
            if bought.user[r] < 0:
                continue
            user = str(bought.user_ids[bought.user[r]])
            item = int(codes[bought.item[r]])
            count, _ = self.live.setdefault(user, {}).get(item, (0.0, 0.0))
            self.live[user][item] = (count + 1.0, float(bought.ts[r]))
            self.now = max(self.now, float(bought.ts[r]))

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        now: float | None = context.now
        out = np.zeros(len(self.items), dtype=np.float64)
        if who is None:
            return out
        now = self.now if now is None else now
        half_life = self.params["half_life_days"]
        row = self.users.get(who)
        cells: dict[int, tuple[float, float]] = {}
        if row is not None and row < self.frequency.shape[0]:
            s, e = self.frequency.indptr[row], self.frequency.indptr[row + 1]
            lasts = self.last[row].toarray().ravel()
            for i, f in zip(self.frequency.indices[s:e], self.frequency.data[s:e], strict=True):
                cells[int(i)] = (
                    float(f) * 0.5 ** (max(now - self.now, 0) / DAY / half_life),
                    float(lasts[i]),
                )
        for item, (count, ts) in self.live.get(who, {}).items():
            f, last = cells.get(item, (0.0, 0.0))
            cells[item] = (f + count * 0.5 ** (max(now - ts, 0) / DAY / half_life), max(last, ts))
        due_weight = self.params["due_weight"]
        for item, (frequency, last) in cells.items():
            interval = self.interval[item] if item < self.interval.size else 0.0
            due = 1.0
            if interval > 0 and last > 0:
                ratio = (now - last) / interval
                due = 1.0 - due_weight + due_weight * float(np.exp(-((ratio - 1.0) ** 2)))
            out[item] = frequency * due
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"now": self.now}, {
            "users": self.users.array(), "items": self.items.array(), "interval": self.interval,
            **pack_csr("frequency", self.frequency), **pack_csr("last", self.last),
        }  # fmt: skip

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.now = meta["now"]
        self.users, self.items = Vocab(arrays["users"]), Vocab(arrays["items"])
        self.interval = arrays["interval"]
        self.frequency, self.last = unpack_csr("frequency", arrays), unpack_csr("last", arrays)


class MostBought(ScoringRecommender):
    """The naive baseline: the customer's own items by how many times they bought them."""

    name = "most_bought"

    def __init__(self, *, seed: int = 0, **extra: Any) -> None:
        super().__init__(seed=seed, **extra)
        self.users, self.items = Vocab(), Vocab()
        self.counts = sp.csr_matrix((0, 0), dtype=np.float32)
        self.ties = sp.csr_matrix((0, 0), dtype=np.float64)

    @property
    def item_ids(self) -> Sequence[str]:
        return self.items.ids

    def fit(self, data: Interactions) -> Self:
        bought = data.of_kind(Kind.PURCHASE)
        self.users, self.items = Vocab(data.user_ids), Vocab(data.item_ids)
        # count, with the most recent purchase breaking ties
        span = float(np.ptp(bought.ts)) if len(bought) else 1.0
        tie = (bought.ts - bought.ts.min(initial=0.0)) / max(span, 1.0) * 1e-3
        self.counts = bought.matrix(np.ones(len(bought), dtype=np.float32), "user")
        self.ties = max_per_cell(bought, data.n_users, data.n_items, tie)
        self.fitted = True
        return self

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        row = self.users.get(who) if who is not None else None
        if row is None or row >= self.counts.shape[0]:
            return np.zeros(len(self.items))
        return (
            self.counts[row].toarray().ravel().astype(np.float64) + self.ties[row].toarray().ravel()
        )

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"users": self.users.array(), "items": self.items.array(),
                    **pack_csr("counts", self.counts), **pack_csr("ties", self.ties)}  # fmt: skip

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.users, self.items = Vocab(arrays["users"]), Vocab(arrays["items"])
        self.counts, self.ties = unpack_csr("counts", arrays), unpack_csr("ties", arrays)


def _repurchase_intervals(bought: Interactions, n_items: int) -> np.ndarray:
    """The median gap (seconds) between one customer's purchases of an item, per item;
    0 where no customer bought it twice on different days."""
    keep = bought.user >= 0
    users, items, ts = (
        bought.user[keep].astype(np.int64),
        bought.item[keep].astype(np.int64),
        bought.ts[keep],
    )
    cell = users * max(n_items, 1) + items
    order = np.lexsort((ts, cell))
    cell, ts, items = cell[order], ts[order], items[order]
    same = cell[1:] == cell[:-1]
    gaps = np.diff(ts)
    valid = same & (gaps > DAY / 2)
    out = np.zeros(n_items)
    if not valid.any():
        return out
    gap_items, gap_values = items[1:][valid], gaps[valid]
    order = np.lexsort((gap_values, gap_items))
    gap_items, gap_values = gap_items[order], gap_values[order]
    bounds = np.flatnonzero(np.diff(gap_items)) + 1
    for group_items, group in zip(
        np.split(gap_items, bounds), np.split(gap_values, bounds), strict=True
    ):
        out[group_items[0]] = float(np.median(group))
    return out
