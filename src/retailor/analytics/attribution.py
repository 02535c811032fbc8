"""Attribution of order revenue to decisions, line by line.

An order line goes to the latest decision, made before the order for the same person, that
showed the line's item (``"clicked"`` when the item was clicked from it, ``"shown"``
otherwise) or whose offer was redeemed for the order (``"redeemed"``), within the
placement's window measured from the decision's time: clicked or redeemed 24 h, shown 1 h
by default. Ties: the later decision, then the greater decision id. Each line goes to at
most one decision. Refunded lines keep their attribution with revenue zeroed and
``refunded`` set. An order is engaged when at least one of its attributed lines is not
refunded; its engaged revenue is the revenue of all its unrefunded lines.

Who is the same person is the caller's: ``canonical(identifier)`` maps any identifier to
its cluster's canonical id (an anonymous id later aliased to a login maps to the customer).

:func:`attribute_order` works on one order and the candidate decisions of its person, so
that attribution can run incrementally; :func:`attribute` runs it over everything, and
:func:`revenue_by_placement` sums the outcome per decision placement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from retailor.domain.decisions import DecisionRecord

Canonical = Callable[[str], str]
Reason = Literal["clicked", "shown", "redeemed"]

DEFAULT_CLICKED_SECONDS = 86_400.0
DEFAULT_SHOWN_SECONDS = 3_600.0
_REASON_RANK: dict[Reason, int] = {"redeemed": 2, "clicked": 1, "shown": 0}


@dataclass(frozen=True, slots=True)
class Exposure:
    """An item of a decision seen (``"viewed"``) or clicked at a time."""

    decision_id: str
    item_id: str
    at: datetime
    kind: Literal["viewed", "clicked"]


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order, with the identifiers of the person who placed it."""

    order_id: str
    line: int
    item_id: str
    quantity: float
    price: float
    at: datetime
    identifiers: tuple[str, ...]

    @property
    def revenue(self) -> float:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund of a whole order (``lines`` None) or of the given line indexes."""

    order_id: str
    lines: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class Redemption:
    """A decision's offer redeemed for an order."""

    decision_id: str
    offer_id: str
    order_id: str


@dataclass(frozen=True, slots=True)
class Windows:
    """How long after a decision an order can be attributed to it, per placement:
    ``placements`` maps a placement to (clicked_seconds, shown_seconds); other placements
    take the defaults. A redeemed offer takes the clicked window."""

    clicked_seconds: float = DEFAULT_CLICKED_SECONDS
    shown_seconds: float = DEFAULT_SHOWN_SECONDS
    placements: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def of(self, placement: str) -> tuple[timedelta, timedelta]:
        clicked, shown = self.placements.get(placement, (self.clicked_seconds, self.shown_seconds))
        return timedelta(seconds=clicked), timedelta(seconds=shown)


@dataclass(frozen=True, slots=True)
class AttributedLine:
    """An order line's revenue credited to a decision (zero once refunded)."""

    order_id: str
    line: int
    item_id: str
    revenue: float
    decision_id: str
    placement: str
    reason: Reason
    refunded: bool = False


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """An order's unrefunded revenue, whether it is engaged, and its attributed lines."""

    order_id: str
    revenue: float
    engaged: bool
    lines: tuple[AttributedLine, ...]


@dataclass(frozen=True, slots=True)
class Attribution:
    """Every attributed line and every order's outcome, ordered by order id and line."""

    lines: tuple[AttributedLine, ...]
    orders: tuple[OrderOutcome, ...]


@dataclass(frozen=True, slots=True)
class PlacementRevenue:
    """Per placement: revenue of the lines attributed to its decisions, and revenue of the
    engaged orders with at least one unrefunded line attributed to it (an order engaged by
    two placements counts under both)."""

    attributed: float
    engaged: float


def decision_people(decision: DecisionRecord, canonical: Canonical) -> set[str]:
    """The canonical ids of the person a decision was made for (none for a stranger)."""
    return {canonical(i) for i in (decision.customer, decision.anonymous_id) if i}


