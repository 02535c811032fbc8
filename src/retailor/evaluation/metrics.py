"""Ranking metrics at a cutoff k, for one list against the set of relevant items.

With ``ranked`` a customer's recommendations (best first) and ``relevant`` the items
they really bought in the test period (binary relevance):

- ``precision@k`` = hits in the top k / k
- ``recall@k`` = hits in the top k / |relevant|
- ``hr@k`` (hit rate) = 1 if any of the top k is relevant, else 0
- ``mrr@k`` = 1 / rank of the first relevant item in the top k (0 if none)
- ``map@k`` = (1 / min(k, |relevant|)) x Σ over relevant ranks r ≤ k of precision@r
- ``ndcg@k`` = DCG / ideal DCG, DCG = Σ over relevant ranks r ≤ k of 1 / log2(r + 1)

Each is averaged over customers. ``coverage`` is the share of the catalog (items seen in
training) that appears in anyone's top k; ``novelty`` the mean self-information
-log2(share of training customers who had the item) of the recommended items.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

METRICS = ("precision", "recall", "ndcg", "map", "hr", "mrr")


def precision_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    return sum(1 for item in ranked[:k] if item in relevant) / k if k > 0 else 0.0


def recall_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    if not relevant:
        return 0.0
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant)


def hit_rate_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    return 1.0 if any(item in relevant for item in ranked[:k]) else 0.0


def mrr_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    for rank, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def average_precision_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for rank, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / rank
    return total / min(k, len(relevant))


def ndcg_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    if not relevant:
        return 0.0
    dcg = sum(
        1.0 / math.log2(rank + 1)
        for rank, item in enumerate(ranked[:k], start=1)
        if item in relevant
    )
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal


FUNCTIONS = {
    "precision": precision_at,
    "recall": recall_at,
    "ndcg": ndcg_at,
    "map": average_precision_at,
    "hr": hit_rate_at,
    "mrr": mrr_at,
}


def score_lists(
    lists: Mapping[str, Sequence[str]], truth: Mapping[str, Collection[str]], ks: Sequence[int]
) -> dict[str, float]:
    """Every metric at every k, averaged over the customers of ``truth`` (a customer
    without a list scores 0)."""
    out: dict[str, float] = {}
    n = max(len(truth), 1)
    for k in ks:
        for name, fn in FUNCTIONS.items():
            out[f"{name}@{k}"] = sum(fn(lists.get(c, ()), rel, k) for c, rel in truth.items()) / n
    return out


def coverage(lists: Mapping[str, Sequence[str]], catalog_size: int, k: int) -> float:
    shown = {item for ranked in lists.values() for item in ranked[:k]}
    return len(shown) / catalog_size if catalog_size else 0.0


def novelty(lists: Mapping[str, Sequence[str]], popularity: dict[str, float], k: int) -> float:
    """Mean -log2 p(item) over recommended items, p = share of customers who had it."""
    values = [
        -math.log2(popularity[item])
        for ranked in lists.values()
        for item in ranked[:k]
        if popularity.get(item, 0) > 0
    ]
    return sum(values) / len(values) if values else 0.0
