"""The peers Retailor's models are measured against, run on the same split in the same
run: ``implicit`` ALS with the library's default hyperparameters (on the customer x item
matrix of interaction counts) and global popularity (distinct customers per item)."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from retailor.models.base import NO_CONTEXT, Context, Recommender, Scored, ScoringRecommender
from retailor.models.interactions import Interactions
from retailor.models.sparse import pack_csr, unpack_csr
from retailor.models.vocab import Vocab


class ImplicitALSPeer(Recommender):
    """``implicit.als.AlternatingLeastSquares()`` as a data scientist would first run it;
    already-bought items are not filtered (repeat purchases are the point in retail)."""

    name = "implicit_als"

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        super().__init__(seed=seed, **params)
        self.users, self.items = Vocab(), Vocab()
        self.matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.model: Any = None

    def _library_model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(random_state=self.seed)

    def fit(self, data: Interactions) -> Self:
        self.users, self.items = Vocab(data.user_ids), Vocab(data.item_ids)
        self.matrix = data.matrix(np.ones(len(data), dtype=np.float32), "user")
        with warnings.catch_warnings(), threadpool_limits(1, "blas"):
            warnings.simplefilter("ignore")
            self.model = self._library_model()
            self.model.fit(self.matrix, show_progress=False)
        self.fitted = True
        return self

    def recommend(
        self,
        who: str | None,
        context: Context = NO_CONTEXT,
        k: int = 10,
        exclude: Collection[str] = (),
    ) -> list[Scored]:
        row = self.users.get(who) if who is not None else None
        wanted = k + len(exclude)
        if row is not None:
            ids, scores = self.model.recommend(
                row, self.matrix[row], N=wanted, filter_already_liked_items=False
            )
        else:
            codes = [c for c in (self.items.get(i) for i in context.session_items) if c is not None]
            if not codes:
                return []
            user_items = sp.csr_matrix(
                (np.ones(len(codes), dtype=np.float32), (np.zeros(len(codes), int), codes)),
                shape=(1, len(self.items)),
            )
            ids, scores = self.model.recommend(
                0, user_items, N=wanted, recalculate_user=True, filter_already_liked_items=False
            )
        out = [
            Scored(float(s), self.items.ids[i], self.name) for i, s in zip(ids, scores, strict=True)
        ]
        return [s for s in out if s.item_id not in exclude][:k]

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {
            "users": self.users.array(), "items": self.items.array(), **pack_csr("matrix", self.matrix),
            "user_factors": np.asarray(self.model.user_factors), "item_factors": np.asarray(self.model.item_factors),
        }  # fmt: skip

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.users, self.items = Vocab(arrays["users"]), Vocab(arrays["items"])
        self.matrix = unpack_csr("matrix", arrays)
        self.model = self._library_model()
        self.model.user_factors, self.model.item_factors = (
            arrays["user_factors"],
            arrays["item_factors"],
        )


class GlobalPopularity(ScoringRecommender):
    """The same list for everyone: items by how many customers (or sessions) had them."""

    name = "global_popularity"

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        super().__init__(seed=seed, **params)
        self.items = Vocab()
        self.counts = np.zeros(0)

    @property
    def item_ids(self) -> Sequence[str]:
        return self.items.ids

    def fit(self, data: Interactions) -> Self:
        self.items = Vocab(data.item_ids)
        rows = data.user if data.n_users else data.session
        pairs = np.unique(np.stack([rows.astype(np.int64), data.item.astype(np.int64)]), axis=1)
        self.counts = np.bincount(pairs[1], minlength=data.n_items).astype(np.float64)
        self.fitted = True
        return self

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        return self.counts

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"items": self.items.array(), "counts": self.counts}

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.items, self.counts = Vocab(arrays["items"]), arrays["counts"]


PEERS: dict[str, type[Recommender]] = {
    "implicit_als": ImplicitALSPeer,
    "global_popularity": GlobalPopularity,
}


def peer(name: str, seed: int = 0, **params: Any) -> Recommender:
    return PEERS[name](seed=seed, **params)
