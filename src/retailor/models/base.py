"""The one contract every recommender family follows, and what it speaks in.

A model is built with its hyperparameters (and a ``seed``), learns from ``Interactions``
in ``fit``, and answers ``recommend`` for a customer (or an anonymous visitor described
only by ``Context``) and ``similar_items`` for a set of items. ``save`` gives bytes that
``load`` turns back into an equal model; ``update`` folds new interactions in where the
family can learn incrementally.
"""

from __future__ import annotations

import io
import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

from retailor.models.interactions import Interactions


@dataclass(frozen=True)
class Context:
    """What is known about the request besides the customer.

    ``session_items`` are the items of the live session, oldest first (views, carts);
    ``items`` the items on screen or in the cart; ``now`` the request time in epoch
    seconds (None: the newest time the model saw).
    """

    session_items: Sequence[str] = ()
    items: Sequence[str] = ()
    store_id: str | None = None
    category: str | None = None
    now: float | None = None


NO_CONTEXT = Context()


@dataclass(frozen=True, order=True)
class Scored:
    """One recommended item: higher scores first within one answer."""

    score: float
    item_id: str = field(compare=False)
    source: str = field(compare=False, default="")


class Recommender(ABC):
    """The family contract (see the module docstring).

    Subclasses set ``name``, take every hyperparameter as a keyword argument of
    ``__init__`` (with ``seed``), and keep them in ``self.params`` so that ``save``
    round-trips them.
    """

    name: ClassVar[str]
    #: True when ``update`` learns from new interactions without a full ``fit``.
    incremental: ClassVar[bool] = False

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        self.seed = seed
        self.params: dict[str, Any] = params
        #: the configuration name this model serves under (see ``families``)
        self.config: str = type(self).name
        self.fitted = False

    @abstractmethod
    def fit(self, data: Interactions) -> Self:
        """Learn from ``data``; returns self."""

    @abstractmethod
    def recommend(
        self,
        who: str | None,
        context: Context = NO_CONTEXT,
        k: int = 10,
        exclude: Collection[str] = (),
    ) -> list[Scored]:
        """Up to ``k`` items for customer ``who`` (None or unknown: from context only),
        best first, none of them in ``exclude``. Never raises for an unknown customer."""

    def similar_items(
        self, items: Sequence[str], k: int = 10, exclude: Collection[str] = ()
    ) -> list[Scored]:
        """Items like ``items``: what the model recommends with them as the context."""
        return self.recommend(None, Context(items=tuple(items)), k, set(exclude) | set(items))

    def update(self, data: Interactions) -> None:  # noqa: B027 - optional for a family
        """Fold newer interactions in. Families with ``incremental = False`` learn only in
        ``fit``: they answer from their fitted state until the next retrain."""

    # --- persistence -------------------------------------------------------------------

    @abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able metadata and named arrays that make up the fitted model."""

    @abstractmethod
    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Set the fitted state from what ``state`` gave."""

    def save(self) -> bytes:
        """The fitted model as bytes (an ``.npz`` archive, no pickles)."""
        meta, arrays = self.state()
        header = {
            "name": self.name,
            "config": self.config,
            "seed": self.seed,
            "params": self.params,
            "meta": meta,
        }
        buffer = io.BytesIO()
        arrays = {"__header__": np.array(json.dumps(header, sort_keys=True)), **arrays}
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def load(cls, blob: bytes) -> Self:
        """A model equal to the one that was saved."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            header = json.loads(str(archive["__header__"]))
            arrays = {key: archive[key] for key in archive.files if key != "__header__"}
        if header["name"] != cls.name:
            raise ValueError(f"artifact is a {header['name']} model, not {cls.name}")
        model = cls(seed=header["seed"], **header["params"])
        model.restore(header["meta"], arrays)
        model.config = header.get("config", cls.name)
        model.fitted = True
        return model


class ScoringRecommender(Recommender):
    """A family that scores every item it knows for a request; its answer is the top k."""

    @property
    @abstractmethod
    def item_ids(self) -> Sequence[str]:
        """The items ``scores`` scores, in the order of its positions."""

    @abstractmethod
    def scores(self, who: str | None, context: Context) -> np.ndarray:
        """One score per item of ``item_ids`` (0 or less: not recommended)."""

    def recommend(
        self,
        who: str | None,
        context: Context = NO_CONTEXT,
        k: int = 10,
        exclude: Collection[str] = (),
    ) -> list[Scored]:
        return top_k(self.scores(who, context), self.item_ids, k, exclude, self.config)


def top_k(
    scores: np.ndarray,
    item_ids: Sequence[str] | np.ndarray,
    k: int,
    exclude: Collection[str],
    source: str,
    *,
    positive_only: bool = True,
) -> list[Scored]:
    """The ``k`` best-scoring items, skipping excluded ones and (by default) scores ≤ 0."""
    if k <= 0 or scores.size == 0:
        return []
    want = min(scores.size, k + len(exclude))
    if want < scores.size:
        idx = np.argpartition(-scores, want - 1)[:want]
    else:
        idx = np.arange(scores.size)
    idx = idx[np.lexsort((idx, -scores[idx]))]
    out: list[Scored] = []
    for i in idx:
        score = float(scores[i])
        if positive_only and not score > 0:
            break
        item = str(item_ids[i])
        if item in exclude:
            continue
        out.append(Scored(score, item, source))
        if len(out) == k:
            break
    return out


def ranked(
    pairs: Iterable[tuple[str, float]], k: int, exclude: Collection[str], source: str
) -> list[Scored]:
    """The ``k`` best of ``(item, score)`` pairs, ties broken by item id for determinism."""
    best = sorted(
        ((s, i) for i, s in pairs if i not in exclude and s > 0), key=lambda p: (-p[0], p[1])
    )
    return [Scored(float(s), i, source) for s, i in best[:k]]
