"""The closed-loop experiment's arms, run as Retailor experiments, and what each one shows.

Retailor assigns every shopper: the recommendation experiment on the pages (home, product
pages, cart, email) has four variants — Retailor's default placements, popularity only (a
placement override to the ``popular`` source under the same stock rules), random items
and no recommendations (the last two are rendered by the shop: Retailor assigns them and
logs the exposure, the shop ignores the items) — and the offer experiment at checkout has
three: Retailor's bandit, a uniformly random eligible offer (Retailor's ``uniform`` policy)
and an oracle that knows each shopper's hidden response (rendered by the shop). The shop
learns each shopper's variant from Retailor's answer, and the report reads Retailor's own
results of both experiments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from retailor.client import AsyncClient, RetailorError

RECOMMENDATION_ARMS = ("retailor", "popularity", "random", "none")
OFFER_ARMS = ("bandit", "random", "oracle")
RECOMMENDATION_EXPERIMENT = "sim-recommendations"
OFFER_EXPERIMENT = "sim-offers"
#: The offer slot at checkout: every shopper asks through it, whatever their
#: recommendation variant, so the bandit sees the same request from all of them. Its one
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
#: How many items each page shows.
SLOTS = {"home": 8, "product_detail": 6, "cart": 4, "email": 4}
#: Best sellers for everyone, under the stock rules: the popularity variant's placements.
POPULARITY_OVERRIDE: dict[str, Any] = {
    "sources": [{"source": "popular", "weight": 1.0}],
    "rules": [{"kind": "exclude_out_of_stock"}, {"kind": "exclude_in_cart"}],
}
RECOMMENDATION_DEFINITION: dict[str, Any] = {
    "name": "Recommendations (simulation)",
    "placements": list(SLOTS),
    "control": "popularity",
    "variants": [
        {"id": "retailor", "weight": 0.25},
        {"id": "popularity", "weight": 0.25, "placement": POPULARITY_OVERRIDE},
        {"id": "random", "weight": 0.25, "personalized": False, "parameters": {"show": "random"}},
        {"id": "none", "weight": 0.25, "personalized": False, "parameters": {"show": "none"}},
    ],
}
#: Half the shoppers meet the bandit (it learns from them); the references share the rest.
OFFER_EXPERIMENT_DEFINITION: dict[str, Any] = {
    "name": "Checkout offers (simulation)",
    "placements": [OFFER_PLACEMENT],
    "control": "random",
    "variants": [
        {"id": "bandit", "weight": 0.5},
        {"id": "random", "weight": 0.25, "offer_policy": "uniform"},
        {"id": "oracle", "weight": 0.25, "placement": {"offers": 0},
         "parameters": {"offer": "oracle"}},
    ],
}  # fmt: skip


@dataclass
class Shown:
    """What a page showed: item indices, Retailor's decision id, the offer it chose (if
    asked) and the experiment variant it assigned."""

    items: list[int] = field(default_factory=list)
    decision_id: str | None = None
    offer_id: str | None = None
    variant: str | None = None  # the experiment variant Retailor answered with


class Shelves:
    """Asks Retailor (or draws at random) for the items of each page."""

    def __init__(self, client: AsyncClient, item_index: dict[str, int], errors: list[str]) -> None:
        self.client = client
        self.item_index = item_index
        self.errors = errors  # a failed answer shows nothing and is noted here

    async def show(
        self,
        placement: str,
        who: dict[str, str],
        context: dict[str, Any],
        at: datetime,
        *,
        available: np.ndarray,
        rng: np.random.Generator,
        exclude: list[int],
    ) -> Shown:
        """Ask Retailor for ``placement`` and show what the answered variant shows: its
        items (``retailor``, ``popularity``), random items (``random``) or nothing."""
        k = SLOTS[placement]
        try:
            shown = await self._decide(placement, who, context, at, k, 0)
        except RetailorError as exc:
            self.errors.append(f"{placement} decision failed: {exc}")
            return Shown()
        if shown.variant == "none":
            shown.items = []
        elif shown.variant == "random":
            pool = np.setdiff1d(np.flatnonzero(available), np.asarray(exclude, dtype=np.int64))
            shown.items = (
                [int(i) for i in rng.choice(pool, min(k, len(pool)), replace=False)]
                if len(pool)
                else []
            )
        return shown

    async def offer(self, who: dict[str, str], context: dict[str, Any], at: datetime) -> Shown:
        """Retailor's answer at checkout: the decision, the offer chosen (none for the
        oracle variant, whose offer the shop picks) and the variant."""
        return await self._decide(OFFER_PLACEMENT, who, context, at, 1, None)

    async def _decide(
        self,
        placement: str,
        who: dict[str, str],
        context: dict[str, Any],
        at: datetime,
        k: int,
        offers: int | None,
    ) -> Shown:
        """A decision made at the simulated time ``at`` (the shop's clock, not the wall's)."""
        answer = await self.client.decide(
            placement, context=context, k=k, offers=offers, timestamp=at.isoformat(), **who
        )
        experiment = answer.get("experiment") or {}
        return Shown(
            items=[
                self.item_index[i["item_id"]]
                for i in answer["items"]
                if i["item_id"] in self.item_index
            ],
            decision_id=answer["decision_id"],
            offer_id=answer["offers"][0]["offer_id"] if answer["offers"] else None,
            variant=experiment.get("variant"),
        )
