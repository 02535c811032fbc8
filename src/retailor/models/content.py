"""Cold start, content-based: items described by their attributes, customers by the
items they touched.

Each item becomes a TF-IDF vector of its name's words, its category path (every level a
token), its brand and its price band. A customer's profile is the time-decayed, kind-
weighted sum of their items' vectors; the context's items add to it. Scores are cosine
similarities, so an item nobody has touched yet — a new arrival — can be recommended
as soon as the catalog (or its first event) describes it.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from retailor.models.base import Context, ScoringRecommender
from retailor.models.interactions import Interactions, ItemAttributes
from retailor.models.sparse import pack_csr, unpack_csr
from retailor.models.vocab import Vocab

_TOKEN = re.compile(r"[a-z0-9]{2,}")


def describe(item_id: str, attrs: ItemAttributes | None) -> str:
    """The document an item is known by: name words and attribute tokens."""
    if attrs is None:
        return ""
    words = _TOKEN.findall((attrs.name or "").lower())
    path = [re.sub(r"\W+", "_", level.lower()) for level in attrs.category]
    tokens = [f"cat_{'_'.join(path[: i + 1])}" for i in range(len(path))]
    if attrs.brand:
        tokens.append("brand_" + re.sub(r"\W+", "_", attrs.brand.lower()))
    if attrs.price is not None and attrs.price > 0:
        tokens.append(f"price_band_{math.floor(math.log2(attrs.price + 1))}")
    return " ".join(words + tokens)


class ContentBased(ScoringRecommender):
    """Cosine similarity of TF-IDF item descriptions to the customer's profile."""

    name = "content"
    incremental = True

    def __init__(
        self,
        *,
        seed: int = 0,
        half_life_days: float | None = 90.0,
        weights: dict[str, float] | None = None,
        min_df: int = 1,
        **extra: Any,
    ) -> None:
        super().__init__(
            seed=seed, half_life_days=half_life_days, weights=weights, min_df=min_df, **extra
        )
        self.items, self.users = Vocab(), Vocab()
        self.vectors = sp.csr_matrix((0, 0), dtype=np.float32)
        self.affinity = sp.csr_matrix((0, 0), dtype=np.float32)
        self.vectorizer: TfidfVectorizer | None = None
        self.live_affinity: dict[str, dict[int, float]] = {}

    @property
    def item_ids(self) -> Sequence[str]:
        return self.items.ids

    def fit(self, data: Interactions) -> Self:
        ids = [str(i) for i in data.item_ids]
        ids += sorted(set(data.attributes) - set(ids))
        self.items, self.users = Vocab(ids), Vocab(data.user_ids)
        docs = [describe(i, data.attributes.get(i)) for i in ids]
        self.vectorizer = TfidfVectorizer(
            token_pattern=r"\S+", min_df=self.params["min_df"], sublinear_tf=True, dtype=np.float32
        )
        if any(docs):
            self.vectors = self.vectorizer.fit_transform(docs).tocsr()
        else:
            self.vectorizer = None
            self.vectors = sp.csr_matrix((len(ids), 0), dtype=np.float32)
        values = data.weights(self.params["weights"]) * data.decay(self.params["half_life_days"])
        affinity = data.matrix(values, "user")
        affinity.resize((data.n_users, len(ids)))
        self.affinity = affinity.tocsr()
        self.live_affinity = {}
        self.fitted = True
        return self

    def add_items(self, attributes: Mapping[str, ItemAttributes]) -> None:
        """Describe new (or changed) items; unknown words add nothing until a retrain."""
        if self.vectorizer is None or not attributes:
            return
        ids = list(attributes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = self.vectorizer.transform([describe(i, attributes[i]) for i in ids]).tocsr()
        codes = [self.items.add(i) for i in ids]
        lil = self.vectors.tolil()
        lil.resize((len(self.items), self.vectors.shape[1]))
        for n, code in enumerate(codes):
            lil.rows[code] = list(rows[n].indices)
            lil.data[code] = list(rows[n].data)
        self.vectors = lil.tocsr()

    def update(self, data: Interactions) -> None:
        new = {i: a for i, a in data.attributes.items() if self.items.get(i) is None}
        self.add_items(new)
        codes = self.items.codes(data.item_ids)
        if self.vectors.shape[0] < len(self.items):
            self.vectors.resize((len(self.items), self.vectors.shape[1]))
        values = data.weights(self.params["weights"])
        for r in range(len(data)):
            if data.user[r] >= 0:
                user = str(data.user_ids[data.user[r]])
                cells = self.live_affinity.setdefault(user, {})
                code = int(codes[data.item[r]])
                cells[code] = cells.get(code, 0.0) + float(values[r])

    def profile(self, who: str | None, context: Context) -> np.ndarray | None:
        weights: dict[int, float] = {}
        row = self.users.get(who) if who is not None else None
        if row is not None and row < self.affinity.shape[0]:
            s, e = self.affinity.indptr[row], self.affinity.indptr[row + 1]
            for i, v in zip(self.affinity.indices[s:e], self.affinity.data[s:e], strict=True):
                weights[int(i)] = float(v)
        for i, v in self.live_affinity.get(who or "", {}).items():
            weights[i] = weights.get(i, 0.0) + v
        top = max(weights.values(), default=1.0)
        for item in (*context.session_items, *context.items):
            code = self.items.get(item)
            if code is not None:
                weights[code] = weights.get(code, 0.0) + top
        if not weights or self.vectors.shape[1] == 0:
            return None
        codes = np.fromiter(weights, dtype=np.int64)
        values = np.fromiter(weights.values(), dtype=np.float32)
        vector = np.asarray(self.vectors[codes].T @ values).ravel()
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else None

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        profile = self.profile(who, context)
        if profile is None:
            return np.zeros(len(self.items))
        return np.asarray(self.vectors @ profile).ravel()

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        terms = np.array([], dtype=str)
        idf = np.zeros(0)
        if self.vectorizer is not None:
            vocabulary = self.vectorizer.vocabulary_
            terms = np.asarray(sorted(vocabulary, key=vocabulary.__getitem__), dtype=str)
            idf = self.vectorizer.idf_
        return {}, {
            "items": self.items.array(), "users": self.users.array(), "terms": terms, "idf": idf,
            **pack_csr("vectors", self.vectors), **pack_csr("affinity", self.affinity),
        }  # fmt: skip

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.items, self.users = Vocab(arrays["items"]), Vocab(arrays["users"])
        self.vectors, self.affinity = unpack_csr("vectors", arrays), unpack_csr("affinity", arrays)
        self.vectorizer = None
        if arrays["terms"].size:
            vectorizer = TfidfVectorizer(
                token_pattern=r"\S+", sublinear_tf=True, dtype=np.float32,
                vocabulary={str(t): i for i, t in enumerate(arrays["terms"])},
            )  # fmt: skip
            vectorizer.fit([""])  # validates the fixed vocabulary; idf set next
            vectorizer.idf_ = arrays["idf"]
            self.vectorizer = vectorizer
