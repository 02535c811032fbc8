"""The peers Retailor's models are measured against, run on the same split in the same
run: ``implicit`` ALS with the library's default hyperparameters (on the customer x item
matrix of interaction counts) and global popularity (distinct customers per item)."""

from __future__ import annotations

import warnings
from collections.abc import Collection
from typing import Any, Self

import numpy as np
from threadpoolctl import threadpool_limits

from retailor.models.base import NO_CONTEXT, Context, Recommender, Scored, top_k
from retailor.models.interactions import Interactions


class ImplicitALSPeer(Recommender):
    """``implicit.als.AlternatingLeastSquares()`` as a data scientist would first run it;
    already-bought items are not filtered (repeat purchases are the point in retail)."""

    name = "implicit_als"

    def fit(self, data: Interactions) -> Self:
        from implicit.cpu.als import AlternatingLeastSquares

        self.data = data
        self.matrix = data.matrix(np.ones(len(data), dtype=np.float32), "user")
        self.model = AlternatingLeastSquares(random_state=self.seed)
        with warnings.catch_warnings(), threadpool_limits(1, "blas"):
            warnings.simplefilter("ignore")
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
        row = self.data.user_index.get(who) if who is not None else None
        if row is not None:
            ids, scores = self.model.recommend(
                row, self.matrix[row], N=k + len(exclude), filter_already_liked_items=False
            )
        else:
            codes = [
                self.data.item_index[i] for i in context.session_items if i in self.data.item_index
            ]
            if not codes:
                return []
            import scipy.sparse as sp

            user_items = sp.csr_matrix(
                (np.ones(len(codes), dtype=np.float32), (np.zeros(len(codes), int), codes)),
                shape=(1, self.data.n_items),
            )
            ids, scores = self.model.recommend(
                0,
                user_items,
                N=k + len(exclude),
                recalculate_user=True,
                filter_already_liked_items=False,
            )
        out = [
            Scored(float(s), str(self.data.item_ids[i]), self.name)
            for i, s in zip(ids, scores, strict=True)
        ]
        return [s for s in out if s.item_id not in exclude][:k]


class GlobalPopularity(Recommender):
    """The same list for everyone: items by how many customers (or sessions) had them."""

    name = "global_popularity"
    personal = False

    def fit(self, data: Interactions) -> Self:
        self.data = data
        rows = data.user if data.n_users else data.session
        pairs = np.unique(np.stack([rows.astype(np.int64), data.item.astype(np.int64)]), axis=1)
        self.counts = np.bincount(pairs[1], minlength=data.n_items).astype(np.float64)
        self.fitted = True
        return self

    def recommend(
        self,
        who: str | None,
        context: Context = NO_CONTEXT,
        k: int = 10,
        exclude: Collection[str] = (),
    ) -> list[Scored]:
        return top_k(self.counts, self.data.item_ids, k, exclude, self.name)


PEERS: dict[str, type[Recommender]] = {
    "implicit_als": ImplicitALSPeer,
    "global_popularity": GlobalPopularity,
}


def peer(name: str, seed: int = 0, **params: Any) -> Recommender:
    return PEERS[name](seed=seed, **params)
