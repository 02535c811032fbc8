"""The OfferLedger contract, against every adapter: memory and Redis.

``ledgers()`` opens another instance over the same ledger: for Redis a new connection,
as another worker process would have; in memory the same instance (one process's ledger
is shared by its threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from retailor.domain.offers import Offer, parse_offer
from retailor.storage.hot import OfferLedger
from tests.contract.views import views

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC).timestamp()
DAY = 86_400

Ledgers = Callable[[], OfferLedger]


@pytest.fixture(params=["memory", "redis"])
def ledgers(request: pytest.FixtureRequest) -> Iterator[Ledgers]:
    from retailor.storage.memory.ledger import MemoryOfferLedger
    from retailor.storage.redis.ledger import RedisOfferLedger

    yield from views(request, MemoryOfferLedger, RedisOfferLedger)  # type: ignore[arg-type]


def offer(offer_id: str = "o", **fields: Any) -> Offer:
    return parse_offer({"kind": "percent_off", "value": 10, **fields}, offer_id)


def test_frequency_caps_per_day_and_week(ledgers: Ledgers) -> None:
    ledger = ledgers()
    o = offer(frequency_cap={"per_day": 2, "per_week": 3})
    t = NOW
    assert ledger.award(o, "c1", t, "d1") and ledger.award(o, "c1", t + 1, "d2")
    assert not ledger.available(o, "c1", t + 2)
    assert not ledger.award(o, "c1", t + 2, "d3")  # third today
    assert ledger.award(o, "c2", t + 2, "d4")  # someone else
    assert ledger.available(o, "c1", t + DAY + 1)
    assert ledger.award(o, "c1", t + DAY + 1, "d5")  # next day
    assert not ledger.award(o, "c1", t + 2 * DAY + 2, "d6")  # fourth this week
    assert ledger.award(o, "c1", t + 8 * DAY, "d7")  # a week later


def test_without_caps_or_without_someone_nothing_is_counted(ledgers: Ledgers) -> None:
    ledger = ledgers()
    free, capped = offer("free"), offer("capped", frequency_cap={"per_day": 1})
    for n in range(5):
        assert ledger.award(free, "c1", NOW + n, f"d{n}")
        assert ledger.award(capped, None, NOW + n, f"e{n}")
    assert ledger.allowed([free, capped], "c1", NOW + 5) == [True, True]
    assert ledger.allowed([], "c1", NOW) == []


def test_redemptions_count_once_and_stop_at_the_limit_and_budget(ledgers: Ledgers) -> None:
    ledger = ledgers()
    limited = offer("limited", cost=2, max_redemptions=2)
    budgeted = parse_offer({"kind": "amount_off", "value": 7, "budget": 20}, "budgeted")
    assert ledger.redeem(limited, "d1") == "counted"
    assert ledger.redeem(limited, "d1") == "duplicate"
    assert ledger.redeem(limited, "d2") == "counted"
    assert ledger.redeem(limited, "d3") == "exhausted"
    assert ledger.redeem(limited, "d2") == "duplicate"
    assert ledger.usage("limited") == (2, 4.0)
    assert not ledger.available(limited, "c1", NOW)
    assert not ledger.award(limited, "c1", NOW, "d9")
    assert [ledger.redeem(budgeted, f"d{n}") for n in range(4)] == ["counted"] * 2 + [
        "exhausted"
    ] * 2  # 2 x 7 <= 20 < 3 x 7
    assert ledger.usage("budgeted") == (2, 14.0)
    assert ledger.usage("never") == (0, 0.0)
    assert ledger.allowed([limited, budgeted, offer("other")], None, NOW) == [False, False, True]


def test_concurrent_redemptions_from_two_instances_stop_exactly_at_the_limit(
    ledgers: Ledgers,
) -> None:
    first, second = ledgers(), ledgers()
    o = offer(cost=1, max_redemptions=50)
    start = threading.Barrier(8)

    def redeem(worker: int) -> list[str]:
        ledger = first if worker % 2 else second
        start.wait()
        return [ledger.redeem(o, f"d{worker}-{n}") for n in range(25)]

    with ThreadPoolExecutor(8) as pool:
        outcomes = [r for rs in pool.map(redeem, range(8)) for r in rs]
    assert len(outcomes) == 200
    assert outcomes.count("counted") == 50 and outcomes.count("exhausted") == 150
    assert first.usage("o") == (50, 50.0) == second.usage("o")


def test_concurrent_redemptions_of_one_decision_count_once(ledgers: Ledgers) -> None:
    first, second = ledgers(), ledgers()
    o = offer(cost=3)
    start = threading.Barrier(8)

    def redeem(worker: int) -> str:
        start.wait()
        return (first if worker % 2 else second).redeem(o, "d1")

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(redeem, range(8)))
    assert outcomes.count("counted") == 1 and outcomes.count("duplicate") == 7
    assert first.usage("o") == (1, 3.0)


def test_concurrent_awards_from_two_instances_hold_the_caps(ledgers: Ledgers) -> None:
    first, second = ledgers(), ledgers()
    o = offer(frequency_cap={"per_day": 3, "per_week": 5})
    start = threading.Barrier(8)

    def award(worker: int) -> list[bool]:
        ledger = first if worker % 2 else second
        start.wait()
        return [
            ledger.award(o, who, NOW + n * 0.001, f"d{worker}-{n}-{who}")
            for n in range(10)
            for who in ("c1", "c2")
        ]

    with ThreadPoolExecutor(8) as pool:
        outcomes = [r for rs in pool.map(award, range(8)) for r in rs]
    assert outcomes.count(True) == 6  # three a day for each of the two customers
    # two days later: the week allows two more each
    later = [first.award(o, "c1", NOW + 2 * DAY + n, f"l{n}") for n in range(4)]
    assert later == [True, True, False, False]


def test_concurrent_budget_spend_never_passes_the_budget(ledgers: Ledgers) -> None:
    first, second = ledgers(), ledgers()
    o = parse_offer({"kind": "amount_off", "value": 7, "budget": 100}, "o")
    start = threading.Barrier(8)

    def redeem(worker: int) -> list[str]:
        start.wait()
        ledger = first if worker % 2 else second
        return [ledger.redeem(o, f"d{worker}-{n}") for n in range(10)]

    with ThreadPoolExecutor(8) as pool:
        outcomes = [r for rs in pool.map(redeem, range(8)) for r in rs]
    assert outcomes.count("counted") == 14  # 14 x 7 <= 100 < 15 x 7
    assert second.usage("o") == (14, 98.0)


def test_a_seed_counts_each_impression_and_redemption_once(ledgers: Ledgers) -> None:
    ledger = ledgers()
    o = offer(frequency_cap={"per_day": 2}, cost=5, max_redemptions=3)
    assert not ledger.seeded()
    impressions = [("o", "c1", NOW - 60, "d1"), ("o", "c1", NOW - 30, "d2")]
    redemptions = [("o", "d1", 5.0), ("o", "d1", 5.0), ("o", "d2", 5.0)]
    ledger.seed(impressions, redemptions)
    assert ledger.seeded() and ledgers().seeded()
    assert ledger.usage("o") == (2, 10.0)
    assert not ledger.available(o, "c1", NOW)  # two impressions today
    assert ledger.redeem(o, "d1") == "duplicate"
    # the same seed again (another process seeding at the same time) adds nothing
    ledger.seed(impressions[:1], redemptions[:1])
    assert ledger.usage("o") == (2, 10.0)
    assert ledger.available(o, "c1", NOW + DAY)
    assert ledger.award(o, "c1", NOW + DAY, "d3") and ledger.award(o, "c1", NOW + DAY, "d4")
    assert not ledger.award(o, "c1", NOW + DAY, "d5")


def test_an_offer_without_limits_is_always_allowed_and_awarded(ledgers: Ledgers) -> None:
    ledger = ledgers()
    free = parse_offer({"kind": "percent_off", "value": 5}, "free")
    capped = parse_offer(
        {"kind": "percent_off", "value": 5, "frequency_cap": {"per_day": 1}}, "capped"
    )
    assert ledger.allowed([free, capped], "c1", NOW) == [True, True]
    assert all(ledger.award(free, "c1", NOW + n, f"d{n}") for n in range(5))
    assert ledger.award(capped, "c1", NOW, "d-a")
    assert ledger.allowed([capped, free, capped], "c1", NOW + 1) == [False, True, False]
    assert ledger.allowed([capped], None, NOW + 1) == [True]  # a cap needs someone to count


def test_forget_drops_a_persons_impressions_and_keeps_the_rest(ledgers: Ledgers) -> None:
    ledger, other = ledgers(), ledgers()
    capped = offer("capped", frequency_cap={"per_day": 2}, max_redemptions=10, cost=1)
    weekly = offer("weekly", frequency_cap={"per_week": 1})
    assert ledger.award(capped, "c1", NOW, "d1") and ledger.award(capped, "c1", NOW + 1, "d2")
    assert ledger.award(weekly, "c1", NOW + 2, "d3")
    assert ledger.award(weekly, "v-ann", NOW + 3, "d4")
    assert ledger.award(capped, "x:c1", NOW + 4, "d5")  # another person whose id ends alike
    assert ledger.award(capped, "c12", NOW + 5, "d6")
    assert ledger.redeem(capped, "d1") == "counted"
    assert not ledger.available(capped, "c1", NOW + 10)
    assert other.forget(["c1", "v-ann", "nobody"]) == 4
    assert other.forget(["c1", "v-ann"]) == 0
    assert other.forget([]) == 0
    assert ledger.available(capped, "c1", NOW + 10) and ledger.available(weekly, "c1", NOW + 10)
    assert ledger.available(weekly, "v-ann", NOW + 10)
    # others' impressions stay, and so do redemptions and spend (they name decisions)
    assert ledger.award(capped, "x:c1", NOW + 11, "d7")
    assert not ledger.award(capped, "x:c1", NOW + 12, "d8")
    assert ledger.award(capped, "c12", NOW + 13, "d9")
    assert not ledger.award(capped, "c12", NOW + 14, "d10")
    assert ledger.usage("capped") == (1, 1.0)
    assert ledger.redeem(capped, "d1") == "duplicate"


def test_after_a_redis_forget_no_key_names_the_person(redis_dsn: str) -> None:
    from retailor.storage.redis.connection import open_state
    from retailor.storage.redis.ledger import RedisOfferLedger

    state = open_state(redis_dsn)
    try:
        ledger = RedisOfferLedger(state)
        capped = offer("capped", frequency_cap={"per_day": 3})
        for n, who in enumerate(["ann@example.com", "ann@example.com", "c2"]):
            assert ledger.award(capped, who, NOW + n, f"d{n}")
        assert ledger.redeem(capped, "d0") == "counted"
        keys = [k.decode() for k in state.client.scan_iter(match=f"{state.namespace}:*")]
        assert any("ann@example.com" in k for k in keys)
        assert ledger.forget(["ann@example.com"]) == 2
        keys = [k.decode() for k in state.client.scan_iter(match=f"{state.namespace}:*")]
        assert not any("ann@example.com" in k for k in keys)
        assert any(k.endswith(":c2") for k in keys)
    finally:
        state.close()
