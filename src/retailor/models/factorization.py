"""Matrix factorization with ``implicit``: ALS and BPR on confidence-weighted interactions.

The customer x item matrix sums each interaction's kind weight (view 1, cart 3, purchase
5 by default) times its time decay; ALS reads it as confidence ``1 + alpha x w``. A
visitor the model has not seen is folded in from the items of the context by one ALS
half-step against the fixed item factors (BPR: the mean of their factors).
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Collection, Sequence
from typing import Any, Self

import numpy as np
from threadpoolctl import threadpool_limits

from retailor.models.base import Context, Scored, ScoringRecommender, top_k
from retailor.models.interactions import Interactions
from retailor.models.vocab import Vocab


class _Factorization(ScoringRecommender):
    """Shared by ALS and BPR: factors, scoring, fold-in, persistence."""

    def __init__(
        self,
        *,
        seed: int = 0,
        factors: int = 64,
        regularization: float = 0.05,
        iterations: int = 15,
        weights: dict[str, float] | None = None,
        half_life_days: float | None = None,
        threads: int = 0,
        **extra: Any,
    ) -> None:
        super().__init__(
            seed=seed, factors=factors, regularization=regularization, iterations=iterations,
            weights=weights, half_life_days=half_life_days, threads=threads, **extra,
        )  # fmt: skip
        self.users, self.items = Vocab(), Vocab()
        self.user_factors = np.zeros((0, factors), dtype=np.float32)
        self.item_factors = np.zeros((0, factors), dtype=np.float32)
        self.seen = np.zeros(0, dtype=bool)

    @abstractmethod
    def _library_model(self) -> Any:
        """The ``implicit`` model to fit, built from ``self.params``."""

    @property
    def item_ids(self) -> Sequence[str]:
        return self.items.ids

    def fit(self, data: Interactions) -> Self:
        values = data.weights(self.params["weights"]) * data.decay(self.params["half_life_days"])
        matrix = data.matrix(values, "user")
        self.users, self.items = Vocab(data.user_ids), Vocab(data.item_ids)
        with warnings.catch_warnings(), threadpool_limits(1, "blas"):
            warnings.simplefilter("ignore")
            model = self._library_model()
            model.fit(matrix, show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self.seen = np.asarray(matrix.sum(axis=0)).ravel() > 0
        self.fitted = True
        return self

    def _fold_in(self, codes: list[int]) -> np.ndarray:
        return self.item_factors[codes].mean(axis=0)

    def _user_vector(self, who: str | None, context: Context) -> np.ndarray | None:
        row = self.users.get(who) if who is not None else None
        codes = [
            c
            for c in (self.items.get(i) for i in (*context.session_items, *context.items))
            if c is not None
        ]
        if row is not None and row < self.user_factors.shape[0]:
            vector = self.user_factors[row]
            if codes:
                vector = vector + self._fold_in(codes)
            return vector
        return self._fold_in(codes) if codes else None

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        vector = self._user_vector(who, context)
        if vector is None:
            return np.zeros(len(self.items))
        scores = self.item_factors @ vector
        # never-seen items have meaningless factors; shift so every seen item stays above 0
        scores = scores - scores.min(initial=0.0) + 1e-6
        return np.where(self.seen, scores, 0.0)

    def similar_items(self, items: Any, k: int = 10, exclude: Collection[str] = ()) -> list[Scored]:
        codes = [c for c in (self.items.get(i) for i in items) if c is not None]
        if not codes:
            return []
        norms = np.linalg.norm(self.item_factors, axis=1) + 1e-9
        target = self.item_factors[codes].mean(axis=0)
        cosine = (self.item_factors @ target) / norms / (np.linalg.norm(target) + 1e-9)
        cosine = np.where(self.seen, cosine + 1.0, 0.0)
        return top_k(cosine, self.items.ids, k, set(exclude) | set(items), self.config)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {
            "users": self.users.array(), "items": self.items.array(), "seen": self.seen,
            "user_factors": self.user_factors, "item_factors": self.item_factors,
        }  # fmt: skip

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.users, self.items = Vocab(arrays["users"]), Vocab(arrays["items"])
        self.seen = arrays["seen"]
        self.user_factors, self.item_factors = arrays["user_factors"], arrays["item_factors"]


class ALS(_Factorization):
    """Alternating least squares for implicit feedback (Hu, Koren & Volinsky)."""

    name = "als"

    def __init__(self, *, seed: int = 0, alpha: float = 2.0, **params: Any) -> None:
        super().__init__(seed=seed, alpha=alpha, **params)

    def _library_model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        return AlternatingLeastSquares(
            factors=p["factors"], regularization=p["regularization"], alpha=p["alpha"],
            iterations=p["iterations"], random_state=self.seed, num_threads=p["threads"],
        )  # fmt: skip

    def _fold_in(self, codes: list[int]) -> np.ndarray:
        y = self.item_factors.astype(np.float64)
        chosen = y[codes]
        confidence = 1.0 + self.params["alpha"]
        a = y.T @ y + (confidence - 1.0) * chosen.T @ chosen
        a += self.params["regularization"] * np.eye(y.shape[1])
        return np.linalg.solve(a, confidence * chosen.sum(axis=0)).astype(np.float32)


class BPR(_Factorization):
    """Bayesian personalized ranking (Rendle et al.), pairwise SGD."""

    name = "bpr"

    def __init__(
        self, *, seed: int = 0, learning_rate: float = 0.05, iterations: int = 100,
        threads: int = 1, **params: Any,
    ) -> None:  # fmt: skip
        super().__init__(
            seed=seed, learning_rate=learning_rate, iterations=iterations, threads=threads, **params
        )

    def _library_model(self) -> Any:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        p = self.params
        return BayesianPersonalizedRanking(
            factors=p["factors"], learning_rate=p["learning_rate"],
            regularization=p["regularization"], iterations=p["iterations"],
            random_state=self.seed, num_threads=p["threads"],
        )  # fmt: skip
