"""Candidate sources: where a placement's items come from, each answering with scored
items and a reason a person can read.

Model-backed sources go through the model service (which falls back when a model is not
trained); real-time sources read the online features; ``new_arrivals`` reads the catalog.
Any trained model's name is a source too (``als``, ``content``, ...).

Each customer's long-term list comes from :class:`PersonalLists` (in memory, refreshed in
the background). Other model answers are memoized for a short while (:class:`AnswerCache`):
an item's neighbours for ten minutes, session answers for half a minute and only while the
customer's recent items and the request's context items stay the same, non-personal lists
for a few seconds. A model swap (a new trained version) empties the memo at once; between swaps the
models' own incremental updates reach answers within those times.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from retailor.decision.catalog import CatalogIndex
from retailor.decision.personal import PersonalLists
from retailor.domain.decisions import DecisionContext
from retailor.features.online import OnlineFeatures, Snapshot
from retailor.models.base import Context, Scored
from retailor.models.errors import NotTrainedError
from retailor.models.families import known_models
from retailor.models.serving import ModelService
from retailor.storage.hot import HotCache

#: Sources that need neither a customer nor consent to personalize.
NON_PERSONAL = frozenset({"trending_now", "trending", "popular", "new_arrivals", "category_top"})
#: Sources anchored on what is on screen or asked (allowed without personalization consent;
#: ``search`` then reads only the request's query, never the shopper's last search).
CONTEXTUAL = frozenset({"similar", "complements", "search"})

#: The sources with a name of their own (beside every model's name).
NAMED_SOURCES = (
    "personal",
    "similar",
    "complements",
    "viewed_similar",
    "recently_viewed",
    "session",
    "trending_now",
    "trending",
    "popular",
    "category_top",
    "buy_again",
    "new_arrivals",
    "search",
)


def source_names() -> list[str]:
    """Every name a placement may use as a source or a fallback."""
    return sorted({*NAMED_SOURCES, *known_models()})


_MODEL_REASONS = {
    "als": "picked for your taste",
    "bpr": "picked for your taste",
    "popularity": "popular right now",
    "trending": "trending this week",
    "buy_again": "you bought this before",
    "most_bought": "you bought this before",
    "content": "like things you looked at",
    "item_item": "goes with your history",
    "fbt": "goes with your history",
    "viewed_bought": "goes with your history",
}


@dataclass(frozen=True)
class SourceRequest:
    """What a source needs: who (canonical key or raw id), the live features, the request's
    context and how many items to produce (the engine drops what the request excludes)."""

    who: str | None
    features: Snapshot
    context: DecisionContext
    n: int


Answer = list[tuple[str, float, str]]  # item, score, reason
SourceFn = Callable[[SourceRequest], Answer]
#: How long memoized answers live, by kind.
NEIGHBOURS_TTL, PERSONAL_TTL, SHARED_TTL = 600.0, 30.0, 5.0
#: How long an empty answer is memoized (the incremental models fold new events every
#: second: a shop's first events should show at once, not after the full time to live).
EMPTY_TTL = 1.0
#: How many neighbours of an item are kept (a source asks for at most this many).
NEIGHBOURS = 100


def _personal_reason(used: str, scored: Scored) -> str:
    """Why an item is on a customer's long-term list: the model that ranked it best."""
    if used != "blend":
        return _MODEL_REASONS.get(used, "recommended for you")
    if scored.source in ("session_knn", "viewed_together", "item_item", "fbt", "viewed_bought"):
        return "goes with your history"
    return _MODEL_REASONS.get(scored.source, "recommended for you")


