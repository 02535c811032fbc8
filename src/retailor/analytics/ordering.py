"""Attributing orders held as facts: each order's lines go through
``attribution.attribute_order`` with the decision facts of the same person from the
attribution window before it (one read of the fact store for a whole batch of orders),
and come back as line and order facts with revenue, margin and the decision they went to.

Margin is revenue less quantity times the catalog cost (0 when unknown) and, on the first
line a redeemed offer's decision took, less the cost of the offers of that decision
redeemed for the order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from retailor.analytics.attribution import (
    Exposure,
    OrderLine,
    Redemption,
    Refund,
    Windows,
    attribute_order,
)
from retailor.analytics.folding import FactSources
from retailor.domain.decisions import DecisionRecord, LoggedOffer
from retailor.storage.facts import DecisionFact, ExposureFact, FactStore, LineFact, OrderFact


@dataclass
class OrderToAttribute:
    """An order's facts before attribution: who placed it and its lines (revenue, margin
    and decision are filled in by :func:`attribute_orders`)."""

    order_id: str
    at: datetime
    customer_id: str | None
    anonymous_id: str | None
    lines: list[LineFact]


def longest_window(windows: Windows) -> timedelta:
    """The longest time after a decision that any placement's window allows."""
    spans = [windows.clicked_seconds, windows.shown_seconds]
    spans += [s for pair in windows.placements.values() for s in pair]
    return timedelta(seconds=max(spans))


def _record(fact: DecisionFact) -> DecisionRecord:
    """Enough of a decision record for ``attribute_order``."""
    return DecisionRecord(
        decision_id=fact.decision_id, at=fact.at, placement=fact.placement,
        customer=fact.customer, anonymous_id=fact.anonymous_id, context={},
        items=list(fact.items), sources=[],
        offers=[LoggedOffer(offer_id=o, probability=0.0, eligible=[], features={})
                for o in fact.offer_ids],
        model_versions={}, personalized=False, fallback=None, latency_ms=0.0,
    )  # fmt: skip


def attribute_orders(
    orders: Sequence[OrderToAttribute],
    facts: FactStore,
    sources: FactSources,
    *,
    settled_until: datetime,
) -> tuple[list[OrderFact], list[LineFact]]:
    """Attribute ``orders`` (any number; one read of candidates for all) and return their
    order and line facts; an order placed after ``settled_until`` is not settled."""
    if not orders:
        return [], []
    windows = sources.windows()
    span = longest_window(windows)
    people: dict[str, tuple[str | None, set[str]]] = {}
    for order in orders:
        person = sources.person(order.customer_id, order.anonymous_id)
        ids = {i for i in (order.customer_id, order.anonymous_id) if i}
        if person is not None:
            ids |= set(sources.identifiers(person)) | {person}
        people[order.order_id] = (person, ids)
    every_id = sorted(set().union(*(ids for _, ids in people.values())))
    start = min(o.at for o in orders) - span
    end = max(o.at for o in orders)
    candidates = facts.decisions_of(every_id, start, end) if every_id else []
    exposures: dict[str, list[ExposureFact]] = defaultdict(list)
    for exposure in facts.exposures_of([d.decision_id for d in candidates]):
        exposures[exposure.decision_id].append(exposure)
    order_facts: list[OrderFact] = []
    line_facts: list[LineFact] = []
    for order in orders:
        person, ids = people[order.order_id]
        mine = [d for d in candidates if {d.customer, d.anonymous_id} & ids and d.at < order.at]
        order_fact, lines = _attribute_one(order, person, ids, mine, exposures, windows)
        order_fact.settled = order.at <= settled_until
        order_facts.append(order_fact)
        line_facts.extend(lines)
    return order_facts, line_facts


def _attribute_one(
    order: OrderToAttribute,
    person: str | None,
    ids: set[str],
    candidates: list[DecisionFact],
    exposures: dict[str, list[ExposureFact]],
    windows: Windows,
) -> tuple[OrderFact, list[LineFact]]:
    label = person or "(stranger)"
    buyer = tuple(i for i in (order.customer_id, order.anonymous_id) if i) or (label,)

    def canonical(identifier: str) -> str:
        return label if identifier in ids else identifier

    seen: list[Exposure] = []
    redeemed: list[Redemption] = []
    for decision in candidates:
        for e in exposures.get(decision.decision_id, ()):
            if e.item_id is not None and e.viewed_at is not None:
                seen.append(Exposure(decision.decision_id, e.item_id, e.viewed_at, "viewed"))
            if e.item_id is not None and e.clicked_at is not None:
                seen.append(Exposure(decision.decision_id, e.item_id, e.clicked_at, "clicked"))
            if e.offer_id is not None and e.redeemed_order == order.order_id:
                redeemed.append(Redemption(decision.decision_id, e.offer_id, order.order_id))
    refunded = frozenset(line.line for line in order.lines if line.refunded)
    outcome = attribute_order(
        [
            OrderLine(order.order_id, line.line, line.item_id, line.quantity, line.price,
                      order.at, buyer)
            for line in order.lines
        ],
        [_record(d) for d in candidates],
        canonical=canonical,
        exposures=seen,
        redemptions=redeemed,
        refunds=[Refund(order.order_id, refunded)] if refunded else [],
        windows=windows,
    )  # fmt: skip
    won = {a.line: a for a in outcome.lines}
    offer_costs = _redeemed_costs(redeemed, exposures)
    charged: set[str] = set()
    lines: list[LineFact] = []
    for line in order.lines:
        revenue = 0.0 if line.refunded else line.quantity * line.price
        margin = 0.0 if line.refunded else revenue - line.quantity * (line.unit_cost or 0.0)
        a = won.get(line.line)
        redeemed_here = a is not None and a.reason == "redeemed" and not line.refunded
        if a is not None and redeemed_here and a.decision_id not in charged:
            charged.add(a.decision_id)
            margin -= offer_costs.get(a.decision_id, 0.0)
        lines.append(
            LineFact(order_id=order.order_id, line=line.line, item_id=line.item_id, at=order.at,
                     quantity=line.quantity, price=line.price, unit_cost=line.unit_cost,
                     revenue=revenue, margin=margin,
                     decision_id=a.decision_id if a else None,
                     placement=a.placement if a else None, reason=a.reason if a else None,
                     refunded=line.refunded)
        )  # fmt: skip
    fact = OrderFact(
        order_id=order.order_id, at=order.at, customer_id=order.customer_id,
        anonymous_id=order.anonymous_id, person=person, revenue=outcome.revenue,
        engaged=outcome.engaged,
        attributed_revenue=sum(line.revenue for line in lines if line.decision_id),
    )  # fmt: skip
    return fact, lines


def _redeemed_costs(
    redeemed: list[Redemption], exposures: dict[str, list[ExposureFact]]
) -> dict[str, float]:
    """The cost of the offers each decision had redeemed for the order."""
    costs: dict[str, float] = defaultdict(float)
    for r in redeemed:
        for e in exposures.get(r.decision_id, ()):
            if e.offer_id == r.offer_id:
                costs[r.decision_id] += e.cost
                break
    return costs
