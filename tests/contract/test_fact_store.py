"""The FactStore contract, against every adapter (memory: DuckDB in memory; DuckDB file;
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from retailor.domain.privacy import Subject
from retailor.storage.fact_sql import SCHEMAS, decision_rows
from retailor.storage.factory import Storage
from retailor.storage.facts import (
    Aggregate,
    DecisionFact,
    ExposureMark,
    FactCursors,
    FactStore,
    LineFact,
    OrderFact,
)

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def facts_of(storage: Storage) -> FactStore:
    assert storage.facts is not None
    return storage.facts


def decision(n: int, **fields: object) -> DecisionFact:
    base: dict[str, object] = {
        "decision_id": f"d{n}",
        "at": T0 + timedelta(minutes=n),
        "placement": "home" if n % 2 else "cart",
        "channel": "web",
        "customer": f"c{n % 3}",
        "person": f"c{n % 3}",
        "model_versions": ["als:3"],
        "items": ["i1", "i2"],
        "offer_ids": ["o1"],
        "offer_costs": [2.5],
        "campaigns": ["spring"],
        "segments": ["vip"] if n % 2 else [],
    }
    base.update(fields)
    return DecisionFact(**base)  # type: ignore[arg-type]


def line(order: str, n: int, item: str, revenue: float, **fields: object) -> LineFact:
    base: dict[str, object] = {
        "order_id": order,
        "line": n,
        "item_id": item,
        "at": T0 + timedelta(minutes=30),
        "quantity": 1.0,
        "price": revenue,
        "unit_cost": revenue / 2,
        "revenue": revenue,
        "margin": revenue / 2,
    }
    base.update(fields)
    return LineFact(**base)  # type: ignore[arg-type]


def test_decisions_come_back_with_blank_exposures(storage: Storage) -> None:
    facts = facts_of(storage)
    facts.add_decisions([decision(1), decision(2, customer=None, anonymous_id="v1")])
    assert facts.decision("d1") == decision(1)
    assert facts.decision("nope") is None
    shown = facts.exposures_of(["d1"])
    assert [(e.position, e.item_id, e.offer_id, e.cost) for e in shown] == [
        (0, "i1", None, 0.0),
        (1, "i2", None, 0.0),
        (2, None, "o1", 2.5),
    ]
    assert all(e.viewed_at is None and e.clicked_at is None for e in shown)
    assert facts.count("decisions") == 2 and facts.count("exposures") == 6
    facts.add_decisions([decision(1, items=["i9"])])  # replaced, with its exposures
    assert facts.count("decisions") == 2 and facts.count("exposures") == 5
    assert facts.decision("d1") == decision(1, items=["i9"])


def test_any_text_comes_back(storage: Storage) -> None:
    facts = facts_of(storage)
    odd = decision(1, segments=["a,b", 'q"x', "back\\slash", "{}", "NULL", ""], channel="")
    facts.add_decisions([odd])
    assert facts.decision("d1") == odd


def test_marks_keep_the_earliest_time_in_any_order(storage: Storage) -> None:
    facts = facts_of(storage)
    facts.add_decisions([decision(1), decision(2)])
    late, early = T0 + timedelta(hours=2), T0 + timedelta(hours=1)
    marks = [
        ExposureMark(decision_id="d1", kind="clicked", at=late, item_id="i1"),
        ExposureMark(decision_id="d1", kind="clicked", at=early, item_id="i1"),
        ExposureMark(decision_id="d1", kind="added", at=late, item_id="i2"),
        ExposureMark(decision_id="d1", kind="redeemed", at=late, offer_id="o1", order_id="x1"),
        ExposureMark(decision_id="d1", kind="viewed", at=late, item_id="nope"),
        ExposureMark(decision_id="d9", kind="viewed", at=late),
        ExposureMark(decision_id="d2", kind="viewed", at=early),  # every slot
    ]
    facts.mark(marks[:3])
    facts.mark(list(reversed(marks)))
    facts.mark(marks)
    one = facts.decision("d1")
    assert one is not None
    assert (one.impressions, one.clicks, one.add_to_carts, one.redemptions) == (2, 2, 1, 1)
    assert one.budget_spent == 2.5
    slots = {e.position: e for e in facts.exposures_of(["d1"])}
    assert slots[0].viewed_at == early and slots[0].clicked_at == early
    assert slots[1].added_at == late and slots[1].viewed_at is None
    assert slots[2].redeemed_at == late and slots[2].redeemed_order == "x1"
    two = facts.decision("d2")
    assert two is not None and (two.impressions, two.clicks) == (3, 0)
    facts.mark([])


def test_orders_are_replaced_with_their_lines(storage: Storage) -> None:
    facts = facts_of(storage)
    facts.add_decisions([decision(1)])
    order = OrderFact(order_id="x1", at=T0 + timedelta(minutes=30), customer_id="c1",
                      anonymous_id="v1", person="c1", revenue=30.0, engaged=True,
                      attributed_revenue=10.0, settled=False)  # fmt: skip
    lines = [
        line("x1", 0, "i1", 10.0, decision_id="d1", placement="home", reason="shown"),
        line("x1", 1, "i7", 20.0),
    ]
    facts.put_orders([order], lines)
    assert facts.order("x1") == order
    assert facts.lines_of(["x1"]) == lines
    assert facts.unsettled_orders(T0 + timedelta(hours=1)) == ["x1"]
    assert facts.unsettled_orders(T0) == []
    settled = OrderFact(order_id="x1", at=order.at, revenue=20.0, settled=True)
    facts.put_orders([settled], [line("x1", 1, "i7", 20.0)])
    assert facts.order("x1") == settled
    assert facts.lines_of(["x1"]) == [line("x1", 1, "i7", 20.0)]
    assert facts.unsettled_orders(T0 + timedelta(days=1)) == []
    assert facts.orders_between(T0, T0 + timedelta(hours=1)) == [settled]
    assert facts.orders_between(T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == []


def test_decisions_of_a_person_in_a_window(storage: Storage) -> None:
    facts = facts_of(storage)
    facts.add_decisions(
        [decision(3), decision(1), decision(2, customer=None, anonymous_id="v1"), decision(4)]
    )
    found = facts.decisions_of(["c1", "v1"], T0, T0 + timedelta(minutes=4))
    assert [d.decision_id for d in found] == ["d1", "d2"]
    assert facts.decisions_of([], T0, T0 + timedelta(days=1)) == []


def test_experiment_activity_lists_clicked_or_redeemed_decisions_of_one_experiment(
    storage: Storage,
) -> None:
    facts = facts_of(storage)
    facts.add_decisions(
        [
            decision(1, experiment_id="e1", variant="a"),
            decision(2, experiment_id="e1", variant="b", customer=None, anonymous_id="v2"),
            decision(3, experiment_id="e1", variant="b"),  # never clicked: left out
            decision(4, experiment_id="e2", variant="a"),  # another experiment
            decision(5),
        ]
    )
    late = T0 + timedelta(hours=1)
    facts.mark(
        [
            ExposureMark(decision_id="d1", kind="clicked", at=late, item_id="i1"),
            ExposureMark(decision_id="d1", kind="clicked", at=late, item_id="i2"),
            ExposureMark(decision_id="d2", kind="redeemed", at=late, offer_id="o1"),
            ExposureMark(decision_id="d4", kind="clicked", at=late, item_id="i1"),
            ExposureMark(decision_id="d5", kind="clicked", at=late, item_id="i1"),
        ]
    )
    found = facts.experiment_activity("e1", T0, T0 + timedelta(hours=1))
    assert [(a.at, a.customer, a.anonymous_id, a.clicks, a.redemptions) for a in found] == [
        (T0 + timedelta(minutes=1), "c1", None, 2, 0),
        (T0 + timedelta(minutes=2), None, "v2", 1, 1),  # a redemption also marks a click
    ]
    assert facts.experiment_activity("e1", T0 + timedelta(minutes=2), late)[0].anonymous_id == "v2"
    assert facts.experiment_activity("nope", T0, late) == []


def test_delete_between_removes_the_range_only(storage: Storage) -> None:
    facts = facts_of(storage)
    facts.add_decisions([decision(1), decision(90)])
    facts.put_orders(
        [OrderFact(order_id="x1", at=T0 + timedelta(minutes=30), revenue=10.0)],
        [line("x1", 0, "i1", 10.0)],
    )
    facts.delete_between(T0, T0 + timedelta(hours=1))
    assert facts.decision("d1") is None and facts.decision("d90") is not None
    assert facts.exposures_of(["d1"]) == [] and len(facts.exposures_of(["d90"])) == 3
    assert facts.order("x1") is None and facts.lines_of(["x1"]) == []


def test_cursors_are_kept(storage: Storage) -> None:
    facts = facts_of(storage)
    assert facts.cursors() == FactCursors()
    facts.save_cursors(FactCursors((T0, "d5"), 42))
    facts.save_cursors(FactCursors((T0 + timedelta(seconds=1), "d6"), 43))
    assert facts.cursors() == FactCursors((T0 + timedelta(seconds=1), "d6"), 43)


def _seed_report(facts: FactStore) -> None:
    facts.add_decisions(
        [
            decision(1),  # home, vip, c1
            decision(2, offer_ids=[], offer_costs=[], campaigns=[]),  # cart
            decision(3, experiment_id="e1", variant="b", holdout=False),  # home, vip
        ]
    )
    facts.mark(
        [
            ExposureMark(decision_id="d1", kind="viewed", at=T0 + timedelta(minutes=2)),
            ExposureMark(decision_id="d1", kind="clicked", at=T0 + timedelta(minutes=3), item_id="i1"),
            ExposureMark(decision_id="d3", kind="redeemed", at=T0 + timedelta(minutes=9), offer_id="o1"),
        ]
    )  # fmt: skip
    facts.put_orders(
        [
            OrderFact(order_id="x1", at=T0 + timedelta(minutes=30), revenue=30.0, engaged=True,
                      attributed_revenue=10.0),
            OrderFact(order_id="x2", at=T0 + timedelta(minutes=40), revenue=0.0),
            OrderFact(order_id="x3", at=T0 + timedelta(minutes=50), revenue=5.0, engaged=True,
                      attributed_revenue=5.0),
        ],
        [
            line("x1", 0, "i1", 10.0, decision_id="d1", placement="home", reason="clicked"),
            line("x1", 1, "i2", 20.0),
            line("x2", 0, "i2", 0.0, margin=0.0, decision_id="d2", placement="cart",
                 reason="shown", refunded=True),
            line("x3", 0, "i1", 5.0, decision_id="d3", placement="home", reason="redeemed"),
        ],
    )  # fmt: skip


def test_aggregate_sums_per_group(storage: Storage) -> None:
    facts = facts_of(storage)
    _seed_report(facts)
    window = (T0, T0 + timedelta(days=1))
    total = facts.aggregate(Aggregate(*window))
    # decisions, impressions, clicks, adds, redemptions, budget, orders, attributed,
    # engaged, margin
    assert total == [(3, 4, 2, 0, 1, 2.5, 2, 15.0, 35.0, 7.5)]
    by = facts.aggregate(Aggregate(*window, by=("placement",)))
    assert by == [
        ("cart", 1, 0, 0, 0, 0, 0.0, 0, 0.0, 0.0, 0.0),
        ("home", 2, 4, 2, 0, 1, 2.5, 2, 15.0, 35.0, 7.5),
    ]
    by_segment = facts.aggregate(Aggregate(*window, by=("segment",)))
    assert [(r[0], r[1], r[7]) for r in by_segment] == [("vip", 2, 2), (None, 1, 0)]
    by_offer = facts.aggregate(Aggregate(*window, interval="day", by=("offer", "variant")))
    assert [r[:4] for r in by_offer] == [
        (_day(T0), "o1", "b", 1),
        (_day(T0), "o1", None, 1),
        (_day(T0), None, None, 1),
    ]
    hourly = facts.aggregate(Aggregate(*window, interval="hour"))
    assert len(hourly) == 1 and hourly[0][1] == 3
    empty = facts.aggregate(Aggregate(T0 - timedelta(days=2), T0 - timedelta(days=1)))
    assert empty == [(0, 0, 0, 0, 0, 0.0, 0, 0.0, 0.0, 0.0)]
    assert facts.aggregate(Aggregate(*window, by=("holdout",)))[0][:2] == (False, 1)


def _day(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0)


def test_bulk_load_read_and_export(storage: Storage, tmp_path: Path) -> None:
    facts = facts_of(storage)
    rows = decision_rows([decision(1), decision(60 * 24 + 1)])
    facts.bulk_load("decisions", rows)
    assert facts.count("decisions") == 2
    read = pa.Table.from_batches(list(facts.read("decisions", T0, T0 + timedelta(hours=1))))
    assert read.schema == SCHEMAS["decisions"]
    assert read.column("decision_id").to_pylist() == ["d1"]
    written = facts.export(tmp_path / "out", T0, T0 + timedelta(days=3))
    assert written == {"decisions": 2, "exposures": 0, "lines": 0, "orders": 0}
    days = sorted(p.name for p in (tmp_path / "out" / "decisions").iterdir())
    assert days == [f"day={date(2026, 11, 1)}", f"day={date(2026, 11, 2)}"]
    back = ds.dataset(tmp_path / "out" / "decisions", format="parquet", partitioning="hive")
    assert sorted(back.to_table().column("decision_id").to_pylist()) == ["d1", "d1441"]
    with pytest.raises(ValueError, match="unknown fact table"):
        facts.count("nope")


def test_order_sums_count_and_sum_orders_per_period(storage: Storage) -> None:
    facts = facts_of(storage)
    hour = timedelta(hours=1)
    facts.put_orders(
        [
            OrderFact(order_id="x1", at=T0 + timedelta(minutes=5), revenue=30.0, engaged=True,
                      attributed_revenue=10.0),
            OrderFact(order_id="x2", at=T0 + timedelta(minutes=50), revenue=0.0),  # refunded
            OrderFact(order_id="x3", at=T0 + 2 * hour, revenue=5.5),
            OrderFact(order_id="x4", at=T0 + 30 * hour, revenue=100.0),  # past the end
        ],
        [],
    )  # fmt: skip
    end = T0 + 3 * hour
    assert facts.order_sums(T0, end, "hour") == [
        (T0, 2, 30.0, 10.0, 30.0),
        (T0 + 2 * hour, 1, 5.5, 0.0, 0.0),
    ]
    midnight = T0.replace(hour=0)
    assert facts.order_sums(T0, end, "day") == [(midnight, 3, 35.5, 10.0, 30.0)]
    assert facts.order_sums(T0, end) == [(None, 3, 35.5, 10.0, 30.0)]
    assert facts.order_sums(end + 2 * hour, end + 3 * hour) == []


def test_erase_removes_a_persons_decisions_and_orders_with_what_hangs_on_them(
    storage: Storage,
) -> None:
    facts = facts_of(storage)
    # decision(n) is for c{n % 3}, 3 exposures each: d1 and d4 are c1's
    facts.add_decisions(
        [decision(1), decision(2), decision(4),
         decision(5, customer=None, anonymous_id="v-ann", person="p-ann"),
         decision(7, customer="c7", person="c1")]  # folded into c1's cluster
    )  # fmt: skip
    mine = OrderFact(order_id="x1", at=T0 + timedelta(minutes=30), customer_id="c1", revenue=3.0)
    visit = OrderFact(order_id="x2", at=T0 + timedelta(minutes=31), anonymous_id="v-ann")
    theirs = OrderFact(order_id="x3", at=T0 + timedelta(minutes=32), customer_id="c2",
                       person="c2", revenue=5.0)  # fmt: skip
    facts.put_orders(
        [mine, visit, theirs],
        [line("x1", 0, "i1", 1.0), line("x1", 1, "i2", 2.0), line("x2", 0, "i1", 1.0),
         line("x3", 0, "i1", 5.0, decision_id="d1")],
    )  # fmt: skip
    ann = Subject(ids=("c1", "v-ann"), texts=("ann@example.com",))
    # decisions d1, d4, d5, d7 with 3 exposures each; orders x1, x2 with 3 lines
    assert facts.erase(ann) == 4 + 12 + 2 + 3
    assert facts.erase(ann) == 0
    assert facts.erase(Subject(texts=("ann@example.com",))) == 0
    assert [facts.decision(f"d{n}") is None for n in (1, 2, 4, 5, 7)] == [
        True, False, True, True, True,
    ]  # fmt: skip
    assert facts.count("decisions") == 1 and facts.count("exposures") == 3
    assert facts.order("x1") is None and facts.order("x2") is None
    assert facts.order("x3") == theirs
    assert facts.lines_of(["x1", "x2", "x3"]) == [line("x3", 0, "i1", 5.0, decision_id="d1")]
