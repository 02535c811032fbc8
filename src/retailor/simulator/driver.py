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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from retailor.client import AsyncClient, RetailorError
from retailor.simulator import shopper
from retailor.simulator.arms import (
    OFFER_DEFINITION,
    OFFER_EXPERIMENT,
    OFFER_EXPERIMENT_DEFINITION,
    OFFER_PLACEMENT,
    RECOMMENDATION_DEFINITION,
    RECOMMENDATION_EXPERIMENT,
    Shelves,
)
from retailor.simulator.outcome import Outcome, Visit
from retailor.simulator.shop import Shop
from retailor.simulator.world import (
    CHANNELS,
    ONLINE_HOURS,
    STORE_HOURS,
    WEEKDAY_TRAFFIC,
    World,
)

EVENT_BATCH = 5_000
#: Each kind of random draw has a stream of its own (the tag keeps them apart).
STREAM_SCHEDULE, STREAM_VISIT, STREAM_STORE, STREAM_EMAIL = 2, 3, 4, 5
EMAIL_WEEKDAY = 1  # Tuesday
EMAIL_OPEN_RATE = 0.3


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
        self.shop = Shop(world)
        self.outcome = Outcome()
        self.shelves = (
            Shelves(client, self.shop.item_index, self.outcome.errors) if client else None
        )
        self._buffer: list[dict[str, Any]] = []
        self._export = export

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
        if self.client is not None:
            for experiment in (RECOMMENDATION_EXPERIMENT, OFFER_EXPERIMENT):
                try:
                    self.outcome.results[experiment] = await self.client.experiment_results(
                        experiment
                    )
                except RetailorError as exc:
                    self.outcome.errors.append(f"results of {experiment}: {exc}")
        return self.outcome

    def experiment(self, day: int) -> bool:
        return self.client is not None and day >= self.world.scale.history_days

    async def _setup(self) -> None:
        world = self.world
        shop = self.shop
        opened = world.start - timedelta(days=30)
        await self._upsert([shop.item(int(n), opened) for n in np.flatnonzero(shop.launched)])
        before = world.start - timedelta(days=1)
        events: list[dict[str, Any]] = []
        for p in np.flatnonzero(shop.registered):
            events += shop.registration(int(p), before, f"r{p}")
        await self._send(events)
        if self.client is not None:
            await self.client.put_placement(OFFER_PLACEMENT, OFFER_DEFINITION)
            for offer in world.offers:
                await self.client.put_offer(offer.offer_id, offer.definition())
            await self.client.put_experiment(RECOMMENDATION_EXPERIMENT, RECOMMENDATION_DEFINITION)
            await self.client.put_experiment(OFFER_EXPERIMENT, OFFER_EXPERIMENT_DEFINITION)

    async def _day(self, day: int) -> None:
        world = self.world
        rng = np.random.default_rng([world.seed, STREAM_SCHEDULE, day])
        await self._upsert(self.shop.open_day(day, rng))
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
            rung = self.shop.store_basket(
                day, n, p, at, np.random.default_rng([world.seed, STREAM_STORE, day, n, p])
            )
            if rung is not None:
                self._buffer.append(rung[0])
                self.outcome.store_orders += 1
                self.outcome.store_revenue += rung[1]
                if self.experiment(day):
                    self.outcome.orders.append((p, at, round(float(rung[1]), 2)))
        await self._flush()
        await self._upsert(self.shop.newly_sold_out())

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

    # --- sending ------------------------------------------------------------------------

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
        # Retailor assigns the variants: the home page's answer names this visit's
        # recommendation variant, the checkout's its offer variant
        record = Visit(day, p, "none", "none", "email" if entry else channel)
        session = f"{day}-{n}-{p}"
        device = {"anonymous_id": f"{channel}-device-{p + 1}"}
        known = {"customer_id": people.customer_ids[p]}
        logged_in = bool(self.shop.registered[p]) and rng.random() >= people.anonymous_share[p]
        who = {**known, **device} if logged_in else device
        events: list[dict[str, Any]] = []
        clock = [at]
        sequence = itertools.count()

        def emit(
            kind: str,
            props: dict[str, Any],
            decision: str | None = None,
            via: str | None = None,
            identity: dict[str, str] | None = None,
        ) -> None:
            clock[0] += timedelta(seconds=int(rng.integers(4, 80)))
            events.append(
                self.shop.event(f"{session}-{next(sequence)}", kind, clock[0], identity or who,
                                via or channel, session, props, decision)
            )  # fmt: skip

        async def send() -> None:
            batch = events[:]
            events.clear()
            if live:
                await self._send(batch)
            else:
                self._buffer += batch

        utility = world.utility(p)
        available = self.shop.available()
        viewed: list[int] = []

        def view(
            items: list[int],
            decision: str | None,
            via: str | None = None,
            identity: dict[str, str] | None = None,
        ) -> None:
            for i in items:
                if i not in viewed:
                    viewed.append(i)
                    emit(
                        "product_viewed",
                        {"item_id": cat.item_ids[i], "price": float(cat.price[i])},
                        decision,
                        via,
                        identity,
                    )

        if entry:  # the email's clicks (its links name the recipient), then the web visit
            items, decision = entry
            view(items, decision, "email", {**known, **device})
        emit("page_viewed", {"path": "/", "page_type": "home"})
        arm = "none"
        if live:
            home = await self._shelves().show(
                "home", who, {"channel": channel}, clock[0],
                available=available, rng=rng, exclude=[],
            )  # fmt: skip
            arm = record.arm = self._exposed(p, home.variant, clock[0])
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
                    "product_detail", who, {"item_id": cat.item_ids[item], "channel": channel},
                    clock[0], available=available, rng=rng, exclude=[item],
                )  # fmt: skip
                record.shown += len(page.items)
                clicked = [i for i in shopper.scan(page.items, utility, rng,
                                                   shopper.RECOMMENDATION_ATTENTION) if i not in viewed]  # fmt: skip
                record.clicks += len(clicked)
                view(clicked, page.decision_id)
        record.views = len(viewed)
        cart: dict[int, int] = {}
        for i in shopper.to_cart([i for i in viewed if available[i]], utility, rng):
            cart[i] = shopper.quantity(bool(self.shop.consumable[i]), rng)
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
                    "cart", who, self._cart_context(cart, channel),
                    clock[0], available=available, rng=rng, exclude=list(cart),
                )  # fmt: skip
                decision_id = page.decision_id or decision_id
                record.shown += len(page.items)
                clicked = [i for i in shopper.scan(page.items, utility, rng,
                                                   shopper.RECOMMENDATION_ATTENTION) if i not in viewed]  # fmt: skip
                record.clicks += len(clicked)
                view(clicked, page.decision_id)
                for i in shopper.to_cart([i for i in clicked if available[i]], utility, rng):
                    cart[i] = shopper.quantity(bool(self.shop.consumable[i]), rng)
                    emit("product_added", {"item_id": cat.item_ids[i], "quantity": cart[i],
                                           "price": float(cat.price[i])}, page.decision_id)  # fmt: skip
        # checkout asks the visitor to log in (or register) first
        if not logged_in:
            if self.shop.registered[p]:
                emit("identify", {"traits": {}})
                who.update(known)
                events[-1].update(known)
            else:
                self.shop.registered[p] = True
                who.update(known)
                for event in self.shop.registration(p, clock[0], f"{session}-reg"):
                    event["anonymous_id"] = device["anonymous_id"]
                    events.append(event)
        if live:
            await send()  # the offer's decision knows who is buying
            # the offer: one request of the same shape for every shopper, and the same
            # eligibility (the final basket) for every offer variant; Retailor's answer
            # names the variant (the bandit's or the uniform policy's offer, or none for
            # the oracle, which the shop picks itself)
            basket = self.shop.basket(cart)
            eligible = [o for o, spec in enumerate(world.offers) if basket >= spec.min_basket]
            try:
                answer = await self._shelves().offer(
                    who, self._cart_context(cart, channel), clock[0]
                )
            except RetailorError as exc:
                self.outcome.errors.append(f"offer decision failed: {exc}")
                answer = None
            if answer is not None:
                record.offer_arm = self._exposed(p, answer.variant, clock[0], OFFER_EXPERIMENT)
                offer_decision = answer.decision_id
                if record.offer_arm == "oracle":  # the shop's own pick: no feedback to send
                    offer_decision = None
                    chosen = max(eligible, key=lambda o: response[o]) if eligible else None
                else:
                    chosen = self._offer_index(answer.offer_id) if answer.offer_id else None
            if chosen is not None and eligible:
                record.offer_id = world.offers[chosen].offer_id
                record.regret = float(max(response[o] for o in eligible) - response[chosen])
        emit("checkout_started", {"order_id": f"O-{session}"})
        redeemed = chosen is not None and rng.random() < response[chosen]
        if redeemed or rng.random() < shopper.CHECKOUT_BASE:
            await self._order(
                record, cart, chosen if redeemed else None, session, emit, decision_id
            )
            if live and record.ordered:  # the lines' value, as Retailor counts revenue
                self.outcome.orders.append((p, clock[0], round(record.basket, 2)))
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
        return {"cart": [ids[i] for i in cart], "cart_value": round(self.shop.basket(cart), 2),
                "channel": channel}  # fmt: skip

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
        """Ring up ``cart`` (what is still in stock), with the offer when redeemed."""
        cat = self.world.catalog
        lines = self.shop.take(cart)
        if not lines:
            return
        index = self.shop.item_index
        for line in lines:
            i = index[line["item_id"]]
            record.margin += float(cat.price[i] - cat.cost[i]) * line["quantity"]
        basket = float(sum(line["price"] * line["quantity"] for line in lines))
        record.basket = basket
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
        await self._upsert(self.shop.newly_sold_out())

    def _exposed(
        self,
        person: int,
        variant: str | None,
        at: datetime,
        experiment: str = RECOMMENDATION_EXPERIMENT,
    ) -> str:
        """Note a shopper's first exposure to ``experiment`` (the variant Retailor answered
        with, and when); returns the variant ("none" without one)."""
        if variant is not None:
            self.outcome.exposures.setdefault(experiment, {}).setdefault(person, (variant, at))
        return variant or "none"

    def _record(self, record: Visit) -> None:
        if self.experiment(record.day):
            self.outcome.visits.append(record)
        else:
            self.outcome.history_visits += 1
            self.outcome.history_orders += record.ordered

    # --- email and stores ----------------------------------------------------------------

    async def _email(self, day: int) -> list[tuple[int, datetime, str, Any]]:
        """The weekly email: recommended items per recipient (none for the none variant);
        returns the visits of those who click."""
        people = self.world.customers
        start = self.world.day_start(day)
        sent_at = start + timedelta(hours=9)
        recipients = np.flatnonzero(
            self.shop.registered & people.consent_email & (people.churn_day > day)
        )
        visits: list[tuple[int, datetime, str, Any]] = []
        available = self.shop.available()
        gate = asyncio.Semaphore(self.concurrency)

        async def one(p: int) -> None:
            rng = np.random.default_rng([self.world.seed, STREAM_EMAIL, day, p])
            async with gate:
                shown = await self._shelves().show(
                    "email", {"customer_id": people.customer_ids[p]}, {"channel": "email"},
                    sent_at, available=available, rng=rng, exclude=[],
                )  # fmt: skip
            self._exposed(p, shown.variant, sent_at)
            if not shown.items or rng.random() >= EMAIL_OPEN_RATE:
                return
            opened = sent_at + timedelta(minutes=int(rng.integers(1, 480)))
            self._buffer.append(
                self.shop.event(f"mail-{day}-{p}", "custom", opened,
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
