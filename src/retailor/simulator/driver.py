"""Running the simulated retailer day by day against Retailor's public API.

The first ``history_days`` are the shop before Retailor: shoppers browse and buy on
their own, and the events reach Retailor in daily batches (as a nightly import would).
Then the models are trained and the closed-loop experiment begins: every online visit
runs as its own task (``concurrency`` at a time), asks Retailor what to show on the home
page, product pages and the cart, reacts to it, sends its events before each decision
that depends on them, and reports redemptions as feedback. Each week an email goes to
shoppers who accepted marketing email; store visits become point-of-sale baskets
identified by loyalty card. Stock runs out and is restocked, new items arrive.

Without a client (``export`` only) the shop runs without Retailor and its event stream
is written as files for ``retailor import``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from retailor.client import AsyncClient, RetailorError
from retailor.simulator import shopper
from retailor.simulator.arms import (
    OFFER_ARMS,
    OFFER_DEFINITION,
    OFFER_PLACEMENT,
    OFFER_SHARES,
    POPULAR_DEFINITION,
    POPULAR_PLACEMENT,
    RECOMMENDATION_ARMS,
    Shelves,
    split,
)
from retailor.simulator.world import (
    CHANNELS,
    CONSUMABLE_DEPARTMENTS,
    DEPARTMENTS,
    ONLINE_HOURS,
    STORE_HOURS,
    TIERS,
    WEEKDAY_TRAFFIC,
    World,
)

EVENT_BATCH = 5_000
#: Each kind of random draw has a stream of its own (the tag keeps them apart).
STREAM_ASSIGNMENT, STREAM_SCHEDULE, STREAM_VISIT, STREAM_STORE, STREAM_EMAIL = 1, 2, 3, 4, 5
EMAIL_WEEKDAY = 1  # Tuesday
EMAIL_OPEN_RATE = 0.3
RESTOCK_CHANCE = 0.15


@dataclass
class Visit:
    """One online visit's outcome, as the experiment measures it."""

    day: int
    person: int
    arm: str
    offer_arm: str
    channel: str
    shown: int = 0
    clicks: int = 0
    views: int = 0
    carted: bool = False
    ordered: bool = False
    revenue: float = 0.0
    margin: float = 0.0
    offer_id: str | None = None
    redeemed: bool = False
    offer_cost: float = 0.0
    #: expected redemptions lost against the oracle's choice (visits offered something)
    regret: float | None = None


@dataclass
class Outcome:
    """Everything a run produced."""

    visits: list[Visit] = field(default_factory=list)
    events: int = 0
    store_revenue: float = 0.0
    store_orders: int = 0
    history_visits: int = 0
    history_orders: int = 0
    errors: list[str] = field(default_factory=list)
    trained: list[int] = field(default_factory=list)  # days on which models were trained
    #: the arm of every shopper who could come during the experiment (arrived, not churned)
    assigned: dict[int, str] = field(default_factory=dict)


Progress = Callable[[int, Outcome], None]


