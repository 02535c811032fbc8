"""The closed-loop experiment's arms and what each one shows.

Shoppers are split at random into four recommendation arms (Retailor's default
placements, popularity only, random items, no recommendations) and, independently, into
three offer arms (Retailor's bandit, a random eligible offer, an oracle that knows each
shopper's hidden response). Every list comes from Retailor's public API except the
random arm's and the none arm's; popularity is a placement of Retailor's own that only
uses the ``popular`` source, under the same stock rules. The bandit's offers come from a
checkout placement of their own, asked the same way whatever the recommendation arm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from retailor.client import AsyncClient, RetailorError

RECOMMENDATION_ARMS = ("retailor", "popularity", "random", "none")
OFFER_ARMS = ("bandit", "random", "oracle")
#: Half the shoppers meet the bandit (it learns from them); the references share the rest.
OFFER_SHARES = (0.5, 0.25, 0.25)
POPULAR_PLACEMENT = "sim-popular"
#: The offer slot at checkout: every shopper of the bandit arm asks through it, whatever
#: their recommendation arm, so the bandit sees the same request from all of them. Its one
#: item (a best seller) is not shown.
OFFER_PLACEMENT = "sim-checkout-offer"
OFFER_DEFINITION: dict[str, Any] = {
    "name": "Checkout offer (simulation)",
    "description": "One offer for the basket; the item is not displayed.",
    "k": 1,
    "offers": 1,
    "sources": [{"source": "popular", "weight": 1.0}],
    "rules": [{"kind": "exclude_in_cart"}],
}
POPULAR_DEFINITION: dict[str, Any] = {
    "name": "Best sellers (simulation's popularity arm)",
    "description": "The same best sellers for everyone, under the stock rules.",
    "k": 8,
    "sources": [{"source": "popular", "weight": 1.0}],
    "rules": [{"kind": "exclude_out_of_stock"}, {"kind": "exclude_in_cart"}],
}
#: How many items each page shows.
SLOTS = {"home": 8, "product_detail": 6, "cart": 4, "email": 4}


def split(
    people: int,
    arms: tuple[str, ...],
    rng: np.random.Generator,
    shares: tuple[float, ...] | None = None,
) -> np.ndarray:
    """Random assignment in fixed proportions (equal unless ``shares``): the index into
    ``arms`` of each person."""
    weights = np.asarray(shares if shares is not None else [1.0] * len(arms), dtype=float)
    bounds = np.round(np.cumsum(weights / weights.sum()) * people).astype(np.int64)
    slots = np.searchsorted(bounds, np.arange(people), side="right")
    assignment = np.empty(people, dtype=np.int64)
    assignment[rng.permutation(people)] = slots
    return assignment


@dataclass
class Shown:
    """What a page showed: item indices, Retailor's decision id (if it decided) and the
    offer it chose (if asked)."""

    items: list[int] = field(default_factory=list)
    decision_id: str | None = None
    offer_id: str | None = None


class Shelves:
    """Asks Retailor (or draws at random) for the items of each page."""

    def __init__(self, client: AsyncClient, item_index: dict[str, int], errors: list[str]) -> None:
        self.client = client
        self.item_index = item_index
        self.errors = errors  # a failed answer shows nothing and is noted here

    async def show(
        self,
        arm: str,
        placement: str,
        who: dict[str, str],
        context: dict[str, Any],
        *,
        available: np.ndarray,
        rng: np.random.Generator,
        exclude: list[int],
    ) -> Shown:
        """The items that ``arm`` shows on ``placement`` (offers come from :meth:`offer`)."""
        k = SLOTS[placement]
        if arm in ("retailor", "popularity"):
            try:
                return await self._decide(
                    placement if arm == "retailor" else POPULAR_PLACEMENT, who, context, k, 0
                )
            except RetailorError as exc:
                self.errors.append(f"{placement} decision failed: {exc}")
                return Shown()
        shown = Shown()
        if arm == "random":
            pool = np.setdiff1d(np.flatnonzero(available), np.asarray(exclude, dtype=np.int64))
            if len(pool):
                shown.items = [int(i) for i in rng.choice(pool, min(k, len(pool)), replace=False)]
        return shown

    async def offer(self, who: dict[str, str], context: dict[str, Any]) -> tuple[str, str | None]:
        """Retailor's offer for this basket: the decision id and the offer chosen (if any)."""
        shown = await self._decide(OFFER_PLACEMENT, who, context, 1, 1)
        return str(shown.decision_id), shown.offer_id

    async def _decide(
        self, placement: str, who: dict[str, str], context: dict[str, Any], k: int, offers: int
    ) -> Shown:
        answer = await self.client.decide(placement, context=context, k=k, offers=offers, **who)
        return Shown(
            items=[
                self.item_index[i["item_id"]]
                for i in answer["items"]
                if i["item_id"] in self.item_index
            ],
            decision_id=answer["decision_id"],
            offer_id=answer["offers"][0]["offer_id"] if answer["offers"] else None,
        )
