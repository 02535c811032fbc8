"""Item-to-item co-occurrence (SAR-style), and frequently-bought-together on baskets.

Items co-occur when the same unit (customer history, session or basket) touched both;
``source_kinds → target_kinds`` gives "viewed together" (views → views) or "viewed this,
bought that" (views → purchases). Counts become a similarity (jaccard, lift, cosine or
confidence), each item keeps its strongest neighbours, and a customer's time-decayed
affinity to the items they touched, plus the items in the request's context, is
multiplied through it. Between retrains, new units' co-occurrences are counted from
the stream and added at answer time.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from retailor.models.base import Context, ScoringRecommender
from retailor.models.interactions import KIND_NAMES, Interactions
from retailor.models.sparse import pack_csr, prune, unpack_csr
from retailor.models.vocab import Vocab

SIMILARITIES = ("jaccard", "lift", "cosine", "confidence", "counts")


#: Up to this many history items, scoring adds similarity rows directly (no sparse product).
DIRECT_ROWS = 64


class CoOccurrence(ScoringRecommender):
    """Items that go with what the customer (or the context) touched."""

    name = "item_item"
    incremental = True

    def __init__(
        self,
        *,
        seed: int = 0,
        unit: str = "user",
        source_kinds: Sequence[str] = ("view", "cart", "purchase"),
        target_kinds: Sequence[str] = ("view", "cart", "purchase"),
        similarity: str = "jaccard",
        half_life_days: float | None = 60.0,
        neighbours: int = 100,
        min_count: int = 2,
        max_unit_items: int = 200,
        weights: dict[str, float] | None = None,
        **extra: Any,
    ) -> None:
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {', '.join(SIMILARITIES)}")
        if unit not in ("user", "session", "basket"):
            raise ValueError("unit must be user, session or basket")
        super().__init__(
            seed=seed, unit=unit, source_kinds=list(source_kinds), target_kinds=list(target_kinds),
            similarity=similarity, half_life_days=half_life_days, neighbours=neighbours,
            min_count=min_count, max_unit_items=max_unit_items, weights=weights, **extra,
        )  # fmt: skip
        self.items = Vocab()
        self.users = Vocab()
        self.sim = sp.csr_matrix((0, 0), dtype=np.float32)
        self.affinity = sp.csr_matrix((0, 0), dtype=np.float32)
        self.source_count = np.zeros(0)
        self.target_count = np.zeros(0)
        self.units = 0
        # stream state
        self.delta: dict[int, dict[int, float]] = defaultdict(dict)
        self.recent: dict[str, deque[int]] = {}
        self.live_affinity: dict[str, dict[int, float]] = defaultdict(dict)

    def _kinds(self, names: Sequence[str]) -> list[int]:
        return [int(KIND_NAMES[n]) for n in names]

    def _unit_rows(self, data: Interactions) -> np.ndarray:
        return getattr(data, self.params["unit"])

    def _binary(self, data: Interactions, kinds: Sequence[str], n_units: int) -> sp.csr_matrix:
        rows = self._unit_rows(data)
        keep = np.isin(data.kind, self._kinds(kinds)) & (rows >= 0)
        m = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], data.item[keep])),
            shape=(n_units, data.n_items),
        )
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    @property
    def item_ids(self) -> Sequence[str]:
        return self.items.ids

    def fit(self, data: Interactions) -> Self:
        unit = self.params["unit"]
        n_units = {
            "user": data.n_users,
            "session": data.session_ids.size,
            "basket": data.basket_ids.size,
        }[unit]
        data = self._cap(data, n_units)
        src = self._binary(data, self.params["source_kinds"], n_units)
        tgt = self._binary(data, self.params["target_kinds"], n_units)
        counts = (src.T @ tgt).tocsr().astype(np.float32)
        if self.params["source_kinds"] == self.params["target_kinds"]:
            counts.setdiag(0)
            counts.eliminate_zeros()
        counts.data[counts.data < self.params["min_count"]] = 0
        counts.eliminate_zeros()
        self.source_count = np.asarray(src.sum(axis=0)).ravel()
        self.target_count = np.asarray(tgt.sum(axis=0)).ravel()
        self.units = int(n_units)
        self.sim = prune(self._similarity(counts), self.params["neighbours"])
        self.items = Vocab(data.item_ids)
        self.users = Vocab(data.user_ids)
        values = data.weights(self.params["weights"]) * data.decay(self.params["half_life_days"])
        self.affinity = (
            data.matrix(values, "user") if data.n_users else sp.csr_matrix((0, data.n_items))
        )
        self.delta, self.recent, self.live_affinity = defaultdict(dict), {}, defaultdict(dict)
        self.fitted = True
        return self

    def _cap(self, data: Interactions, n_units: int) -> Interactions:
        """Keep each unit's most recent ``max_unit_items`` rows, so heavy units do not
        dominate the cost (rows are sorted by time)."""
        rows = self._unit_rows(data)
        limit = self.params["max_unit_items"]
        if not len(data) or n_units == 0:
            return data
        counts = np.bincount(rows[rows >= 0], minlength=n_units)
        if counts.max(initial=0) <= limit:
            return data
        order = np.argsort(rows, kind="stable")
        ranks = np.empty(len(data), dtype=np.int64)
        sorted_rows = rows[order]
        ends = np.searchsorted(sorted_rows, sorted_rows, side="right")
        ranks[order] = (ends - 1) - np.arange(len(data))  # 0 = the unit's newest row
        return data.subset((rows < 0) | (ranks < limit))

    def _similarity(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        kind = self.params["similarity"]
        coo = counts.tocoo()
        c = coo.data.astype(np.float64)
        si, tj = self.source_count[coo.row], self.target_count[coo.col]
        if kind == "jaccard":
            values = c / (si + tj - c)
        elif kind == "lift":
            values = c * max(self.units, 1) / (si * tj)
        elif kind == "cosine":
            values = c / np.sqrt(si * tj)
        elif kind == "confidence":
            values = c / si
        else:
            values = c
        return sp.csr_matrix((values.astype(np.float32), (coo.row, coo.col)), shape=counts.shape)

    # --- answering ---------------------------------------------------------------------

    def _affinity(self, who: str | None, context: Context) -> dict[int, float]:
        weights: dict[int, float] = {}
        if who is not None:
            row = self.users.get(who)
            if row is not None and row < self.affinity.shape[0]:
                start, end = self.affinity.indptr[row], self.affinity.indptr[row + 1]
                for i, v in zip(
                    self.affinity.indices[start:end], self.affinity.data[start:end], strict=True
                ):
                    weights[int(i)] = float(v)
            for i, v in self.live_affinity.get(who, {}).items():
                weights[i] = weights.get(i, 0.0) + v
        top = max(weights.values(), default=1.0)
        n = len(context.session_items)
        for pos, item in enumerate(context.session_items, start=1):
            code = self.items.get(item)
            if code is not None:
                weights[code] = weights.get(code, 0.0) + top * pos / n
        for item in context.items:
            code = self.items.get(item)
            if code is not None:
                weights[code] = weights.get(code, 0.0) + 2 * top
        return weights

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        weights = self._affinity(who, context)
        out = np.zeros(len(self.items), dtype=np.float64)
        if not weights:
            return out
        codes = np.fromiter(weights, dtype=np.int64)
        values = np.fromiter(weights.values(), dtype=np.float64)
        fitted = codes < self.sim.shape[0]
        if fitted.sum() <= DIRECT_ROWS:  # a short history: add its rows of the similarity
            indptr, indices, data = self.sim.indptr, self.sim.indices, self.sim.data
            for code, value in zip(codes[fitted].tolist(), values[fitted].tolist(), strict=True):
                start, end = indptr[code], indptr[code + 1]
                if end > start:
                    out[indices[start:end]] += value * data[start:end]
        else:
            vector = sp.csr_matrix(
                (values[fitted], (np.zeros(int(fitted.sum()), dtype=np.int64), codes[fitted])),
                shape=(1, self.sim.shape[0]),
            )
            base = np.asarray((vector @ self.sim).todense()).ravel()
            out[: base.size] += base
        for code, value in zip(codes, values, strict=True):
            for j, c in self.delta.get(int(code), {}).items():
                out[j] += value * c / (self._count(int(code)) + self._count(j) + 1.0)
        return out

    def _count(self, code: int) -> float:
        return float(self.source_count[code]) if code < self.source_count.size else 0.0

    # --- the stream --------------------------------------------------------------------

    def update(self, data: Interactions) -> None:
        """Count co-occurrences of new interactions with their unit's recent items."""
        rows = self._unit_rows(data)
        unit_ids = {"user": data.user_ids, "session": data.session_ids, "basket": data.basket_ids}[
            self.params["unit"]
        ]
        items = self.items.codes(data.item_ids)[data.item] if len(data) else np.zeros(0, np.int64)
        values = data.weights(self.params["weights"])
        for r in range(len(data)):
            code = int(items[r])
            if data.user[r] >= 0:
                user = str(data.user_ids[data.user[r]])
                self.live_affinity[user][code] = self.live_affinity[user].get(code, 0.0) + float(
                    values[r]
                )
            if rows[r] < 0:
                continue
            unit = str(unit_ids[rows[r]])
            seen = self.recent.setdefault(unit, deque(maxlen=50))
            if code in seen:
                continue
            for other in seen:
                self.delta[other][code] = self.delta[other].get(code, 0.0) + 1.0
                self.delta[code][other] = self.delta[code].get(other, 0.0) + 1.0
            seen.append(code)

    # --- persistence -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"units": self.units}, {
            "items": self.items.array(), "users": self.users.array(),
            **pack_csr("sim", self.sim), **pack_csr("affinity", self.affinity),
            "source_count": self.source_count, "target_count": self.target_count,
        }  # fmt: skip

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.units = meta["units"]
        self.items, self.users = Vocab(arrays["items"]), Vocab(arrays["users"])
        self.sim, self.affinity = unpack_csr("sim", arrays), unpack_csr("affinity", arrays)
        self.source_count, self.target_count = arrays["source_count"], arrays["target_count"]


class FrequentlyBoughtTogether(CoOccurrence):
    """Basket association rules: items bought in the same order as the cart's items,
    scored by confidence and kept only when the lift shows a real association."""

    name = "fbt"

    def __init__(self, *, seed: int = 0, min_lift: float = 1.0, **params: Any) -> None:
        defaults: dict[str, Any] = {
            "unit": "basket", "source_kinds": ("purchase",), "target_kinds": ("purchase",),
            "similarity": "confidence", "min_count": 2, "half_life_days": 30.0,
        }  # fmt: skip
        super().__init__(seed=seed, **{**defaults, **params, "min_lift": min_lift})

    def _similarity(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        coo = counts.tocoo()
        c = coo.data.astype(np.float64)
        si, tj = self.source_count[coo.row], self.target_count[coo.col]
        confidence = c / si
        lift = confidence * max(self.units, 1) / tj
        confidence[lift < self.params["min_lift"]] = 0
        m = sp.csr_matrix((confidence.astype(np.float32), (coo.row, coo.col)), shape=counts.shape)
        m.eliminate_zeros()
        return m