class Simulator:
    """One run of ``world`` (see the module docstring)."""

    def __init__(
        self,
        world: World,
        client: AsyncClient | None,
        *,
        concurrency: int = 8,
        retrain_days: int = 7,
        export: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.world = world
        self.client = client
        self.concurrency = max(1, concurrency)
        self.retrain_days = retrain_days
        self.progress = progress
        cat = world.catalog
        self.item_index = {item: n for n, item in enumerate(cat.item_ids)}
        self.outcome = Outcome()
        self.shelves = Shelves(client, self.item_index, self.outcome.errors) if client else None
        self.stock = np.where(cat.launch_day <= 0, cat.restock_level, 0).astype(np.int64)
        self.launched = cat.launch_day <= 0
        people = world.customers
        self.registered = people.arrival_day <= 0
        assign = np.random.default_rng([world.seed, STREAM_ASSIGNMENT])
        self.arm = split(len(people.customer_ids), RECOMMENDATION_ARMS, assign)
        self.offer_arm = split(len(people.customer_ids), OFFER_ARMS, assign, OFFER_SHARES)
        departments = list(DEPARTMENTS)
        self.consumable = np.array(
            [cat.categories[c][0] in CONSUMABLE_DEPARTMENTS for c in cat.category]
        )
        self.department = np.array([departments.index(d) for d, _ in cat.categories])[cat.category]
        h, end = world.scale.history_days, world.scale.total_days
        eligible = (people.arrival_day < end) & (people.churn_day > h)
        self.outcome.assigned = {
            int(p): RECOMMENDATION_ARMS[int(self.arm[p])] for p in np.flatnonzero(eligible)
        }
        self._buffer: list[dict[str, Any]] = []
        self._export = export
        self._sold_out: set[int] = set()

    # --- the run -----------------------------------------------------------------------

    async def run(self) -> Outcome:
        if self._export:
            self._export.mkdir(parents=True, exist_ok=True)
            for name in ("events.jsonl", "catalog.jsonl"):
                (self._export / name).write_text("")
        await self._setup()
        for day in range(self.world.scale.total_days):
            await self._day(day)
            if self.progress:
                self.progress(day, self.outcome)
        return self.outcome

    def experiment(self, day: int) -> bool:
        return self.client is not None and day >= self.world.scale.history_days

    async def _setup(self) -> None:
        world = self.world
        items = [
            self._item(int(n), world.start - timedelta(days=30))
            for n in np.flatnonzero(self.launched)
        ]
        await self._upsert(items)
        before = world.start - timedelta(days=1)
        events: list[dict[str, Any]] = []
        for p in np.flatnonzero(self.registered):
            events += self._registration(int(p), before, f"r{p}")
        await self._send(events)
        if self.client is not None:
            await self.client.put_placement(POPULAR_PLACEMENT, POPULAR_DEFINITION)
            await self.client.put_placement(OFFER_PLACEMENT, OFFER_DEFINITION)
            for offer in world.offers:
                await self.client.put_offer(offer.offer_id, offer.definition())

    async def _day(self, day: int) -> None:
        world = self.world
        rng = np.random.default_rng([world.seed, STREAM_SCHEDULE, day])
        await self._catalog_day(day, rng)
        if self.experiment(day) and self._train_today(day):
            assert self.client is not None
            await self.client.train_models()
            self.outcome.trained.append(day)
        online, store = self._schedule(day, rng)
        if self.experiment(day):
            if world.day_start(day).weekday() == EMAIL_WEEKDAY:
                online += await self._email(day)
            online.sort(key=lambda v: (v[1], v[0]))
            gate = asyncio.Semaphore(self.concurrency)

            async def one(n: int, person: int, at: datetime, channel: str, entry: Any) -> None:
                async with gate:
                    await self._visit(day, n, person, at, channel, entry)

            await asyncio.gather(
                *(one(n, p, at, ch, entry) for n, (p, at, ch, entry) in enumerate(online))
            )
        else:
            for n, (p, at, ch, entry) in enumerate(online):
                await self._visit(day, n, p, at, ch, entry)
        for n, (p, at) in enumerate(store):
            self._store_visit(day, n, p, at)
        await self._flush()
        sold_out = np.flatnonzero(self.launched & (self.stock <= 0))
        await self._mark_sold_out([{"item_id": self.world.catalog.item_ids[i]} for i in sold_out])

    def _train_today(self, day: int) -> bool:
        since = day - self.world.scale.history_days
        return since == 0 or (self.retrain_days > 0 and since % self.retrain_days == 0)

    def _schedule(
        self, day: int, rng: np.random.Generator
    ) -> tuple[list[tuple[int, datetime, str, Any]], list[tuple[int, datetime]]]:
        """Who comes today, when and through which channel."""
        people = self.world.customers
        start = self.world.day_start(day)
        active = (people.arrival_day <= day) & (day < people.churn_day)
        visits = rng.poisson(people.visit_rate * WEEKDAY_TRAFFIC[start.weekday()] * active)
        visits = np.minimum(visits, 3)
        online: list[tuple[int, datetime, str, Any]] = []
        store: list[tuple[int, datetime]] = []
        for p in np.flatnonzero(visits):
            for _ in range(int(visits[p])):
                channel = CHANNELS[int(rng.choice(3, p=people.channel_mix[p]))]
                if channel == "store" and not self.world.stores:
                    channel = "web"
                hours = STORE_HOURS if channel == "store" else ONLINE_HOURS
                hour = int(rng.choice(24, p=hours / hours.sum()))
                at = start + timedelta(hours=hour, seconds=int(rng.integers(0, 3600)))
                if channel == "store":
                    store.append((int(p), at))
                else:
                    online.append((int(p), at, channel, None))
        online.sort(key=lambda v: (v[1], v[0]))
        return online, store

    # --- catalog -----------------------------------------------------------------------

    def _item(self, n: int, created: datetime) -> dict[str, Any]:
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

    async def _catalog_day(self, day: int, rng: np.random.Generator) -> None:
        cat = self.world.catalog
        start = self.world.day_start(day)
        arriving = np.flatnonzero((cat.launch_day == day) & ~self.launched)
        self.launched[arriving] = True
        self.stock[arriving] = cat.restock_level[arriving]
        restock = np.flatnonzero(
            self.launched & (self.stock <= 0) & (rng.random(len(self.stock)) < RESTOCK_CHANCE)
        )
        self.stock[restock] = cat.restock_level[restock]
        self._sold_out.difference_update(int(i) for i in restock)
        patches = [self._item(int(n), start) for n in arriving]
        patches += [{"item_id": cat.item_ids[n], "stock": int(self.stock[n])} for n in restock]
        await self._upsert(patches)

    async def _upsert(self, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        if self._export:
            with (self._export / "catalog.jsonl").open("a") as out:
                for item in items:
                    if "name" in item:
                        out.write(json.dumps(item) + "\n")
        if self.client is not None:
            for start in range(0, len(items), 5_000):
                await self.client.upsert_items(items[start : start + 5_000])

    # --- identities --------------------------------------------------------------------

    def _registration(self, p: int, at: datetime, key: str) -> list[dict[str, Any]]:
        people = self.world.customers
        cid = people.customer_ids[p]
        who = {"customer_id": cid}
        events = [
            self._event(f"{key}-id", "identify", at, who, "web", None,
                        {"traits": {"email": f"shopper{p + 1}@example.com"}}),
            self._event(f"{key}-consent", "consent_updated", at, who, "web", None,
                        {"purposes": {"personalization": bool(people.consent_personalization[p]),
                                      "marketing_email": bool(people.consent_email[p])}}),
        ]  # fmt: skip
        tier = TIERS[int(people.tier[p])]
        if tier != "none":
            events.append(
                self._event(f"{key}-loyalty", "loyalty_enrolled", at, who, "store", None,
                            {"card_id": self.card(p), "tier": tier, "program": "Retailor Rewards"})
            )  # fmt: skip
        return events

    @staticmethod
    def card(p: int) -> str:
        return f"L{p + 1:07d}"

    # --- events ------------------------------------------------------------------------

    def _event(
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

    async def _send(self, events: list[dict[str, Any]]) -> None:
        """Send now (or keep in the day's batch, before Retailor)."""
        if not events:
            return
        self.outcome.events += len(events)
        if self._export:
            with (self._export / "events.jsonl").open("a") as out:
                out.writelines(json.dumps(e) + "\n" for e in events)
        if self.client is None:
            return
        for start in range(0, len(events), EVENT_BATCH):
            answer = await self.client.send_events(events[start : start + EVENT_BATCH])
            for rejected in answer.get("rejected", []):
                self.outcome.errors.append(f"event rejected: {rejected}")
            if answer.get("duplicates"):
                self.outcome.errors.append(
                    f"{answer['duplicates']} events were already on the server (it has run a "
                    "simulation before: use a fresh server for each run)"
                )

    async def _flush(self) -> None:
        events, self._buffer = self._buffer, []
        await self._send(events)

    # --- a visit -----------------------------------------------------------------------

    async def _visit(
        self, day: int, n: int, p: int, at: datetime, channel: str, entry: Any
    ) -> None:
        """One online visit (``entry``: items clicked in an email, with its decision)."""
        world = self.world
        live = self.experiment(day)
        rng = np.random.default_rng([world.seed, STREAM_VISIT, day, n, p])
        people = world.customers
        cat = world.catalog
        arm = RECOMMENDATION_ARMS[int(self.arm[p])] if live else "none"
        offer_arm = OFFER_ARMS[int(self.offer_arm[p])] if live else "none"
        record = Visit(day, p, arm, offer_arm, "email" if entry else channel)
        session = f"{day}-{n}-{p}"
        device = {"anonymous_id": f"{channel}-device-{p + 1}"}
        known = {"customer_id": people.customer_ids[p]}
        logged_in = bool(self.registered[p]) and rng.random() >= people.anonymous_share[p]
        who = {**known, **device} if logged_in else device
        events: list[dict[str, Any]] = []
        clock = [at]
        sequence = itertools.count()

        def emit(
            kind: str, props: dict[str, Any], decision: str | None = None, via: str | None = None
        ) -> None:
            clock[0] += timedelta(seconds=int(rng.integers(4, 80)))
            events.append(
                self._event(f"{session}-{next(sequence)}", kind, clock[0], who, via or channel,
                            session, props, decision)
            )  # fmt: skip

        async def send() -> None:
            batch = events[:]
            events.clear()
            if live:
                await self._send(batch)
            else:
                self._buffer += batch

        utility = world.utility(p)
        available = self.launched & (self.stock > 0)
        viewed: list[int] = []

        def view(items: list[int], decision: str | None, via: str | None = None) -> None:
            for i in items:
                if i not in viewed:
                    viewed.append(i)
                    emit(
                        "product_viewed",
                        {"item_id": cat.item_ids[i], "price": float(cat.price[i])},
                        decision,
                        via,
                    )

        if entry:  # the email's clicks, then the visit goes on on the web
            items, decision = entry
            view(items, decision, "email")
        emit("page_viewed", {"path": "/", "page_type": "home"})
        if live and arm != "none":
            home = await self._shelves().show(
                arm, "home", who, {"channel": channel}, available=available, rng=rng, exclude=[]
            )
            record.shown += len(home.items)
            clicked = shopper.scan(home.items, utility, rng, shopper.RECOMMENDATION_ATTENTION)
            record.clicks += len(clicked)
            view(clicked, home.decision_id)
        browsing = 0 if rng.random() < shopper.BOUNCE and not viewed else 1 + int(rng.poisson(0.5))
        for _ in range(browsing):
            c = shopper.pick_category(people.taste[p], rng)
            if rng.random() < 0.35:
                emit("products_searched", {"query": cat.categories[c][1].lower()})
            listing = [int(i) for i in cat.listing[c] if available[i]][: shopper.LISTING_LENGTH]
            view(shopper.scan(listing, utility, rng, shopper.LISTING_ATTENTION), None)
        if live and arm != "none":
            for item in list(viewed[:2]):
                page = await self._shelves().show(
                    arm, "product_detail", who, {"item_id": cat.item_ids[item], "channel": channel},
                    available=available, rng=rng, exclude=[item],
                )  # fmt: skip
                record.shown += len(page.items)
                clicked = [i for i in shopper.scan(page.items, utility, rng,
                                                   shopper.RECOMMENDATION_ATTENTION) if i not in viewed]  # fmt: skip
                record.clicks += len(clicked)
                view(clicked, page.decision_id)
        record.views = len(viewed)
        cart: dict[int, int] = {}
        for i in shopper.to_cart([i for i in viewed if available[i]], utility, rng):
            cart[i] = shopper.quantity(bool(self.consumable[i]), rng)
            emit(
                "product_added",
                {"item_id": cat.item_ids[i], "quantity": cart[i], "price": float(cat.price[i])},
            )
        if not cart:
            await send()
            self._record(record)
            return
        record.carted = True
        decision_id: str | None = None  # the decision whose items led to the order
        chosen: int | None = None
        offer_decision: str | None = None
        response = world.offer_response(p, channel)
        if live:
            await send()  # the cart page's decisions see the cart
            if arm != "none":
                page = await self._shelves().show(
                    arm, "cart", who, self._cart_context(cart, channel),
                    available=available, rng=rng, exclude=list(cart),
                )  # fmt: skip
                decision_id = page.decision_id or decision_id
                record.shown += len(page.items)
                clicked = [i for i in shopper.scan(page.items, utility, rng,
                                                   shopper.RECOMMENDATION_ATTENTION) if i not in viewed]  # fmt: skip
                record.clicks += len(clicked)
                view(clicked, page.decision_id)
                for i in shopper.to_cart([i for i in clicked if available[i]], utility, rng):
                    cart[i] = shopper.quantity(bool(self.consumable[i]), rng)
                    emit("product_added", {"item_id": cat.item_ids[i], "quantity": cart[i],
                                           "price": float(cat.price[i])}, page.decision_id)  # fmt: skip
        # checkout asks the visitor to log in (or register) first
        if not logged_in:
            if self.registered[p]:
                emit("identify", {"traits": {}})
                who.update(known)
                events[-1].update(known)
            else:
                self.registered[p] = True
                who.update(known)
                for event in self._registration(p, clock[0], f"{session}-reg"):
                    event["anonymous_id"] = device["anonymous_id"]
                    events.append(event)
        if live:
            await send()  # the offer's decision knows who is buying
            # the offer: one request of the same shape for every shopper of the bandit arm,
            # and the same eligibility (the final basket) for every offer arm
            basket = self._basket(cart)
            eligible = [o for o, spec in enumerate(world.offers) if basket >= spec.min_basket]
            if offer_arm == "bandit":
                try:
                    offer_decision, offer_id = await self._shelves().offer(
                        who, self._cart_context(cart, channel)
                    )
                except RetailorError as exc:
                    self.outcome.errors.append(f"offer decision failed: {exc}")
                    offer_id = None
                chosen = self._offer_index(offer_id) if offer_id else None
            elif offer_arm == "random" and eligible:
                chosen = int(rng.choice(eligible))
            elif offer_arm == "oracle" and eligible:
                chosen = max(eligible, key=lambda o: response[o])
            if chosen is not None and eligible:
                record.offer_id = world.offers[chosen].offer_id
                record.regret = float(max(response[o] for o in eligible) - response[chosen])
        emit("checkout_started", {"order_id": f"O-{session}"})
        redeemed = chosen is not None and rng.random() < response[chosen]
        if redeemed or rng.random() < shopper.CHECKOUT_BASE:
            await self._order(
                record, cart, chosen if redeemed else None, session, emit, decision_id
            )
        await send()
        if record.redeemed and offer_decision and record.offer_id:
            try:
                assert self.client is not None
                await self.client.feedback(offer_decision, "redeemed", offer_id=record.offer_id,
                                           value=round(record.revenue, 2))  # fmt: skip
            except RetailorError as exc:
                self.outcome.errors.append(f"feedback refused: {exc}")
        self._record(record)

    def _shelves(self) -> Shelves:
        assert self.shelves is not None, "pages are shown only in the experiment"
        return self.shelves

    def _cart_context(self, cart: dict[int, int], channel: str) -> dict[str, Any]:
        ids = self.world.catalog.item_ids
        return {"cart": [ids[i] for i in cart], "cart_value": round(self._basket(cart), 2),
                "channel": channel}  # fmt: skip

    def _basket(self, cart: dict[int, int]) -> float:
        price = self.world.catalog.price
        return float(sum(price[i] * q for i, q in cart.items()))

    def _offer_index(self, offer_id: str) -> int | None:
        return next((n for n, o in enumerate(self.world.offers) if o.offer_id == offer_id), None)

    async def _order(
        self,
        record: Visit,
        cart: dict[int, int],
        offer: int | None,
        session: str,
        emit: Callable[..., None],
        decision_id: str | None,
    ) -> None:
        cat = self.world.catalog
        lines: list[dict[str, Any]] = []
        for i, q in cart.items():
            q = min(q, int(self.stock[i]))
            if q <= 0:
                continue
            lines.append({"item_id": cat.item_ids[i], "quantity": q, "price": float(cat.price[i])})
            self.stock[i] -= q
            record.margin += float(cat.price[i] - cat.cost[i]) * q
        if not lines:
            return
        basket = float(sum(line["price"] * line["quantity"] for line in lines))
        props: dict[str, Any] = {"order_id": f"O-{session}", "lines": lines, "currency": "EUR"}
        revenue = basket
        if offer is not None:
            spec = self.world.offers[offer]
            cost = spec.cost(basket)
            record.redeemed, record.offer_cost = True, cost
            record.margin -= cost
            if spec.kind in ("percent_off", "amount_off"):
                revenue -= cost
                props["discount"] = round(cost, 2)
            props["coupon"] = spec.offer_id
        props["revenue"] = round(revenue, 2)
        record.ordered, record.revenue = True, revenue
        emit("order_completed", props, decision_id)
        await self._mark_sold_out(lines)

    async def _mark_sold_out(self, lines: list[dict[str, Any]]) -> None:
        """Tell the catalog at once when an item sells out (as an inventory feed would)."""
        gone = [self.item_index[line["item_id"]] for line in lines]
        gone = [i for i in gone if self.stock[i] <= 0 and i not in self._sold_out]
        if gone:
            self._sold_out.update(gone)
            await self._upsert(
                [{"item_id": self.world.catalog.item_ids[i], "stock": 0} for i in gone]
            )

    def _record(self, record: Visit) -> None:
        if self.experiment(record.day):
            self.outcome.visits.append(record)
        else:
            self.outcome.history_visits += 1
            self.outcome.history_orders += record.ordered

    # --- email and stores ----------------------------------------------------------------

    async def _email(self, day: int) -> list[tuple[int, datetime, str, Any]]:
        """The weekly email: recommended items per recipient (none for the none arm);
        returns the visits of those who click."""
        people = self.world.customers
        start = self.world.day_start(day)
        sent_at = start + timedelta(hours=9)
        recipients = np.flatnonzero(
            self.registered & people.consent_email & (people.churn_day > day)
        )
        visits: list[tuple[int, datetime, str, Any]] = []
        available = self.launched & (self.stock > 0)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(p: int) -> None:
            arm = RECOMMENDATION_ARMS[int(self.arm[p])]
            if arm == "none":
                return
            rng = np.random.default_rng([self.world.seed, STREAM_EMAIL, day, p])
            async with gate:
                shown = await self._shelves().show(
                    arm, "email", {"customer_id": people.customer_ids[p]}, {"channel": "email"},
                    available=available, rng=rng, exclude=[],
                )  # fmt: skip
            if not shown.items or rng.random() >= EMAIL_OPEN_RATE:
                return
            opened = sent_at + timedelta(minutes=int(rng.integers(1, 480)))
            self._buffer.append(
                self._event(f"mail-{day}-{p}", "custom", opened,
                            {"customer_id": people.customer_ids[p]}, "email", None,
                            {"name": "email_opened", "campaign": f"weekly-{day}",
                             "items": len(shown.items)}, shown.decision_id)
            )  # fmt: skip
            clicked = shopper.scan(shown.items, self.world.utility(p), rng, 0.9)
            if clicked:
                at = opened + timedelta(minutes=int(rng.integers(0, 60)))
                visits.append((p, at, "web", (clicked, shown.decision_id)))

        await asyncio.gather(*(one(int(p)) for p in recipients))
        return visits

    def _store_visit(self, day: int, n: int, p: int, at: datetime) -> None:
        """A point-of-sale basket, identified by the loyalty card when there is one."""
        world = self.world
        rng = np.random.default_rng([world.seed, STREAM_STORE, day, n, p])
        cat = world.catalog
        utility = world.utility(p)
        available = self.launched & (self.stock > 0)
        lines: list[dict[str, Any]] = []
        for _ in range(1 + int(rng.poisson(1.2))):
            c = shopper.pick_category(world.customers.taste[p], rng)
            shelf = np.flatnonzero((cat.category == c) & available)
            if not len(shelf):
                continue
            weights = np.exp(utility[shelf] - utility[shelf].max())
            i = int(rng.choice(shelf, p=weights / weights.sum()))
            if any(line["item_id"] == cat.item_ids[i] for line in lines):
                continue
            q = min(shopper.quantity(bool(self.consumable[i]), rng), int(self.stock[i]))
            self.stock[i] -= q
            lines.append({"item_id": cat.item_ids[i], "quantity": q, "price": float(cat.price[i])})
        if not lines:
            return
        store = world.stores[p % len(world.stores)]
        receipt = f"{store}-{day}-{n}"
        props: dict[str, Any] = {"order_id": f"R-{receipt}", "lines": lines, "currency": "EUR"}
        if world.customers.tier[p] > 0:
            props["loyalty_card"] = self.card(p)
        self._buffer.append(
            self._event(f"pos-{receipt}", "order_completed", at, {"anonymous_id": f"receipt-{receipt}"},
                        "store", None, props, store_id=store)
        )  # fmt: skip
        self.outcome.store_orders += 1
        self.outcome.store_revenue += sum(line["price"] * line["quantity"] for line in lines)
