"""Session-based next item: session kNN in the V-SKNN / STAN family.

The live session (oldest item first) is compared with past sessions that share its
items: recent positions of the live session weigh more (linear decay), recent sessions
weigh more (exponential decay of their age), and each neighbour session's items are
scored by the neighbour's similarity. It serves anonymous visitors and in-session
personalization; with no live session it uses the customer's latest past session (or
order, in purchase-only histories). New sessions from the stream become neighbours at
once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from retailor.models.base import Context, ScoringRecommender
from retailor.models.interactions import DAY, Interactions
from retailor.models.sparse import pack_csr, unpack_csr
from retailor.models.vocab import Vocab


class SessionKNN(ScoringRecommender):
    """Nearest past sessions to the live one, their items scored by similarity."""

    name = "session_knn"
    incremental = True

    def __init__(
        self,
        *,
        seed: int = 0,
        neighbours: int = 100,
        sample_size: int = 1000,
        session_half_life_days: float = 30.0,
        idf: bool = True,
        max_session_items: int = 50,
        **extra: Any,
    ) -> None:
        super().__init__(
            seed=seed, neighbours=neighbours, sample_size=sample_size,
            session_half_life_days=session_half_life_days, idf=idf,
            max_session_items=max_session_items, **extra,
        )  # fmt: skip
        self.items = Vocab()
        self.sessions = sp.csr_matrix((0, 0), dtype=np.float32)  # session x item
        self.by_item = sp.csc_matrix((0, 0), dtype=np.float32)
        self.lengths = np.zeros(0)
        self.session_time = np.zeros(0)
        self.item_idf = np.zeros(0)
        self.last_session: dict[str, list[int]] = {}
        self.now = 0.0

    @property
    def item_ids(self) -> Sequence[str]:
        return self.items.ids

    def fit(self, data: Interactions) -> Self:
        self.items = Vocab(data.item_ids)
        unit, n_units = _units(data)
        keep = unit >= 0
        m = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (unit[keep], data.item[keep])),
            shape=(n_units, data.n_items),
        )
        m.sum_duplicates()
        m.data[:] = 1.0
        times = np.zeros(n_units)
        np.maximum.at(times, unit[keep], data.ts[keep])
        self.session_time = times
        self._index(m)
        counts = np.asarray(m.sum(axis=0)).ravel()
        self.item_idf = np.log((n_units + 1) / (counts + 1)) + 1.0
        self.now = data.now
        self.last_session = {}
        if data.n_users:
            rows = np.flatnonzero(keep & (data.user >= 0))
            latest: dict[int, int] = {}
            for r in rows:  # rows are in time order: the last write per user wins
                latest[int(data.user[r])] = int(unit[r])
            for user, session in latest.items():
                s, e = m.indptr[session], m.indptr[session + 1]
                self.last_session[str(data.user_ids[user])] = [int(i) for i in m.indices[s:e]]
        self.fitted = True
        return self

    def _index(self, sessions: sp.csr_matrix) -> None:
        """Keep the session x item matrix with its by-item view and session lengths."""
        self.sessions = sessions
        self.by_item = sessions.tocsc()
        self.lengths = np.diff(sessions.indptr).astype(np.float64)

    def update(self, data: Interactions) -> None:
        """Add the new sessions (or extend known ones) as neighbours."""
        codes = self.items.codes(data.item_ids)
        unit, _ = _units(data)
        grouped: dict[int, list[int]] = {}
        for r in range(len(data)):
            if unit[r] >= 0:
                grouped.setdefault(int(unit[r]), []).append(int(codes[data.item[r]]))
        if not grouped:
            return
        rows, cols = [], []
        for n, items in enumerate(grouped.values()):
            rows += [n] * len(items)
            cols += items
        add = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(grouped), len(self.items)),
        )
        add.sum_duplicates()
        add.data[:] = 1.0
        old = self.sessions
        old.resize((old.shape[0], len(self.items)))
        self._index(sp.vstack([old, add]).tocsr())
        self.session_time = np.concatenate([self.session_time, np.full(len(grouped), data.now)])
        self.item_idf = np.pad(
            self.item_idf, (0, len(self.items) - self.item_idf.size), constant_values=1.0
        )
        self.now = max(self.now, data.now)

    def _query(self, who: str | None, context: Context) -> list[int]:
        items = [c for c in (self.items.get(i) for i in context.session_items) if c is not None]
        items += [c for c in (self.items.get(i) for i in context.items) if c is not None]
        if not items and who is not None:
            items = list(self.last_session.get(who, []))
        return items[-self.params["max_session_items"] :]

    def scores(self, who: str | None, context: Context) -> np.ndarray:
        query = self._query(who, context)
        out = np.zeros(len(self.items))
        if not query:
            return out
        weights: dict[int, float] = {}
        for pos, code in enumerate(query, start=1):
            weights[code] = max(weights.get(code, 0.0), pos / len(query))
        codes = np.fromiter(weights, dtype=np.int64)
        qw = np.fromiter(weights.values(), dtype=np.float64)
        if self.params["idf"]:
            qw = qw * self.item_idf[codes]
        sub = self.by_item[:, codes]
        overlap = np.asarray(sub @ qw).ravel()
        candidates = np.flatnonzero(overlap)
        if candidates.size == 0:
            return out
        sample = self.params["sample_size"]
        if candidates.size > sample:
            newest = np.argpartition(-self.session_time[candidates], sample - 1)[:sample]
            candidates = candidates[newest]
        similarity = overlap[candidates] / np.sqrt(self.lengths[candidates] * len(weights))
        now = context.now if context.now is not None else self.now
        age = np.maximum(now - self.session_time[candidates], 0.0) / DAY
        similarity = similarity * np.power(0.5, age / self.params["session_half_life_days"])
        k = self.params["neighbours"]
        if candidates.size > k:
            best = np.argpartition(-similarity, k - 1)[:k]
            candidates, similarity = candidates[best], similarity[best]
        scores = np.asarray(self.sessions[candidates].T @ similarity).ravel()
        out[: scores.size] = scores
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        users = sorted(self.last_session)
        flat = [c for u in users for c in self.last_session[u]]
        bounds = np.cumsum([0] + [len(self.last_session[u]) for u in users])
        return {"now": self.now}, {
            "items": self.items.array(), **pack_csr("sessions", self.sessions),
            "session_time": self.session_time, "item_idf": self.item_idf,
            "last_users": np.asarray(users, dtype=str), "last_items": np.asarray(flat, dtype=np.int64),
            "last_bounds": bounds,
        }  # fmt: skip

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.now = meta["now"]
        self.items = Vocab(arrays["items"])
        self._index(unpack_csr("sessions", arrays))
        self.session_time, self.item_idf = arrays["session_time"], arrays["item_idf"]
        bounds, flat = arrays["last_bounds"], arrays["last_items"]
        self.last_session = {
            str(u): [int(c) for c in flat[bounds[i] : bounds[i + 1]]]
            for i, u in enumerate(arrays["last_users"])
        }


def _units(data: Interactions) -> tuple[np.ndarray, int]:
    """What a "session" is in ``data``: its sessions, else its orders (purchase-only
    histories), else each customer's whole history."""
    if data.session_ids.size:
        return data.session, int(data.session_ids.size)
    if data.basket_ids.size:
        return data.basket, int(data.basket_ids.size)
    return data.user, data.n_users
