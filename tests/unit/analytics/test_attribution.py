"""Attribution of order lines to decisions on hand-built cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from retailor.analytics.attribution import (
    Exposure,
    OrderLine,
    Redemption,
    Refund,
    Windows,
    attribute,
    attribute_order,
    revenue_by_placement,
)
from retailor.domain.decisions import DecisionRecord, LoggedOffer

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def decision(
    decision_id: str,
    *,
    minutes: float = 0,
    items: list[str] | None = None,
    customer: str | None = "c1",
    anonymous_id: str | None = None,
    placement: str = "home",
    offers: list[str] | None = None,
) -> DecisionRecord:
    return DecisionRecord(
        decision_id=decision_id,
        at=T0 + timedelta(minutes=minutes),
        placement=placement,
        customer=customer,
        anonymous_id=anonymous_id,
        context={},
        items=items if items is not None else ["i1"],
        sources=[],
        offers=[
            LoggedOffer(offer_id=o, probability=1.0, eligible=[o], features={})
            for o in offers or []
        ],
        model_versions={},
        personalized=True,
        fallback=None,
        latency_ms=1.0,
    )


def line(
    item_id: str = "i1",
    *,
    minutes: float,
    order_id: str = "o1",
    index: int = 0,
    price: float = 10.0,
    quantity: float = 1,
    identifiers: tuple[str, ...] = ("c1",),
) -> OrderLine:
    return OrderLine(
        order_id=order_id,
        line=index,
        item_id=item_id,
        quantity=quantity,
        price=price,
        at=T0 + timedelta(minutes=minutes),
        identifiers=identifiers,
    )


def same(identifier: str) -> str:
    return identifier


def test_shown_only_counts_within_an_hour() -> None:
    within = attribute([decision("d1")], [line(minutes=59)], canonical=same)
    after = attribute([decision("d1")], [line(minutes=61)], canonical=same)
    assert [(a.decision_id, a.reason, a.revenue) for a in within.lines] == [("d1", "shown", 10.0)]
    assert within.orders[0].engaged
    assert after.lines == ()
    assert not after.orders[0].engaged


def test_clicked_counts_within_a_day() -> None:
    click = Exposure("d1", "i1", T0 + timedelta(minutes=1), "clicked")
    hours_later = attribute(
        [decision("d1")], [line(minutes=23 * 60)], canonical=same, exposures=[click]
    )
    too_late = attribute(
        [decision("d1")], [line(minutes=25 * 60)], canonical=same, exposures=[click]
    )
    assert [(a.decision_id, a.reason) for a in hours_later.lines] == [("d1", "clicked")]
    assert too_late.lines == ()


def test_the_decision_must_come_before_the_order() -> None:
    result = attribute([decision("d1", minutes=10)], [line(minutes=5)], canonical=same)
    assert result.lines == ()


def test_a_login_after_the_decision_joins_the_anonymous_decision() -> None:
    aliases = {"anon-7": "c1"}

    def canonical(identifier: str) -> str:
        return aliases.get(identifier, identifier)

    anonymous = decision("d1", customer=None, anonymous_id="anon-7")
    result = attribute([anonymous], [line(minutes=30, identifiers=("c1",))], canonical=canonical)
    assert [a.decision_id for a in result.lines] == ["d1"]
    unresolved = attribute([anonymous], [line(minutes=30, identifiers=("c1",))], canonical=same)
    assert unresolved.lines == ()


def test_another_person_is_never_credited() -> None:
    result = attribute([decision("d1", customer="c2")], [line(minutes=5)], canonical=same)
    assert result.lines == ()


def test_the_latest_decision_that_showed_the_item_wins_once() -> None:
    decisions = [decision("d1", minutes=0), decision("d2", minutes=10, placement="cart")]
    result = attribute(decisions, [line(minutes=20)], canonical=same)
    assert [(a.decision_id, a.placement) for a in result.lines] == [("d2", "cart")]
    summary = revenue_by_placement(result.orders)
    assert set(summary) == {"cart"}
    assert summary["cart"].attributed == 10.0


def test_ties_go_to_the_greater_decision_id() -> None:
    decisions = [decision("d2", minutes=5), decision("d1", minutes=5)]
    result = attribute(decisions, [line(minutes=20)], canonical=same)
    assert [a.decision_id for a in result.lines] == ["d2"]


def test_a_refund_reverses_the_attributed_revenue() -> None:
    lines = [line("i1", minutes=5, index=0), line("i2", minutes=5, index=1, price=4.0)]
    decisions = [decision("d1", items=["i1", "i2"])]
    partial = attribute(decisions, lines, canonical=same, refunds=[Refund("o1", frozenset({0}))])
    assert [(a.line, a.revenue, a.refunded) for a in partial.lines] == [
        (0, 0.0, True),
        (1, 4.0, False),
    ]
    assert partial.orders[0].revenue == 4.0
    assert partial.orders[0].engaged
    whole = attribute(decisions, lines, canonical=same, refunds=[Refund("o1")])
    assert [a.revenue for a in whole.lines] == [0.0, 0.0]
    assert not whole.orders[0].engaged
    assert revenue_by_placement(whole.orders)["home"].attributed == 0.0
    assert revenue_by_placement(whole.orders)["home"].engaged == 0.0


def test_an_unshown_line_is_unattributed_but_its_order_is_engaged() -> None:
    lines = [line("i1", minutes=5, index=0), line("i9", minutes=5, index=1, price=30.0)]
    result = attribute([decision("d1")], lines, canonical=same)
    assert [a.line for a in result.lines] == [0]
    assert result.orders[0].engaged
    assert result.orders[0].revenue == 40.0
    summary = revenue_by_placement(result.orders)["home"]
    assert (summary.attributed, summary.engaged) == (10.0, 40.0)


def test_windows_are_set_per_placement() -> None:
    windows = Windows(placements={"email": (7 * 86_400, 2 * 86_400)})
    decisions = [decision("d1", placement="email"), decision("d2", placement="home")]
    email = attribute(decisions[:1], [line(minutes=36 * 60)], canonical=same, windows=windows)
    home = attribute(decisions[1:], [line(minutes=36 * 60)], canonical=same, windows=windows)
    assert [a.decision_id for a in email.lines] == ["d1"]
    assert home.lines == ()


def test_a_redeemed_offer_takes_the_order_lines() -> None:
    lines = [line("i5", minutes=120, index=0), line("i6", minutes=120, index=1)]
    decisions = [decision("d1", items=["i1"], offers=["ten-off"])]
    result = attribute(
        decisions, lines, canonical=same, redemptions=[Redemption("d1", "ten-off", "o1")]
    )
    assert [(a.line, a.reason) for a in result.lines] == [(0, "redeemed"), (1, "redeemed")]
    other_order = attribute(
        decisions, lines, canonical=same, redemptions=[Redemption("d1", "ten-off", "o2")]
    )
    assert other_order.lines == ()


def test_one_order_alone_gives_what_the_whole_run_gives() -> None:
    decisions = [decision("d1"), decision("d2", minutes=3, customer="c2")]
    lines = [line("i1", minutes=5, index=0), line("i2", minutes=5, index=1)]
    alone = attribute_order(lines, decisions, canonical=same)
    assert (alone,) == attribute(decisions, lines, canonical=same).orders
