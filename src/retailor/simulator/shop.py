"""The simulated shop's own state and the records it writes, without any I/O: stock and
what is on sale, who has registered, catalog records and their daily changes, events in
Retailor's native format, and the baskets rung up in stores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from retailor.simulator import shopper
from retailor.simulator.world import CONSUMABLE_DEPARTMENTS, TIERS, World

RESTOCK_CHANCE = 0.15


class Shop:
    """Stock, launches and registrations of one run of ``world``."""

    def __init__(self, world: World) -> None:
        self.world = world
        cat = world.catalog
        self.item_index = {item: n for n, item in enumerate(cat.item_ids)}
        self.stock = np.where(cat.launch_day <= 0, cat.restock_level, 0).astype(np.int64)
        self.launched = cat.launch_day <= 0
        self.registered = world.customers.arrival_day <= 0
        self.consumable = np.array(
            [cat.categories[c][0] in CONSUMABLE_DEPARTMENTS for c in cat.category]
        )
        self._sold_out: set[int] = set()

    # --- the catalog -------------------------------------------------------------------

    def available(self) -> np.ndarray:
        """Items on sale and in stock."""
        return np.asarray(self.launched & (self.stock > 0))

    def item(self, n: int, created: datetime) -> dict[str, Any]:
        """Item ``n`` as a catalog record."""
        cat = self.world.catalog
        department, category = cat.categories[int(cat.category[n])]
        brand, tier = cat.brands[int(cat.brand[n])]
        return {
            "item_id": cat.item_ids[n],
            "name": cat.names[n],
            "category": f"{department} > {category}",
            "brand": brand,
            "price": float(cat.price[n]),
            "cost": float(cat.cost[n]),
            "stock": int(self.stock[n]),
            "created_at": created.isoformat(),
            "attributes": {"brand_tier": tier},
        }

    def open_day(self, day: int, rng: np.random.Generator) -> list[dict[str, Any]]:
        """Launch today's new arrivals and restock some sold-out items; the catalog records
        and patches that say so."""
        cat = self.world.catalog
        arriving = np.flatnonzero((cat.launch_day == day) & ~self.launched)
        self.launched[arriving] = True
        self.stock[arriving] = cat.restock_level[arriving]
        restock = np.flatnonzero(
            self.launched & (self.stock <= 0) & (rng.random(len(self.stock)) < RESTOCK_CHANCE)
        )
        self.stock[restock] = cat.restock_level[restock]
        self._sold_out.difference_update(int(i) for i in restock)
        start = self.world.day_start(day)
        patches = [self.item(int(n), start) for n in arriving]
        patches += [{"item_id": cat.item_ids[n], "stock": int(self.stock[n])} for n in restock]
        return patches

    def take(self, lines: dict[int, int]) -> list[dict[str, Any]]:
        """Take ``{item: quantity}`` from stock (as much as there is); the order lines."""
        cat = self.world.catalog
        taken: list[dict[str, Any]] = []
        for i, wanted in lines.items():
            q = min(wanted, int(self.stock[i]))
            if q <= 0:
                continue
            self.stock[i] -= q
            taken.append({"item_id": cat.item_ids[i], "quantity": q, "price": float(cat.price[i])})
        return taken

    def newly_sold_out(self) -> list[dict[str, Any]]:
        """Patches for the items that sold out since the last call (as an inventory feed
        tells the catalog at once)."""
        gone = [int(i) for i in np.flatnonzero(self.launched & (self.stock <= 0))]
        gone = [i for i in gone if i not in self._sold_out]
        self._sold_out.update(gone)
        return [{"item_id": self.world.catalog.item_ids[i], "stock": 0} for i in gone]

    def basket(self, cart: dict[int, int]) -> float:
        price = self.world.catalog.price
        return float(sum(price[i] * q for i, q in cart.items()))

    # --- events ------------------------------------------------------------------------

    def event(
        self,
        event_id: str,
        kind: str,
        at: datetime,
        who: dict[str, str],
        channel: str,
        session: str | None,
        properties: dict[str, Any],
        decision_id: str | None = None,
        store_id: str | None = None,
    ) -> dict[str, Any]:
        """An event in Retailor's native format; ids are unique within a seed's run."""
        event: dict[str, Any] = {
            "event_id": f"sim{self.world.seed}-{event_id}",
            "type": kind,
            "timestamp": at.isoformat(),
            "channel": channel,
            "properties": properties,
            **who,
        }
        if session:
            event["session_id"] = session
        if decision_id:
            event["decision_id"] = decision_id
        if store_id:
            event["store_id"] = store_id
        return event

    def registration(self, p: int, at: datetime, key: str) -> list[dict[str, Any]]:
        """Person ``p`` becomes a known customer: email, consents, loyalty card."""
        people = self.world.customers
        who = {"customer_id": people.customer_ids[p]}
        events = [
            self.event(f"{key}-id", "identify", at, who, "web", None,
                       {"traits": {"email": f"shopper{p + 1}@example.com"}}),
            self.event(f"{key}-consent", "consent_updated", at, who, "web", None,
                       {"purposes": {"personalization": bool(people.consent_personalization[p]),
                                     "marketing_email": bool(people.consent_email[p])}}),
        ]  # fmt: skip
        tier = TIERS[int(people.tier[p])]
        if tier != "none":
            events.append(
                self.event(f"{key}-loyalty", "loyalty_enrolled", at, who, "store", None,
                           {"card_id": card(p), "tier": tier, "program": "Retailor Rewards"})
            )  # fmt: skip
        return events

    def store_basket(
        self, day: int, n: int, p: int, at: datetime, rng: np.random.Generator
    ) -> tuple[dict[str, Any], float] | None:
        """A point-of-sale basket of ``p`` (identified by the loyalty card when there is
        one) and its revenue; None when the shelves had nothing for them."""
        world = self.world
        cat = world.catalog
        utility = world.utility(p)
        available = self.available()
        wanted: dict[int, int] = {}
        for _ in range(1 + int(rng.poisson(1.2))):
            c = shopper.pick_category(world.customers.taste[p], rng)
            shelf = np.flatnonzero((cat.category == c) & available)
            if not len(shelf):
                continue
            weights = np.exp(utility[shelf] - utility[shelf].max())
            i = int(rng.choice(shelf, p=weights / weights.sum()))
            if i not in wanted:
                wanted[i] = shopper.quantity(bool(self.consumable[i]), rng)
        lines = self.take(wanted)
        if not lines:
            return None
        store = world.stores[p % len(world.stores)]
        receipt = f"{store}-{day}-{n}"
        props: dict[str, Any] = {"order_id": f"R-{receipt}", "lines": lines, "currency": "EUR"}
        if world.customers.tier[p] > 0:
            props["loyalty_card"] = card(p)
        event = self.event(f"pos-{receipt}", "order_completed", at,
                           {"anonymous_id": f"receipt-{receipt}"}, "store", None, props,
                           store_id=store)  # fmt: skip
        return event, sum(line["price"] * line["quantity"] for line in lines)


def card(p: int) -> str:
    """Person ``p``'s loyalty card number."""
    return f"L{p + 1:07d}"
