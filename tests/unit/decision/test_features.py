"""Online features: decayed interest, carts, searches, sessions, purchases, sliding
windows and trending-now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from retailor.domain.events import Event
from retailor.features.online import HALF_LIFE_SECONDS, OnlineFeatures

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CATEGORY = {"a": ["Home", "Mugs"], "b": ["Home", "Mugs"], "c": ["Garden", "Tools"]}


def event(n: int, kind: str, seconds: float, props: dict[str, Any], **who: str) -> Event:
    at = T0 + timedelta(seconds=seconds)
    return msgspec.convert(
        {"event_id": f"e{n}", "type": kind, "timestamp": at, "received_at": at, "properties": props, **who},
        Event,
    )  # fmt: skip


def features() -> OnlineFeatures:
    return OnlineFeatures(lambda item: (CATEGORY.get(item, []), None))


def test_subject_state_follows_the_journey() -> None:
    f = features()
    f.apply(
        [
            event(
                1,
                "product_viewed",
                0,
                {"item_id": "a"},
                anonymous_id="v",
                session_id="s1",
                channel="web",
            ),
            event(2, "product_viewed", 60, {"item_id": "c"}, anonymous_id="v", session_id="s1"),
            event(3, "products_searched", 90, {"query": "rake"}, anonymous_id="v", session_id="s1"),
            event(
                4,
                "product_added",
                120,
                {"item_id": "c", "quantity": 2},
                anonymous_id="v",
                session_id="s1",
            ),
            event(5, "product_added", 130, {"item_id": "a"}, anonymous_id="v", session_id="s1"),
            event(6, "product_removed", 140, {"item_id": "a"}, anonymous_id="v", session_id="s1"),
        ]
    )
    snap = f.snapshot(["a:v"])
    assert [i for i, _ in snap.recent_items] == ["a", "c"]  # a was touched last (the cart add)
    assert snap.cart == ["c"] and snap.last_search == "rake"
    assert snap.session_events == 6 and snap.session_seconds == 140 and snap.channel == "web"
    assert snap.categories["Tools"] > 0 and snap.categories["Mugs"] > 0
    f.apply([event(7, "order_completed", 200, {"order_id": "o", "lines": [{"item_id": "c", "quantity": 2, "price": 9}]},
                   anonymous_id="v", session_id="s2")])  # fmt: skip
    snap = f.snapshot(["a:v"])
    assert snap.cart == [] and "c" in snap.purchased and snap.session_events == 1


def test_interest_decays_with_a_half_life_and_merges_across_subjects() -> None:
    f = features()
    f.apply([event(1, "product_viewed", 0, {"item_id": "a"}, anonymous_id="v")])
    f.apply([event(2, "product_viewed", HALF_LIFE_SECONDS, {"item_id": "b"}, customer_id="c")])
    snap = f.snapshot(["a:v", "c:c"])
    weights = dict(snap.recent_items)
    assert abs(weights["a"] - 0.5) < 1e-9 and abs(weights["b"] - 1.0) < 1e-9
    assert abs(snap.categories["Mugs"] - 1.5) < 1e-9
    assert f.snapshot(["a:nobody"]).known is False


def test_item_windows_and_trending_now() -> None:
    f = features()
    events = [
        event(n, "product_viewed", n, {"item_id": "a"}, anonymous_id=f"v{n}") for n in range(10)
    ]
    events += [
        event(100 + n, "product_viewed", 3000 + n, {"item_id": "b"}, anonymous_id="w")
        for n in range(4)
    ]
    events.append(event(200, "product_added", 3100, {"item_id": "b"}, anonymous_id="w"))
    f.apply(events)
    assert f.item_counts("a", "5m") == (0.0, 0.0, 0.0)  # an hour ago
    assert f.item_counts("a", "1h") == (10.0, 0.0, 0.0)
    assert f.item_counts("b", "5m") == (4.0, 1.0, 0.0)
    f.apply([event(300, "product_viewed", 3 * 3600, {"item_id": "c"}, anonymous_id="z")])
    assert f.item_counts("a", "1h") == (0.0, 0.0, 0.0) and f.item_counts("a", "24h")[0] == 10.0
    top = [item for item, _ in f.trending_now(2)]
    assert top == ["c"]  # only c moved in the last hour


def test_an_event_stamped_ahead_of_the_clock_counts_as_now() -> None:
    f = features()
    now = datetime.now(UTC)
    live = [
        msgspec.convert(
            {"event_id": f"l{n}", "type": "product_viewed", "timestamp": now - timedelta(seconds=n),
             "received_at": now, "properties": {"item_id": "ab"[n % 2]}, "anonymous_id": f"v{n}"},
            Event,
        )
        for n in range(6)
    ]  # fmt: skip
    ahead = msgspec.convert(
        {"event_id": "f", "type": "product_viewed", "timestamp": now + timedelta(hours=23),
         "received_at": now, "properties": {"item_id": "c"}, "anonymous_id": "evil"},
        Event,
    )  # fmt: skip
    f.apply([*live, ahead])
    assert f.newest <= now.timestamp() + 120  # "now" stays with the server's clock
    assert {item for item, _ in f.trending_now(3)} == {"a", "b", "c"}
    assert f.item_counts("a", "5m")[0] == 3.0  # the live traffic is still inside its windows
