"""Matching a shopper's search words against the catalog, in memory: the ``search``
candidate source (the request's ``context.query``, else the shopper's last search).

Every item is indexed by the words of its name, category path and brand, kept up to date
item by item as the catalog changes. A query scores an item by the rarity (inverse
document frequency) of the query words it contains, a word in its name or brand counting
more than one only in its category path; plurals match singulars ("mugs" finds "Mug").
This is no replacement for the retailer's own search engine (``POST /v1/rerank``
personalizes that one's results); it gives the ``search`` placement something relevant to
show when the search engine finds nothing, and lets any placement follow a last search.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: How much a word counts by where the item has it.
NAME_WEIGHT, BRAND_WEIGHT, CATEGORY_WEIGHT = 1.0, 1.0, 0.6
MAX_QUERY_WORDS = 12


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``, plurals folded to singulars ("boxes" -> "box")."""
    return [_singular(w) for w in _WORD.findall(text.lower()) if len(w) > 1 or w.isdigit()]


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class QueryIndex:
    """Words -> items (see the module docstring); thread-safe."""

    def __init__(self) -> None:
        self._postings: dict[str, dict[str, float]] = {}  # word -> item -> weight
        self._of_item: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def put(
        self, item_id: str, name: str | None, category: Iterable[str], brand: str | None
    ) -> None:
        """Index (or re-index) one item."""
        weights: dict[str, float] = {}
        for text, weight in (
            *((part, CATEGORY_WEIGHT) for part in category),
            (brand or "", BRAND_WEIGHT),
            (name or "", NAME_WEIGHT),
        ):
            for word in words(text):
                weights[word] = max(weights.get(word, 0.0), weight)
        with self._lock:
            for word in self._of_item.get(item_id, {}):
                posting = self._postings.get(word)
                if posting is not None:
                    posting.pop(item_id, None)
                    if not posting:
                        del self._postings[word]
            self._of_item[item_id] = weights
            for word, weight in weights.items():
                self._postings.setdefault(word, {})[item_id] = weight

    def match(self, query: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` items that match ``query`` best, with their scores, best first."""
        asked = list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]
        if not asked:
            return []
        scores: dict[str, float] = {}
        with self._lock:
            total = len(self._of_item) or 1
            for word in asked:
                posting = self._postings.get(word)
                if not posting:
                    continue
                idf = math.log(1.0 + total / len(posting))
                for item, weight in posting.items():
                    scores[item] = scores.get(item, 0.0) + idf * weight
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [(item, round(score, 6)) for item, score in best]
