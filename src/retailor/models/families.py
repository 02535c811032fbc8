"""The named model configurations Retailor trains and serves, and how to build or load one.

A name maps to a family class and the hyperparameters that make that configuration;
``viewed_together`` and ``viewed_bought`` are the co-occurrence family on sessions of
views and on customers' views → purchases.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from retailor.models.errors import UnknownModelError

if TYPE_CHECKING:  # the model code (numpy, scipy) is imported with a family, on first use
    from retailor.models.base import Recommender

#: name -> ("module:Class" under retailor.models, hyperparameters, what it is); classes are
#: imported on first use so that the CLI starts fast.
FAMILIES: dict[str, tuple[str, dict[str, Any], str]] = {
    "popularity": ("popularity:Popularity", {}, "time-decayed popularity, per category and store"),
    "trending": ("popularity:Trending", {}, "recent interest above the long-run rate"),
    "item_item": (
        "cooccurrence:CoOccurrence",
        {},
        "co-occurrence in customer histories (SAR-style, jaccard)",
    ),
    "viewed_together": (
        "cooccurrence:CoOccurrence",
        {
            "unit": "session",
            "source_kinds": ["view"],
            "target_kinds": ["view"],
            "similarity": "cosine",
        },
        "viewed in the same sessions",
    ),
    "viewed_bought": (
        "cooccurrence:CoOccurrence",
        {
            "unit": "user",
            "source_kinds": ["view"],
            "target_kinds": ["purchase"],
            "similarity": "lift",
        },
        "viewed this, bought that",
    ),
    "fbt": (
        "cooccurrence:FrequentlyBoughtTogether",
        {},
        "frequently bought together (basket rules)",
    ),
    "als": ("factorization:ALS", {}, "matrix factorization, implicit ALS"),
    "bpr": ("factorization:BPR", {}, "matrix factorization, implicit BPR"),
    "session_knn": ("session_knn:SessionKNN", {}, "next item from the live session (V-SKNN/STAN)"),
    "buy_again": ("repeat:BuyAgain", {}, "repeat purchases when they are due"),
    "most_bought": ("repeat:MostBought", {}, "the customer's most-bought items (baseline)"),
    "content": ("content:ContentBased", {}, "content-based cold start (TF-IDF of attributes)"),
}
#: The lifetime value model, trained from the profiles rather than the event log.
CLV = "clv"
#: What ``retailor train`` fits by default (the blend last: it reuses the others). ``bpr``
#: and ``most_bought`` (a baseline) are trained on request.
DEFAULT_MODELS: tuple[str, ...] = (
    *(name for name in FAMILIES if name not in ("bpr", "most_bought")),
    "blend",
)


def family(name: str) -> type[Recommender]:
    """The class of a named configuration."""
    module, _, cls = FAMILIES[name][0].partition(":")
    found: type[Recommender] = getattr(importlib.import_module(f"retailor.models.{module}"), cls)
    return found


def known_models() -> list[str]:
    return [*FAMILIES, "blend"]


def create(name: str, *, seed: int = 0, **params: Any) -> Recommender:
    """A new, unfitted model of the named configuration; ``UnknownModelError`` when no
    configuration has that name."""
    if name == "blend":
        from retailor.models.blend import Blend

        return Blend(seed=seed, **params)
    if name not in FAMILIES:
        raise UnknownModelError(name, known_models())
    _, defaults, _ = FAMILIES[name]
    model = family(name)(seed=seed, **{**defaults, **params})
    model.config = name
    return model


def load(name: str, blob: bytes) -> Recommender:
    """A fitted model of the named configuration from its saved bytes;
    ``UnknownModelError`` when no configuration has that name."""
    if name == "blend":
        from retailor.models.blend import Blend

        return Blend.load(blob)
    if name not in FAMILIES:
        raise UnknownModelError(name, known_models())
    model = family(name).load(blob)
    model.config = name
    return model


def describe(name: str) -> str:
    if name == "blend":
        return "the default: every source blended by a learned ranker (LightGBM LambdaRank)"
    return FAMILIES[name][2]