class AnswerCache:
    """A bounded, thread-safe memo of model answers with a time to live per entry, emptied
    when the model generation changes."""

    def __init__(self, generation: Callable[[], int], size: int = 200_000) -> None:
        self._generation = generation
        self._size = size
        self._seen_generation = -1
        self._entries: OrderedDict[Hashable, tuple[float, int, object]] = OrderedDict()
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop every answer held (an erasure)."""
        with self._lock:
            self._entries.clear()

    def get(self, key: Hashable, ttl: float, compute: Callable[[], object]) -> object:
        now = time.monotonic()
        generation = self._generation()  # read before computing: a swap meanwhile shows
        with self._lock:
            if generation != self._seen_generation:
                self._entries.clear()
                self._seen_generation = generation
            found = self._entries.get(key)
            # up to 20 % longer by key, so entries made together do not expire together; an
            # empty answer (a model that has not seen the first events yet) only briefly
            if (
                found is not None
                and found[1] == generation
                and now - found[0]
                < (ttl if found[2] else min(ttl, EMPTY_TTL)) * (1.0 + (hash(key) % 64) / 320)
            ):
                return found[2]
        value = compute()
        with self._lock:
            self._entries[key] = (now, generation, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


class CandidateSources:
    """The named sources (see the module docstring) over the server's models and features."""

    def __init__(
        self,
        models: ModelService,
        features: OnlineFeatures,
        catalog: CatalogIndex,
        *,
        background: bool = True,
        shared: HotCache | None = None,
    ) -> None:
        self.models, self.features, self.catalog = models, features, catalog
        self.cache = AnswerCache(lambda: models.generation)
        self.personal = PersonalLists(
            models, _personal_reason, background=background, shared=shared
        )
        self._named: dict[str, SourceFn] = {
            "personal": self._personal,
            "similar": self._similar,
            "complements": self._complements,
            "viewed_similar": self._viewed_similar,
            "recently_viewed": self._recently_viewed,
            "session": self._session,
            "trending_now": self._trending_now,
            "trending": self._model_source("trending", "trending this week"),
            "popular": self._popular,
            "category_top": self._category_top,
            "buy_again": self._model_source("buy_again", "time to buy again?"),
            "new_arrivals": self._new_arrivals,
            "search": self._search,
        }
        assert tuple(self._named) == NAMED_SOURCES, "NAMED_SOURCES lists every named source"

    def names(self) -> list[str]:
        return source_names()

    def known(self, name: str) -> bool:
        return name in self._named or name in known_models()

    def run(self, name: str, request: SourceRequest) -> Answer:
        """One source's answer; an untrained model answers nothing."""
        fn = self._named.get(name)
        if fn is None:
            fn = self._model_source(name, _MODEL_REASONS.get(name, "recommended for you"))
        try:
            return fn(request)
        except NotTrainedError:
            return []

    def versions(self) -> dict[str, int | None]:
        return dict(self.models.versions)

    # --- helpers -------------------------------------------------------------------

    def _label(self, item_id: str) -> str:
        facts = self.catalog.get(item_id)
        return facts.label() if facts is not None else item_id

    def _context(self, request: SourceRequest) -> Context:
        recent = [item for item, _ in request.features.recent_items[:10]]
        return Context(
            session_items=tuple(reversed(recent)),
            items=tuple(filter(None, [request.context.item_id, *request.context.cart])),
            store_id=request.context.store_id or request.features.store_id,
            category=request.context.category,
        )

    def _scored(self, answer: list[tuple[str, float]], reason: str) -> Answer:
        return [(item, score, reason) for item, score in answer]

    # --- the sources ---------------------------------------------------------------

    def _recommend(
        self, name: str, who: str | None, context: Context, n: int, ttl: float
    ) -> tuple[str, list[tuple[str, float]]]:
        """A model's answer as (item, score) pairs, memoized for ``ttl`` (plain tuples: the
        garbage collector stops tracking them); exclusions are applied by the caller."""
        key = (name, who, tuple(context.session_items), tuple(context.items),
               context.store_id, context.category, n)  # fmt: skip

        def compute() -> tuple[str, list[tuple[str, float]]]:
            used, answer = self.models.recommend(name, who, context, n)
            return used, [(s.item_id, s.score) for s in answer]

        return self.cache.get(key, ttl, compute)  # type: ignore[return-value]

    def _personal(self, request: SourceRequest) -> Answer:
        return self.personal.get(request.who, request.n)[1]

    def _model_source(self, name: str, reason: str) -> SourceFn:
        def run(request: SourceRequest) -> Answer:
            _, answer = self._recommend(
                name, request.who, self._context(request), request.n, PERSONAL_TTL
            )
            return self._scored(answer, reason)

        return run

    def _anchored(self, model: str, anchors: list[str], n: int, template: str) -> Answer:
        """Neighbours of several anchors merged (the first anchor weighs most), memoized."""
        if not anchors:
            return []
        return self.cache.get(  # type: ignore[return-value]
            ("anchored", model, tuple(anchors), n, template),
            NEIGHBOURS_TTL,
            lambda: self._merge_neighbours(model, anchors, n, template),
        )

    def _merge_neighbours(self, model: str, anchors: list[str], n: int, template: str) -> Answer:
        out: dict[str, tuple[str, float, str]] = {}
        each = n if len(anchors) == 1 else n // len(anchors) + 4
        for rank, anchor in enumerate(anchors):
            weight = 1.0 / (1 + rank)
            reason = template.format(self._label(anchor))
            try:
                similar = self._neighbours(model, anchor)[:each]
            except NotTrainedError:
                return []
            for item, similarity in similar:
                if item in anchors:
                    continue
                score = similarity * weight
                if item not in out or out[item][1] < score:
                    out[item] = (item, score, reason)
        return sorted(out.values(), key=lambda t: -t[1])[:n]

    def _neighbours(self, model: str, item: str) -> list[tuple[str, float]]:
        return self.cache.get(  # type: ignore[return-value]
            ("neighbours", model, item),
            NEIGHBOURS_TTL,
            lambda: [(s.item_id, s.score) for s in self.models.similar(model, [item], NEIGHBOURS)],
        )

    def _similar(self, request: SourceRequest) -> Answer:
        item = request.context.item_id
        if not item:
            return []
        answer = self._anchored("item_item", [item], request.n, "similar to {}")
        return answer or self._anchored("content", [item], request.n, "similar to {}")

    def _complements(self, request: SourceRequest) -> Answer:
        anchors = list(
            dict.fromkeys(filter(None, [request.context.item_id, *request.context.cart]))
        )
        anchors = anchors or request.features.cart
        return self._anchored("fbt", anchors[:5], request.n, "often bought with {}")

    def _viewed_similar(self, request: SourceRequest) -> Answer:
        anchors = [item for item, _ in request.features.recent_items[:3]]
        return self._anchored("item_item", anchors, request.n, "because you viewed {}")

    def _recently_viewed(self, request: SourceRequest) -> Answer:
        return [
            (item, weight, "you viewed this recently")
            for item, weight in request.features.recent_items[: request.n]
        ]

    def _session(self, request: SourceRequest) -> Answer:
        recent = request.features.recent_items
        if not recent:
            return []
        _, answer = self._recommend(
            "session_knn", request.who, self._context(request), request.n, PERSONAL_TTL
        )
        return self._scored(answer, f"because you viewed {self._label(recent[0][0])}")

    def _trending_now(self, request: SourceRequest) -> Answer:
        return [
            (item, score, "trending now") for item, score in self.features.trending_now(request.n)
        ]

    def _popular(self, request: SourceRequest) -> Answer:
        store = request.context.store_id
        _, answer = self._recommend(
            "popularity", None, Context(store_id=store), request.n, SHARED_TTL
        )
        return self._scored(answer, "popular in this store" if store else "popular")

    def _category_top(self, request: SourceRequest) -> Answer:
        category = request.context.category
        if category is None and request.features.categories:
            category = max(request.features.categories.items(), key=lambda kv: kv[1])[0]
        if category is None:
            return []
        _, answer = self._recommend(
            "popularity", None, Context(category=category), request.n, SHARED_TTL
        )
        return self._scored(answer, f"popular in {category}")

    def _search(self, request: SourceRequest) -> Answer:
        """Items whose name, category or brand match the request's query, else the
        shopper's last search (:mod:`retailor.decision.search`)."""
        query = request.context.query or request.features.last_search
        if not query:
            return []
        reason = f"matches “{query.strip()[:60]}”"
        return [(item, score, reason) for item, score in self.catalog.words.match(query, request.n)]

    def _new_arrivals(self, request: SourceRequest) -> Answer:
        newest = self.catalog.newest(request.n)
        if not newest:
            return []
        top = newest[0].created_at or 0.0
        return [
            (f.item_id, 1.0 / (1.0 + (top - (f.created_at or 0.0)) / 86_400), "new arrival")
            for f in newest
        ]
