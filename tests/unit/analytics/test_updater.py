"""The fact updater on hand-built logs: a decision, a view, a click, an order after the
visitor logs in, a refund, two decisions showing one item (the later wins), an order
outside the window, an add-to-cart and a redemption; and incremental runs equal a
recompute over the same logs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from retailor.analytics.attribution import Windows
from retailor.analytics.folding import FactSources
from retailor.analytics.updater import FactUpdater
from retailor.domain.decisions import DecisionRecord, FeedbackRecord, LoggedOffer
from retailor.domain.events import Event, EventType
from retailor.storage.base import DecisionLog, EventLog
from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.duckdb.facts import DuckDBFactStore
from retailor.storage.facts import FACT_TABLES, FactStore
from retailor.storage.memory.decisions import MemoryDecisionLog
from retailor.storage.memory.events import MemoryEventLog
from retailor.storage.schema import events_to_table

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COSTS = {"i1": 4.0, "i3": 5.0, "i7": 20.0}


class World:
    """Logs, an identity map that a login changes, a clock, and the sources of facts."""

    def __init__(self) -> None:
        self.decisions: DecisionLog = MemoryDecisionLog(clock=lambda: self.now)
        self.events: EventLog = MemoryEventLog()
        self.links: dict[str, str] = {}
        self.now = T0
        self.counter = 0
        self.sources = FactSources(
            person=lambda c, a: c or (self.links.get(a, a) if a else None),
            identifiers=lambda p: [p, *(a for a, q in self.links.items() if q == p)],
            segments_of=lambda p: ["vip"] if p == "c1" else [],
            campaigns_of=lambda placement, offers: ["spring"] if offers else [],
            offer_cost=lambda o: 2.5,
            unit_cost=COSTS.get,
            windows=lambda: Windows(placements={"email": (7200.0, 600.0)}),
        )

    def updater(self, facts: FactStore) -> FactUpdater:
        return FactUpdater(
            self.decisions, self.events, facts, self.sources, settle_seconds=10,
            clock=lambda: self.now,
        )  # fmt: skip

    def decide(self, decision_id: str, minutes: float, items: list[str], **fields: Any) -> None:
        base: dict[str, Any] = {
            "decision_id": decision_id, "at": T0 + timedelta(minutes=minutes),
            "placement": "home", "customer": "c1", "anonymous_id": None,
            "context": {"channel": "web"}, "items": items, "sources": [], "offers": [],
            "model_versions": {"als": 3}, "personalized": True, "fallback": None,
            "latency_ms": 1.0,
        }  # fmt: skip
        base.update(fields)
        self.decisions.append([DecisionRecord(**base)])

    def feedback(self, decision_id: str, kind: str, minutes: float, **fields: Any) -> None:
        self.decisions.add_feedback(
            [FeedbackRecord(decision_id=decision_id, at=T0 + timedelta(minutes=minutes),
                            type=kind, item_id=fields.get("item_id"),
                            offer_id=fields.get("offer_id"), value=None, source="api")]
        )  # fmt: skip

    def event(self, kind: EventType, minutes: float, **fields: Any) -> None:
        self.counter += 1
        at = T0 + timedelta(minutes=minutes)
        self.events.append(
            events_to_table(
                [Event(event_id=f"e{self.counter}", type=kind, timestamp=at, received_at=at,
                       **fields)]
            )
        )  # fmt: skip

    def order(
        self, order_id: str, minutes: float, lines: list[tuple[str, float]], **who: Any
    ) -> None:
        self.event(
            EventType.ORDER_COMPLETED, minutes, **who,
            properties={"order_id": order_id,
                        "lines": [{"item_id": i, "quantity": 1, "price": p} for i, p in lines]},
        )  # fmt: skip


def build(world: World, facts: FactStore, *, incremental: bool) -> Iterator[None]:
    """The story, step by step; with ``incremental`` the updater runs after each step."""
    run = world.updater(facts).run_once if incremental else (lambda: None)

    def at(minutes: float) -> None:
        world.now = T0 + timedelta(minutes=minutes, seconds=11)
        run()

    # a visitor is shown i1 and i2, views them, clicks i1
    world.decide("d1", 0, ["i1", "i2"], customer=None, anonymous_id="v1")
    world.feedback("d1", "viewed", 1)
    world.feedback("d1", "clicked", 2, item_id="i1")
    world.event(EventType.PRODUCT_ADDED, 2.5, anonymous_id="v1", decision_id="d1",
                properties={"item_id": "i2"})  # fmt: skip
    at(3)
    yield
    # the visitor logs in as c1, then orders i1 (clicked from d1) and i9 (never shown)
    world.links["v1"] = "c1"
    world.event(EventType.IDENTIFY, 120, customer_id="c1", anonymous_id="v1")
    world.order("x1", 180, [("i1", 10.0), ("i9", 30.0)], customer_id="c1")
    at(180)
    yield
    # two decisions show i3; the later one takes the order
    world.decide("d2", 300, ["i3"])
    world.decide("d3", 310, ["i3"], placement="cart")
    world.order("x2", 330, [("i3", 20.0)], customer_id="c1")
    at(330)
    yield
    # the order is refunded; a later order of i3 is outside the 1 h window
    world.event(EventType.ORDER_REFUNDED, 360, customer_id="c1",
                properties={"order_id": "x2", "lines": []})  # fmt: skip
    world.order("x3", 480, [("i3", 20.0)], customer_id="c1")
    at(480)
    yield
    # an offer redeemed for an order of an item the decision never showed
    world.decide(
        "d4",
        1200,
        ["i5"],
        offers=[LoggedOffer(offer_id="o1", probability=1.0, eligible=["o1"], features={})],
    )
    world.order("x4", 1260, [("i7", 50.0)], customer_id="c1")
    world.event(EventType.OFFER_REDEEMED, 1261, customer_id="c1", decision_id="d4",
                properties={"offer_id": "o1", "order_id": "x4"})  # fmt: skip
    world.feedback("d4", "redeemed", 1261, offer_id="o1")
    at(1262)
    yield
    at(3000)  # everything settled
    yield


def new_store() -> FactStore:
    return DuckDBFactStore(DuckDBDatabase(None))


def everything(facts: FactStore, *, drop: tuple[str, ...] = ()) -> dict[str, list[dict[str, Any]]]:
    span = (T0 - timedelta(days=1), T0 + timedelta(days=5))
    tables = {}
    for table in FACT_TABLES:
        rows = pa.Table.from_batches(list(facts.read(table, *span))).to_pylist()
        rows = [{k: v for k, v in r.items() if k not in drop} for r in rows]
        tables[table] = sorted(rows, key=lambda r: repr(sorted(r.items())))
    return tables


@pytest.fixture
def world() -> World:
    return World()


def test_the_story_folds_step_by_step(world: World) -> None:
    facts = new_store()
    steps = build(world, facts, incremental=True)
    next(steps)
    d1 = facts.decision("d1")
    assert d1 is not None
    assert (d1.impressions, d1.clicks, d1.add_to_carts) == (2, 1, 1)
    assert d1.person == "v1" and d1.model_versions == ["als:3"] and d1.channel == "web"
    next(steps)
    x1 = facts.order("x1")
    assert x1 is not None and x1.engaged and x1.revenue == 40.0 and x1.attributed_revenue == 10.0
    lines = {line.item_id: line for line in facts.lines_of(["x1"])}
    assert (lines["i1"].decision_id, lines["i1"].reason, lines["i1"].margin) == (
        "d1",
        "clicked",
        6.0,
    )
    assert lines["i9"].decision_id is None
    next(steps)
    x2_line = facts.lines_of(["x2"])[0]
    assert (x2_line.decision_id, x2_line.placement, x2_line.reason) == ("d3", "cart", "shown")
    next(steps)
    x2, x2_line = facts.order("x2"), facts.lines_of(["x2"])[0]
    assert x2 is not None and not x2.engaged and x2.revenue == 0.0
    assert x2_line.refunded and x2_line.revenue == 0.0 and x2_line.decision_id == "d3"
    x3_line = facts.lines_of(["x3"])[0]
    assert x3_line.decision_id is None
    next(steps)
    next(steps)
    x4_line = facts.lines_of(["x4"])[0]
    assert (x4_line.decision_id, x4_line.reason) == ("d4", "redeemed")
    assert x4_line.margin == 50.0 - 20.0 - 2.5
    d4 = facts.decision("d4")
    assert d4 is not None and d4.redemptions == 1 and d4.budget_spent == 2.5
    assert d4.campaigns == ["spring"] and d4.segments == ["vip"]
    assert all(o.settled for o in facts.orders_between(T0, T0 + timedelta(days=3)))


def test_incremental_runs_equal_a_recompute(world: World) -> None:
    incremental = new_store()
    for _ in build(world, incremental, incremental=True):
        pass
    rebuilt = new_store()
    updater = world.updater(rebuilt)
    seen: list[float] = []
    updater.recompute(T0 - timedelta(days=1), T0 + timedelta(days=5), lambda f, _: seen.append(f))
    # the person of a decision is the one known when it was folded: the visitor before
    # the login, the customer after it
    drop = ("person", "segments")
    assert everything(incremental, drop=drop) == everything(rebuilt, drop=drop)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    # a recompute of a part of the range over the incremental facts changes nothing
    before = everything(incremental)
    world.updater(incremental).recompute(T0 + timedelta(hours=4), T0 + timedelta(hours=9))
    assert everything(incremental, drop=drop) == everything(rebuilt, drop=drop)
    assert len(before["orders"]) == len(everything(incremental)["orders"]) == 4


def test_a_run_with_nothing_new_changes_nothing(world: World) -> None:
    facts = new_store()
    for _ in build(world, facts, incremental=True):
        pass
    before = everything(facts)
    summary = world.updater(facts).run_once()
    assert (summary.decisions, summary.events) == (0, 0)
    assert everything(facts) == before


def test_a_decision_replayed_in_the_past_is_folded_and_claims_its_order(world: World) -> None:
    """A decision made with a ``timestamp`` hours before the facts' cursor (a replay), and
    its order, which a run folds before the decision reaches it: the decision is folded
    all the same (the log is read in the order it was written), the order is attributed
    to it again, and the facts equal a recompute."""
    facts = new_store()
    for _ in build(world, facts, incremental=True):
        pass
    updater = world.updater(facts)
    replayed_at = world.now  # the cursor is past everything the story logged
    world.decide("r1", 600, ["i8"], customer="c7")  # logged now, made ~40 h earlier
    world.feedback("r1", "clicked", 601, item_id="i8")
    world.order("y1", 620, [("i8", 15.0)], customer_id="c7")
    # a run while the decision is still within the settle time: the order comes first
    world.now = replayed_at + timedelta(seconds=5)
    updater.run_once()
    assert facts.decision("r1") is None
    y1 = facts.order("y1")
    assert y1 is not None and y1.settled and y1.attributed_revenue == 0.0
    # the next run folds the decision and gives it the order it earned
    world.now = replayed_at + timedelta(seconds=30)
    summary = updater.run_once()
    assert summary.decisions == 1
    r1 = facts.decision("r1")
    assert r1 is not None and r1.clicks == 1
    (line,) = facts.lines_of(["y1"])
    assert (line.decision_id, line.reason) == ("r1", "clicked")
    y1 = facts.order("y1")
    assert y1 is not None and y1.engaged and y1.attributed_revenue == 15.0
    # another run changes nothing; a recompute of everything gives the same facts
    before = everything(facts)
    updater.run_once()
    assert everything(facts) == before
    rebuilt = new_store()
    world.updater(rebuilt).recompute(T0 - timedelta(days=1), T0 + timedelta(days=5))
    drop = ("person", "segments")
    assert everything(facts, drop=drop) == everything(rebuilt, drop=drop)


def test_an_order_replayed_before_its_decision_is_folded_waits_for_it(world: World) -> None:
    """A replay sends a decision and an order placed minutes after it, both in the past;
    a run folds the order while the decision is still on its way: the order is attributed
    once the decision is folded, whatever the order of the runs."""
    facts = new_store()
    updater = world.updater(facts)
    world.now = T0 + timedelta(days=3)
    updater.run_once()  # a first fold of nothing moves the cursor to now
    world.decide("p1", 60, ["i1"], customer="c2")
    world.order("z1", 70, [("i1", 10.0)], customer_id="c2")
    world.now += timedelta(seconds=2)
    updater.run_once()
    assert facts.lines_of(["z1"])[0].decision_id is None
    world.now += timedelta(seconds=20)
    updater.run_once()
    line = facts.lines_of(["z1"])[0]
    assert (line.decision_id, line.reason, line.margin) == ("p1", "shown", 6.0)