def attribute_order(
    lines: Sequence[OrderLine],
    candidates: Iterable[DecisionRecord],
    *,
    canonical: Canonical,
    exposures: Iterable[Exposure] = (),
    redemptions: Iterable[Redemption] = (),
    refunds: Iterable[Refund] = (),
    windows: Windows | None = None,
) -> OrderOutcome:
    """Attribute the lines of one order. ``candidates`` may hold any decisions: those for
    another person or made at or after a line's time are ignored, as are exposures of other
    decisions, clicks after the line, and redemptions or refunds of other orders."""
    if not lines:
        raise ValueError("an order has at least one line")
    order_id = lines[0].order_id
    if any(line.order_id != order_id for line in lines):
        raise ValueError("lines of more than one order")
    windows = windows or Windows()
    decisions = list(candidates)
    ids = {d.decision_id for d in decisions}
    clicks: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    viewed: dict[str, set[str]] = defaultdict(set)
    for exposure in exposures:
        if exposure.decision_id not in ids:
            continue
        if exposure.kind == "clicked":
            clicks[exposure.decision_id].append((exposure.item_id, exposure.at))
        viewed[exposure.decision_id].add(exposure.item_id)
    redeemed = {(r.decision_id, r.offer_id) for r in redemptions if r.order_id == order_id}
    refunded: set[int] = set()
    whole_refund = False
    for refund in refunds:
        if refund.order_id != order_id:
            continue
        if refund.lines is None:
            whole_refund = True
        else:
            refunded |= refund.lines

    attributed: list[AttributedLine] = []
    revenue = 0.0
    for line in sorted(lines, key=lambda x: x.line):
        is_refunded = whole_refund or line.line in refunded
        if not is_refunded:
            revenue += line.revenue
        person = {canonical(i) for i in line.identifiers}
        best: tuple[datetime, str, int, DecisionRecord, Reason] | None = None
        for decision in decisions:
            reason = _reason(decision, line, person, canonical, clicks, viewed, redeemed, windows)
            if reason is None:
                continue
            key = (decision.at, decision.decision_id, _REASON_RANK[reason], decision, reason)
            if best is None or key[:3] > best[:3]:
                best = key
        if best is None:
            continue
        decision, reason = best[3], best[4]
        attributed.append(
            AttributedLine(
                order_id=order_id,
                line=line.line,
                item_id=line.item_id,
                revenue=0.0 if is_refunded else line.revenue,
                decision_id=decision.decision_id,
                placement=decision.placement,
                reason=reason,
                refunded=is_refunded,
            )
        )
    engaged = any(not a.refunded for a in attributed)
    return OrderOutcome(order_id, revenue, engaged, tuple(attributed))


def _reason(
    decision: DecisionRecord,
    line: OrderLine,
    person: set[str],
    canonical: Canonical,
    clicks: Mapping[str, list[tuple[str, datetime]]],
    viewed: Mapping[str, set[str]],
    redeemed: set[tuple[str, str]],
    windows: Windows,
) -> Reason | None:
    """Why ``decision`` may take ``line`` (the strongest reason), or None."""
    if decision.at >= line.at or not decision_people(decision, canonical) & person:
        return None
    clicked_window, shown_window = windows.of(decision.placement)
    elapsed = line.at - decision.at
    if elapsed <= clicked_window:
        if any((decision.decision_id, o.offer_id) in redeemed for o in decision.offers):
            return "redeemed"
        if any(
            item == line.item_id and at <= line.at
            for item, at in clicks.get(decision.decision_id, ())
        ):
            return "clicked"
    shown = line.item_id in decision.items or line.item_id in viewed.get(decision.decision_id, ())
    if shown and elapsed <= shown_window:
        return "shown"
    return None


def attribute(
    decisions: Iterable[DecisionRecord],
    lines: Iterable[OrderLine],
    *,
    canonical: Canonical,
    exposures: Iterable[Exposure] = (),
    redemptions: Iterable[Redemption] = (),
    refunds: Iterable[Refund] = (),
    windows: Windows | None = None,
) -> Attribution:
    """Attribute every order: each order gets the decisions of its person as candidates."""
    by_person: dict[str, list[DecisionRecord]] = defaultdict(list)
    for decision in decisions:
        for person in decision_people(decision, canonical):
            by_person[person].append(decision)
    orders: dict[str, list[OrderLine]] = defaultdict(list)
    for line in lines:
        orders[line.order_id].append(line)
    exposures_of: dict[str, list[Exposure]] = defaultdict(list)
    for exposure in exposures:
        exposures_of[exposure.decision_id].append(exposure)
    redemptions_of: dict[str, list[Redemption]] = defaultdict(list)
    for redemption in redemptions:
        redemptions_of[redemption.order_id].append(redemption)
    refunds_of: dict[str, list[Refund]] = defaultdict(list)
    for refund in refunds:
        refunds_of[refund.order_id].append(refund)
    outcomes: list[OrderOutcome] = []
    for order_id in sorted(orders):
        order_lines = orders[order_id]
        seen: dict[str, DecisionRecord] = {}
        for line in order_lines:
            for identifier in line.identifiers:
                for decision in by_person.get(canonical(identifier), ()):
                    seen[decision.decision_id] = decision
        outcomes.append(
            attribute_order(
                order_lines,
                seen.values(),
                canonical=canonical,
                exposures=[e for d in seen for e in exposures_of.get(d, ())],
                redemptions=redemptions_of.get(order_id, ()),
                refunds=refunds_of.get(order_id, ()),
                windows=windows,
            )
        )
    return Attribution(lines=tuple(a for o in outcomes for a in o.lines), orders=tuple(outcomes))


def revenue_by_placement(orders: Iterable[OrderOutcome]) -> dict[str, PlacementRevenue]:
    """Attributed and engaged revenue per decision placement, placements sorted."""
    attributed: dict[str, float] = defaultdict(float)
    engaged: dict[str, float] = defaultdict(float)
    for order in orders:
        for a in order.lines:
            attributed[a.placement] += a.revenue
        for placement in {a.placement for a in order.lines if not a.refunded}:
            engaged[placement] += order.revenue
    return {
        p: PlacementRevenue(attributed=attributed[p], engaged=engaged[p])
        for p in sorted(attributed)
    }
