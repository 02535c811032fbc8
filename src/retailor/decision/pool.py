"""The candidate pool of one decision: every source's answer blended by rank into one score
per item (a source's item at rank r adds ``weight / (r + RANK_DAMPING)``), the source that
contributes most to each item (it names the item and gives the first reason), and each
source's own order (what slot quotas read)."""

from __future__ import annotations

from collections.abc import Sequence

from retailor.decision.rules import Candidate

#: Rank damping of the blend: a source's item at rank r contributes weight / (r + RANK_DAMPING).
RANK_DAMPING = 5.0


class Pool:
    """Blended scores of every candidate, the source that contributes most to each (it
    names the item and gives the first reason), and each source's own order."""

    __slots__ = ("best", "first", "reasons", "score", "sources")

    def __init__(self) -> None:
        self.score: dict[str, float] = {}
        self.best: dict[str, float] = {}
        self.first: dict[str, str] = {}
        self.reasons: dict[str, list[str]] = {}
        self.sources: dict[str, list[str]] = {}

    def add(self, source: str, weight: float, answer: Sequence[tuple[str, float, str]]) -> None:
        if not self.score and self._first(source, weight, answer):
            return
        order: list[str] = []
        score, best, first, reasons = self.score, self.best, self.first, self.reasons
        for rank, (item, _, reason) in enumerate(answer):
            contribution = weight / (rank + RANK_DAMPING)
            order.append(item)
            old = score.get(item)
            if old is None:
                score[item] = best[item] = contribution
                first[item] = source
                reasons[item] = [reason]
                continue
            score[item] = old + contribution
            said = reasons[item]
            if contribution > best[item]:
                best[item] = contribution
                first[item] = source
                if reason in said:
                    said.remove(reason)
                said.insert(0, reason)
            elif reason not in said:
                said.append(reason)
        self.sources[source] = order

    def _first(self, source: str, weight: float, answer: Sequence[tuple[str, float, str]]) -> bool:
        """The first source into an empty pool, built with comprehensions (most of a
        decision's candidates come from it); False when its answer repeats an item."""
        items = [a[0] for a in answer]
        score = dict(
            zip(items, [weight / (r + RANK_DAMPING) for r in range(len(items))], strict=True)
        )
        if len(score) != len(items):
            return False
        self.score, self.best = score, dict(score)
        self.first = dict.fromkeys(items, source)
        self.reasons = {a[0]: [a[2]] for a in answer}
        self.sources[source] = items
        return True

    def candidate(self, item: str) -> Candidate:
        return Candidate(item, self.score[item], self.first[item], self.reasons[item])
