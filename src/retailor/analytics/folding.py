"""What the fact updater takes from each log record, as pure functions: a decision record
as a decision fact, feedback as exposure marks, and events as orders, refunds and marks
(``product_added`` and ``offer_redeemed`` naming a decision, ``order_completed`` naming a
decision's offer). ``FactSources`` is what the running system tells about the present
(the person of an identifier, segments, campaigns, costs, windows)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from retailor.analytics.attribution import Windows
from retailor.domain.decisions import DecisionRecord, FeedbackRecord
from retailor.domain.events import Event, EventType
from retailor.storage.facts import DecisionFact, ExposureMark, MarkKind

_FEEDBACK_MARKS: dict[str, MarkKind] = {
    "viewed": "viewed",
    "clicked": "clicked",
    "redeemed": "redeemed",
}


def _no_segments(person: str) -> list[str]:
    return []


def _no_campaigns(placement: str, offers: Sequence[str]) -> list[str]:
    return []


def _no_cost(key: str) -> float | None:
    return None


@dataclass(frozen=True)
class FactSources:
    """What facts take from the present state of the system (all optional: the defaults
    know nothing). ``person(customer, anonymous_id)`` is the canonical id of whoever the
    identifiers name (None: a stranger); ``identifiers(person)`` every customer and
    anonymous id of that person's cluster; ``segments_of(person)``; ``campaigns_of(
    placement, offer_ids)`` the labels of a placement and offers; ``offer_cost(offer_id)``
    what one redemption costs; ``unit_cost(item_id)`` the catalog cost; ``windows()`` the
    attribution windows (per placement)."""

    person: Callable[[str | None, str | None], str | None] = lambda c, a: c or a
    identifiers: Callable[[str], list[str]] = lambda person: [person]
    segments_of: Callable[[str], list[str]] = _no_segments
    campaigns_of: Callable[[str, Sequence[str]], list[str]] = _no_campaigns
    offer_cost: Callable[[str], float | None] = _no_cost
    unit_cost: Callable[[str], float | None] = _no_cost
    windows: Callable[[], Windows] = field(default=Windows)


def decision_fact(record: DecisionRecord, sources: FactSources) -> DecisionFact:
    """The fact of one logged decision, with the person, campaigns and segments of now."""
    person = sources.person(record.customer, record.anonymous_id)
    offers = [o.offer_id for o in record.offers]
    experiment = record.experiment
    holdout = getattr(record, "holdout", None)
    channel = record.context.get("channel")
    return DecisionFact(
        decision_id=record.decision_id,
        at=record.at,
        placement=record.placement,
        channel=None if channel is None else str(channel),
        customer=record.customer,
        anonymous_id=record.anonymous_id,
        person=person,
        model_versions=[
            f"{name}:{'-' if version is None else version}"
            for name, version in sorted(record.model_versions.items())
        ],
        items=list(record.items),
        offer_ids=offers,
        offer_costs=[sources.offer_cost(o) or 0.0 for o in offers],
        campaigns=sorted(set(sources.campaigns_of(record.placement, offers))),
        segments=sorted(set(sources.segments_of(person))) if person else [],
        experiment_id=experiment.experiment_id if experiment else None,
        variant=experiment.variant if experiment else None,
        holdout=holdout if isinstance(holdout, bool) else None,
    )


def feedback_marks(feedback: Sequence[FeedbackRecord]) -> list[ExposureMark]:
    """Exposure marks of feedback (viewed, clicked, redeemed; ``purchased`` is left to
    attribution, other types to nobody)."""
    return [
        ExposureMark(
            decision_id=f.decision_id,
            kind=_FEEDBACK_MARKS[f.type],
            at=f.at,
            item_id=f.item_id,
            offer_id=f.offer_id,
        )
        for f in feedback
        if f.type in _FEEDBACK_MARKS
    ]


@dataclass
class OrderPlaced:
    """An ``order_completed`` event: its lines ``(item_id, quantity, price)`` and buyer."""

    order_id: str
    at: datetime
    customer_id: str | None
    anonymous_id: str | None
    lines: list[tuple[str, float, float]]


@dataclass(frozen=True)
class Refunded:
    """An ``order_refunded`` event: the items refunded (None: the whole order)."""

    order_id: str
    items: frozenset[str] | None


@dataclass
class EventFacts:
    """What a run of events gives the facts."""

    orders: dict[str, OrderPlaced] = field(default_factory=dict)
    refunds: list[Refunded] = field(default_factory=list)
    marks: list[ExposureMark] = field(default_factory=list)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def fold_events(events: Sequence[Event], into: EventFacts) -> None:
    """Take orders, refunds and marks from ``events`` (later orders of one id win)."""
    for event in events:
        props = event.properties
        if event.type is EventType.ORDER_COMPLETED and props.get("order_id") is not None:
            order_id = str(props["order_id"])
            lines = [
                (str(line["item_id"]), float(line["quantity"]), float(line["price"]))
                for line in props.get("lines") or ()
            ]
            if lines:
                into.orders[order_id] = OrderPlaced(
                    order_id, event.timestamp, event.customer_id, event.anonymous_id, lines
                )
            offer = _text(props.get("offer_id"))
            if event.decision_id and offer:
                into.marks.append(
                    ExposureMark(decision_id=event.decision_id, kind="redeemed",
                                 at=event.timestamp, offer_id=offer, order_id=order_id)
                )  # fmt: skip
        elif event.type is EventType.ORDER_REFUNDED and props.get("order_id") is not None:
            items = [str(line["item_id"]) for line in props.get("lines") or () if "item_id" in line]
            into.refunds.append(
                Refunded(str(props["order_id"]), frozenset(items) if items else None)
            )
        elif event.type is EventType.PRODUCT_ADDED and event.decision_id and "item_id" in props:
            into.marks.append(
                ExposureMark(decision_id=event.decision_id, kind="added", at=event.timestamp,
                             item_id=str(props["item_id"]))
            )  # fmt: skip
        elif event.type is EventType.OFFER_REDEEMED and event.decision_id and "offer_id" in props:
            into.marks.append(
                ExposureMark(decision_id=event.decision_id, kind="redeemed", at=event.timestamp,
                             offer_id=str(props["offer_id"]),
                             order_id=_text(props.get("order_id")))
            )  # fmt: skip
