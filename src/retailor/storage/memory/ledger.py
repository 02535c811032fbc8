"""In-process ``OfferLedger``: the embedded server's caps, budgets and redemption limits,
exact under concurrent requests of one process (rebuilt from the decision log at start)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence

from retailor.domain.offers import Offer
from retailor.storage.hot import OfferLedger

DAY, WEEK = 86_400.0, 7 * 86_400.0


def _capped(offer: Offer) -> bool:
    cap = offer.frequency_cap
    return bool(cap.per_day or cap.per_week)


class MemoryOfferLedger(OfferLedger):
    """Impressions per (offer, who), redemptions and spend per offer, under one lock (see
    ``OfferLedger`` for the contract): every check-and-count happens while holding it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shown: dict[tuple[str, str], deque[tuple[float, str]]] = {}
        self._spent: dict[str, float] = {}
        self._redemptions: dict[str, int] = {}
        self._redeemed: set[tuple[str, str]] = set()
        self._seeded = False

    def _within_caps(self, offer: Offer, who: str | None, at: float) -> bool:
        cap = offer.frequency_cap
        if who is None or (cap.per_day is None and cap.per_week is None):
            return True
        shown = self._shown.get((offer.offer_id, who))
        if not shown:
            return True
        while shown and shown[0][0] <= at - WEEK:
            shown.popleft()
        if cap.per_week is not None and len(shown) >= cap.per_week:
            return False
        if cap.per_day is not None:
            today = sum(1 for t, _ in shown if t > at - DAY)
            if today >= cap.per_day:
                return False
        return True

    def _budget_left(self, offer: Offer) -> bool:
        if offer.max_redemptions is not None and (
            self._redemptions.get(offer.offer_id, 0) >= offer.max_redemptions
        ):
            return False
        if offer.budget is not None:
            cost = offer.redemption_cost()
            if self._spent.get(offer.offer_id, 0.0) + cost > offer.budget + 1e-9:
                return False
        return True

    def allowed(self, offers: Sequence[Offer], who: str | None, at: float) -> list[bool]:
        with self._lock:
            return [self._budget_left(o) and self._within_caps(o, who, at) for o in offers]

    def award(self, offer: Offer, who: str | None, at: float, decision_id: str) -> bool:
        with self._lock:
            if not (self._budget_left(offer) and self._within_caps(offer, who, at)):
                return False
            if who is not None and _capped(offer):
                self._shown.setdefault((offer.offer_id, who), deque()).append((at, decision_id))
            return True

    def _count(self, offer_id: str, decision_id: str, cost: float) -> None:
        self._redeemed.add((decision_id, offer_id))
        self._redemptions[offer_id] = self._redemptions.get(offer_id, 0) + 1
        self._spent[offer_id] = self._spent.get(offer_id, 0.0) + cost

    def redeem(self, offer: Offer, decision_id: str) -> str:
        with self._lock:
            if (decision_id, offer.offer_id) in self._redeemed:
                return "duplicate"
            if not self._budget_left(offer):
                return "exhausted"
            self._count(offer.offer_id, decision_id, offer.redemption_cost())
            return "counted"

    def forget(self, who: Sequence[str]) -> int:
        wanted = set(who)
        with self._lock:
            gone = [k for k in self._shown if k[1] in wanted]
            removed = sum(len(self._shown.pop(k)) for k in gone)
        return removed

    def usage(self, offer_id: str) -> tuple[int, float]:
        with self._lock:
            return self._redemptions.get(offer_id, 0), self._spent.get(offer_id, 0.0)

    def seeded(self) -> bool:
        return self._seeded

    def seed(
        self,
        impressions: Iterable[tuple[str, str, float, str]],
        redemptions: Iterable[tuple[str, str, float]],
    ) -> None:
        with self._lock:
            touched: set[tuple[str, str]] = set()
            for offer_id, who, at, decision_id in impressions:
                self._shown.setdefault((offer_id, who), deque()).append((at, decision_id))
                touched.add((offer_id, who))
            for key in touched:  # one impression per decision, in time order
                shown = self._shown[key]
                ordered = sorted({d: (t, d) for t, d in shown}.values())
                shown.clear()
                shown.extend(ordered)
            for offer_id, decision_id, cost in redemptions:
                if (decision_id, offer_id) not in self._redeemed:
                    self._count(offer_id, decision_id, cost)
            self._seeded = True
