"""Profile values against hand-computed expectations, and rebuild == incremental."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from retailor.domain.catalog import CatalogItem
from retailor.domain.events import Channel
from retailor.profiles.service import ProfileService
from retailor.storage.schema import events_to_table
from tests.unit.profiles.test_identity import T0, ev, order


def catalog() -> list[CatalogItem]:
    return [
        CatalogItem(item_id="mug", category=["Home", "Kitchen"], brand="Acme"),
        CatalogItem(item_id="lamp", category=["Home", "Lighting"], brand="Lumo"),
        CatalogItem(item_id="shoe", category=["Fashion", "Shoes"], brand="Stride"),
    ]


def history() -> list:  # type: ignore[type-arg]
    web, store = Channel.WEB, Channel.STORE
    events = [
        ev("product_viewed", 0, "c1", item_id="shoe"),
        ev("product_viewed", 1, "c1", item_id="shoe"),
        ev("product_added", 2, "c1", item_id="mug"),
        order(3, "c1", None, "o1", ("mug", 2, 4.5), ("lamp", 1, 20.0)),
        order(60 * 24 * 10, "c1", None, "o2", ("mug", 1, 4.5), coupon="SPRING", discount=1.0),
        order(60 * 24 * 20, "c1", None, "o3", ("shoe", 1, 50.0)),
        ev(
            "order_refunded",
            60 * 24 * 21,
            "c1",
            order_id="o3",
            lines=[{"item_id": "shoe", "quantity": 1, "price": 50.0}],
            cancelled=True,
        ),
        ev("order_refunded", 60 * 24 * 22, "c1", order_id="o1", amount=4.5),
        ev("consent_updated", 5, "c1", purposes={"marketing_email": True, "personalization": True}),
        ev("consent_updated", 60, "c1", purposes={"marketing_email": False}),
        ev("identify", 7, "c1", traits={"first_name": "Ada", "city": "Leeds"}),
        ev("identify", 8, "c1", traits={"city": "York"}),
        ev("loyalty_enrolled", 9, "c1", tier="silver"),
        ev("points_earned", 10, "c1", points=120),
        ev("points_redeemed", 11, "c1", points=20),
        order(5, "c2", None, "p1", ("lamp", 1, 20.0)),
    ]
    for e in events[:4]:
        e.channel = web
    events[4].channel = store
    events[4].store_id = "leeds-1"
    events[5].channel = store
    events[5].store_id = "leeds-1"
    return events


def test_values_match_hand_computation() -> None:
    s = ProfileService("salt")
    s.remember_items(catalog())
    s.apply(history())
    view = s.view("c1")
    assert view is not None
    t = view.traits
    assert t["order_count"] == 2  # o3 was cancelled
    # lines: o1 2*4.5 + 20 = 29, o2 4.5, o3 50; refunds: o3 50 (lines), o1 4.5 (amount)
    assert t["revenue"] == 29.0
    assert t["average_order_value"] == 14.5
    assert t["discount_share"] == 0.5  # o2 of {o1, o2}
    assert t["favourite_categories"][0] == "Home > Kitchen"
    assert set(t["favourite_brands"][:2]) == {"Acme", "Stride"}
    assert t["preferred_channel"] == "web" and t["preferred_store"] == "leeds-1"
    assert t["attributes"] == {"first_name": "Ada", "city": "York"}
    assert t["loyalty"] == {
        "tier": "silver",
        "points": 100.0,
        "enrolled_at": (T0 + timedelta(minutes=9)).isoformat(),
    }
    assert view.consent == {"marketing_email": False, "personalization": True}
    assert t["first_seen"] == T0.isoformat()
    assert t["last_seen"] == (T0 + timedelta(days=22)).isoformat()
    rfm = t["rfm"]
    assert rfm["frequency"] == 2 and rfm["recency_days"] == 12  # last live order o2, as of day 22
    assert rfm["segment"] in {
        "champions",
        "loyal",
        "potential loyalist",
        "at risk",
        "cannot lose them",
        "needs attention",
        "about to sleep",
        "hibernating",
        "lost",
        "promising",
        "new customers",
    }
    assert t["quality"] == {
        "bot_like_velocity": False,
        "impossible_values": False,
        "suspected_duplicate_account": False,
    }


def test_rfm_scores_order_the_base() -> None:
    s = ProfileService("salt")
    events = []
    for n in range(50):
        for k in range(n % 5 + 1):
            events.append(
                order(60 * 24 * (n + k), f"c{n:02d}", None, f"o{n}-{k}", ("mug", 1, 10.0 + n))
            )
    s.apply(events)
    best = s.view("c49")
    worst = s.view("c00")
    assert best is not None and worst is not None
    assert best.traits["rfm"]["r"] == 5 and best.traits["rfm"]["f"] == 5
    assert worst.traits["rfm"]["r"] == 1 and worst.traits["rfm"]["f"] == 1
    assert best.traits["rfm"]["segment"] == "champions" and worst.traits["rfm"]["segment"] == "lost"


def test_bot_like_velocity_and_impossible_values() -> None:
    s = ProfileService("salt")
    s.apply([ev("page_viewed", 0, "bot") for _ in range(200)])
    s.apply([order(1, "odd", None, "x", ("mug", 50_000, 1.0))])
    assert s.view("bot").traits["quality"]["bot_like_velocity"]  # type: ignore[union-attr]
    assert s.view("odd").traits["quality"]["impossible_values"]  # type: ignore[union-attr]


def test_rebuild_from_the_log_equals_the_incremental_state() -> None:
    rng = random.Random(3)
    events = history()
    for n in range(300):
        who = rng.choice(["c1", "c2", "c3", None])
        anon = rng.choice(["d1", "d2", "d3", None]) if who is None or rng.random() < 0.3 else None
        if who is None and anon is None:
            anon = "d9"
        kind = rng.choice(["product_viewed", "identify", "order"])
        if kind == "order":
            events.append(order(n, who, anon, f"r{n}", ("mug", rng.randint(1, 3), 4.5)))
        elif kind == "identify" and who:
            events.append(ev("identify", n, who, anon, traits={"n": n}))
        else:
            events.append(
                ev("product_viewed", n, who, anon, item_id=rng.choice(["mug", "lamp", "shoe"]))
            )
    incremental = ProfileService("salt")
    incremental.remember_items(catalog())
    for e in events:  # arriving one by one, in time order
        incremental.apply([e])
    rebuilt = ProfileService("salt")
    rebuilt.remember_items(catalog())
    table = events_to_table(sorted(events, key=lambda e: e.timestamp))
    rebuilt.rebuild(table.to_batches(max_chunksize=37))
    assert sorted(incremental.states) == sorted(rebuilt.states)
    for key in incremental.states:
        assert incremental.view(key) == rebuilt.view(key), key


def test_recency_is_measured_to_the_newest_event_seen() -> None:
    s = ProfileService("salt")
    s.apply([order(0, "a", None, "1", ("mug", 1, 1.0)), ev("page_viewed", 60 * 24 * 30, "b")])
    view = s.view("a")
    assert view is not None and view.traits["rfm"]["recency_days"] == 30
    assert datetime.fromisoformat(view.traits["last_order_at"]) == T0.astimezone(UTC)


def test_the_catalog_arriving_after_the_history_gives_the_same_profile() -> None:
    first = ProfileService("salt")
    first.remember_items(catalog())
    first.apply(history())
    late = ProfileService("salt")
    late.apply(history())
    before = late.view("c1")
    assert before is not None and before.traits["favourite_categories"] == []
    late.remember_items(catalog())
    expected, got = first.view("c1"), late.view("c1")
    assert expected is not None and got is not None
    for trait in ("favourite_categories", "favourite_brands"):
        assert got.traits[trait] == expected.traits[trait] != []
