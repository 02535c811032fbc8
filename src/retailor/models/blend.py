"""The default recommendation: every source's candidates, ranked by a learned model.

Each source proposes its best candidates for the customer; a candidate's features are
each source's score and rank for it, how often and how lately the customer bought it,
and its popularity. A LightGBM LambdaRank model learns from a validation window at the
end of the training data — sources fitted on what came before, labels from what the
customers bought in the window — which features predict a purchase; then the sources
are refitted on everything. A visitor with nothing known gets popular and trending
items (the cold-start answer), so the blend always answers.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from retailor.models.base import NO_CONTEXT, Context, Recommender, Scored
from retailor.models.fits import Fits, cutoff
from retailor.models.interactions import DAY, Interactions, Kind
from retailor.models.sparse import max_per_cell, pack_csr, unpack_csr
from retailor.models.vocab import Vocab

DEFAULT_SOURCES = (
    "buy_again", "most_bought", "item_item", "viewed_bought", "fbt", "als",
    "session_knn", "content", "popularity", "trending",
)  # fmt: skip
COLD_SOURCES = ("popularity", "trending")


class Blend(Recommender):
    """Candidates from every source, scored by a learning-to-rank model."""

    name = "blend"
    incremental = True

    def __init__(
        self,
        *,
        seed: int = 0,
        sources: Sequence[str] = DEFAULT_SOURCES,
        candidates: int = 30,
        validation_days: float = 30.0,
        windows: int = 2,
        max_training_customers: int = 1500,
        trees: int = 100,
        learning_rate: float = 0.08,
        leaves: int = 31,
        **extra: Any,
    ) -> None:
        super().__init__(
            seed=seed, sources=list(sources), candidates=candidates,
            validation_days=validation_days, windows=windows, max_training_customers=max_training_customers,
            trees=trees, learning_rate=learning_rate, leaves=leaves, **extra,
        )  # fmt: skip
        self.sources: dict[str, Recommender] = {}
        self.history = History()
        self.ranker: Any = None
        self.training: dict[str, Any] = {}

    # --- training ----------------------------------------------------------------------

    def fit(self, data: Interactions) -> Self:
        """Learn the ranker on the validation windows, then answer with sources fitted on
        all of ``data``."""
        return self.fit_from(Fits(data, self.seed), None)

    def fit_from(self, fits: Fits, until: float | None) -> Self:
        """``fit`` on the rows of ``fits`` before ``until`` (None: all), sharing the
        sources and validation examples other fits of the same run also need."""
        data = fits.data
        days = self.params["validation_days"] * DAY
        newest = data.now if until is None else cutoff(until)
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        groups: list[int] = []
        for window in range(self.params["windows"]):
            end = cutoff(newest - window * days)
            start = cutoff(end - days)
            newest_window = until is None and window == 0  # its end is the newest event
            inside = (data.ts >= start) & ((data.ts < end) | newest_window)
            later = data.subset(inside).of_kind(Kind.PURCHASE)
            if not len(fits.until(start)) or not len(later):
                break
            key = ("blend-examples", start, end, repr(sorted(self.params.items())))
            window_rows, window_labels, window_groups = fits.memo(
                key, functools.partial(self._examples, fits, start, later)
            )
            rows += window_rows
            labels += window_labels
            groups += window_groups
        self._learn(rows, labels, groups)
        self.sources = {n: fits.model(n, until) for n in self.params["sources"]}
        self.history = fits.memo(("history", until), lambda: History().fit(fits.until(until)))
        self.fitted = True
        return self

    def _examples(
        self, fits: Fits, start: float, window: Interactions
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
        """Candidates of the customers who bought in ``window`` (from sources fitted on
        what came before ``start``), labelled by what they bought."""
        self.sources = {n: fits.model(n, start) for n in self.params["sources"]}
        self.history = fits.memo(("history", start), lambda: History().fit(fits.until(start)))
        truth: dict[str, set[str]] = {}
        for u, i in zip(window.user, window.item, strict=True):
            if u >= 0:
                truth.setdefault(str(window.user_ids[u]), set()).add(str(window.item_ids[i]))
        customers = sorted(c for c in truth if self.history.users.get(c) is not None)
        limit = self.params["max_training_customers"]
        if len(customers) > limit:
            rng = np.random.default_rng([self.seed, int(start)])
            customers = sorted(rng.choice(customers, size=limit, replace=False).tolist())
        context = Context(now=start)
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        groups: list[int] = []
        for customer in customers:
            items, features = self._candidates(customer, context, ())
            hits = np.array([item in truth[customer] for item in items], dtype=np.float32)
            if items and hits.any():
                rows.append(features)
                labels.append(hits)
                groups.append(len(items))
        return rows, labels, groups

    def _learn(self, rows: list[np.ndarray], labels: list[np.ndarray], groups: list[int]) -> None:
        import lightgbm as lgb

        self.ranker = None
        self.training = {"customers": len(groups), "candidates": int(sum(groups))}
        if len(groups) < 10:
            return
        ranker = lgb.LGBMRanker(
            objective="lambdarank", n_estimators=self.params["trees"],
            learning_rate=self.params["learning_rate"], num_leaves=self.params["leaves"],
            min_child_samples=20, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
            random_state=self.seed, deterministic=True, force_row_wise=True, n_jobs=2,
            verbose=-1, lambdarank_truncation_level=20,
        )  # fmt: skip
        ranker.fit(np.vstack(rows), np.concatenate(labels), group=groups)
        self.ranker = ranker.booster_

    # --- answering ---------------------------------------------------------------------

    def _candidates(
        self, who: str | None, context: Context, exclude: Collection[str]
    ) -> tuple[list[str], np.ndarray]:
        n = self.params["candidates"]
        names = self.params["sources"]
        lists: list[list[Scored]] = []
        for name in names:
            model = self.sources.get(name)
            lists.append(model.recommend(who, context, n, exclude) if model is not None else [])
        personal = any(lists[i] for i, name in enumerate(names) if name not in COLD_SOURCES)
        if not personal:
            lists = [
                lst if name in COLD_SOURCES else [] for name, lst in zip(names, lists, strict=True)
            ]
        order: dict[str, int] = {}
        for lst in lists:
            for s in lst:
                order.setdefault(s.item_id, len(order))
        items = list(order)
        width = 3 * len(names) + 1
        features = np.zeros((len(items), width + len(History.FEATURES)), dtype=np.float32)
        features[:, 1::3][:, : len(names)] = n + 1
        for j, lst in enumerate(lists):
            top = lst[0].score if lst else 1.0
            for rank, s in enumerate(lst, start=1):
                row = order[s.item_id]
                features[row, 3 * j] = s.score
                features[row, 3 * j + 1] = rank
                features[row, 3 * j + 2] = s.score / top if top > 0 else 0.0
                features[row, width - 1] += 1
        if items:
            features[:, width:] = self.history.features(who, items, context.now)
        return items, features

    def recommend(
        self,
        who: str | None,
        context: Context = NO_CONTEXT,
        k: int = 10,
        exclude: Collection[str] = (),
    ) -> list[Scored]:
        items, features = self._candidates(who, context, exclude)
        if not items:
            return []
        if self.ranker is not None:
            scores = self.ranker.predict(features)
        else:  # no ranker learned (too little history): reciprocal-rank fusion
            scores = (1.0 / (features[:, 1::3][:, : len(self.params["sources"])] + 60.0)).sum(
                axis=1
            )
        order = np.lexsort((np.arange(len(items)), -scores))[:k]
        shift = min(0.0, float(scores.min()))
        return [
            Scored(float(scores[i]) - shift + 1e-6, items[i], self._reason(features[i]))
            for i in order
        ]

    def _reason(self, row: np.ndarray) -> str:
        """The source that ranked this item best, for the ``source`` column."""
        ranks = row[1::3][: len(self.params["sources"])]
        return str(self.params["sources"][int(np.argmin(ranks))])

    def update(self, data: Interactions) -> None:
        for model in self.sources.values():
            if model.incremental:
                model.update(data)

    # --- persistence -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {
            f"source_{name}": np.frombuffer(model.save(), dtype=np.uint8)
            for name, model in self.sources.items()
        }
        arrays.update(self.history.arrays())
        ranker = self.ranker.model_to_string() if self.ranker is not None else None
        return {"ranker": ranker, "training": self.training}, arrays

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        from retailor.models.families import load

        self.sources = {
            name: load(name, arrays[f"source_{name}"].tobytes())
            for name in self.params["sources"]
            if f"source_{name}" in arrays
        }
        self.history = History.from_arrays(arrays)
        self.training = meta.get("training", {})
        self.ranker = None
        if meta.get("ranker"):
            import lightgbm as lgb

            self.ranker = lgb.Booster(model_str=meta["ranker"])


class History:
    """What the blend knows of each customer besides the sources: how often and how
    lately they bought each item, how many orders they placed, when they were last seen,
    and how many customers bought each item."""

    FEATURES = (
        "own_count", "own_days_since", "customer_orders", "customer_items",
        "customer_days_since", "item_customers",
    )  # fmt: skip

    def __init__(self) -> None:
        self.users, self.items = Vocab(), Vocab()
        self.counts = sp.csr_matrix((0, 0), dtype=np.float32)
        self.last = sp.csr_matrix((0, 0), dtype=np.float64)
        self.orders = np.zeros(0)
        self.seen = np.zeros(0)
        self.reach = np.zeros(0)
        self.now = 0.0

    def fit(self, data: Interactions) -> Self:
        bought = data.of_kind(Kind.PURCHASE)
        self.users, self.items = Vocab(data.user_ids), Vocab(data.item_ids)
        self.now = data.now
        self.counts = bought.matrix(np.ones(len(bought), dtype=np.float32), "user")
        self.last = max_per_cell(bought, data.n_users, data.n_items)
        keep = bought.user >= 0
        baskets = np.unique(np.stack([bought.user[keep], bought.basket[keep]]), axis=1)
        self.orders = np.bincount(baskets[0], minlength=data.n_users).astype(np.float64)
        self.seen = np.zeros(data.n_users)
        np.maximum.at(self.seen, data.user[data.user >= 0], data.ts[data.user >= 0])
        touched = data.matrix(np.ones(len(data), dtype=np.float32), "user")
        self.reach = np.asarray((touched > 0).sum(axis=0)).ravel().astype(np.float64)
        return self

    def features(self, who: str | None, items: Sequence[str], now: float | None) -> np.ndarray:
        now = self.now if now is None else now
        out = np.zeros((len(items), len(self.FEATURES)), dtype=np.float32)
        out[:, 1] = out[:, 4] = 9999.0
        codes = np.array(
            [self.items.get(i) if self.items.get(i) is not None else -1 for i in items]
        )
        known = codes >= 0
        out[known, 5] = self.reach[codes[known]]
        row = self.users.get(who) if who is not None else None
        if row is None or row >= self.counts.shape[0]:
            return out
        out[:, 2] = self.orders[row]
        out[:, 3] = self.counts.indptr[row + 1] - self.counts.indptr[row]
        out[:, 4] = (now - self.seen[row]) / DAY if self.seen[row] > 0 else 9999.0
        if known.any():
            own = _row_values(self.counts, row, codes[known])
            last = _row_values(self.last, row, codes[known])
            out[known, 0] = own
            out[known, 1] = np.where(own > 0, (now - last) / DAY, 9999.0)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "history_users": self.users.array(), "history_items": self.items.array(),
            **pack_csr("history_counts", self.counts), **pack_csr("history_last", self.last),
            "history_orders": self.orders, "history_seen": self.seen, "history_reach": self.reach,
            "history_now": np.array([self.now]),
        }  # fmt: skip

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> History:
        history = cls()
        if "history_users" not in arrays:
            return history
        history.users, history.items = (
            Vocab(arrays["history_users"]),
            Vocab(arrays["history_items"]),
        )
        history.counts = unpack_csr("history_counts", arrays)
        history.last = unpack_csr("history_last", arrays)
        history.orders, history.seen = arrays["history_orders"], arrays["history_seen"]
        history.reach, history.now = arrays["history_reach"], float(arrays["history_now"][0])
        return history


def _row_values(matrix: sp.csr_matrix, row: int, columns: np.ndarray) -> np.ndarray:
    """``matrix[row, columns]`` as a dense vector, read from the CSR arrays directly."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    cols, vals = matrix.indices[start:end], matrix.data[start:end]
    out = np.zeros(len(columns), dtype=np.float64)
    if end == start:
        return out
    if not np.all(cols[:-1] <= cols[1:]):
        order = np.argsort(cols)
        cols, vals = cols[order], vals[order]
    pos = np.searchsorted(cols, columns)
    hit = pos < len(cols)
    hit[hit] = cols[pos[hit]] == columns[hit]
    out[hit] = vals[pos[hit]]
    return out
