"""Identity resolution scenarios: one customer per real person, guard rails, merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from retailor.domain.events import Event, EventType
from retailor.identity.graph import IdentityRules
from retailor.profiles.service import ProfileService

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
_n = iter(range(10**6))


def ev(
    kind: str, minutes: int = 0, customer: str | None = None, anon: str | None = None, **props: Any
) -> Event:
    return Event(
        event_id=f"e{next(_n)}",
        type=EventType(kind),
        timestamp=T0 + timedelta(minutes=minutes),
        received_at=T0,
        customer_id=customer,
        anonymous_id=anon,
        properties=props,
    )


def order(
    minutes: int,
    customer: str | None,
    anon: str | None,
    order_id: str,
    *lines: tuple[str, int, float],
    **props: Any,
) -> Event:
    return ev(
        "order_completed", minutes, customer, anon, order_id=order_id,
        lines=[{"item_id": i, "quantity": q, "price": p} for i, q, p in lines], **props,
    )  # fmt: skip


def service(**rules: Any) -> ProfileService:
    return ProfileService("test-salt", IdentityRules(**rules))


def test_anonymous_browsing_before_login_counts_for_the_customer() -> None:
    s = service()
    s.apply(
        [
            ev("product_viewed", 0, anon="dev-1", item_id="a"),
            ev("product_viewed", 1, anon="dev-1", item_id="b"),
        ]
    )
    assert s.resolve("dev-1") == "dev-1"
    s.apply(
        [ev("identify", 2, customer="c-1", anon="dev-1", traits={"email": " Ada@Example.com "})]
    )
    s.apply([order(3, "c-1", None, "o1", ("a", 1, 10.0))])
    assert s.resolve("dev-1") == "c-1" and s.resolve("c-1") == "c-1"
    assert s.resolve("email:ada@example.com") == "c-1"
    view = s.view("c-1")
    assert view is not None
    assert view.traits["event_count"] == 4 and view.traits["order_count"] == 1
    kinds = {(r.kind.value, r.value) for r in view.identifiers}
    assert ("anonymous_id", "dev-1") in kinds and ("customer_id", "c-1") in kinds
    assert all("@" not in value for _, value in kinds)  # the email only as a hash
    assert "dev-1" not in s.states  # one profile, re-keyed
    [merge] = [r for r in s.graph.explain("c-1") if r.absorbed == "dev-1"]
    assert merge.kept == "c-1" and merge.refused is None and merge.via == "anonymous_id:dev-1"


def test_two_devices_one_customer() -> None:
    s = service()
    s.apply([ev("page_viewed", 0, anon="phone"), ev("page_viewed", 1, anon="laptop")])
    s.apply(
        [
            ev("identify", 2, customer="c-2", anon="phone"),
            ev("identify", 3, customer="c-2", anon="laptop"),
        ]
    )
    assert s.resolve("phone") == s.resolve("laptop") == "c-2"
    view = s.view("c-2")
    assert view is not None and view.traits["event_count"] == 4


def test_a_shared_device_never_merges_two_known_customers() -> None:
    s = service()
    s.apply(
        [
            ev("identify", 0, customer="mum", anon="family-laptop"),
            ev("identify", 5, customer="son", anon="family-laptop"),
        ]
    )
    assert s.resolve("mum") == "mum" and s.resolve("son") == "son"
    refused = [r for r in s.graph.records if r.refused]
    assert refused and refused[0].refused == "would merge two known customers"


def test_a_kiosk_seen_with_too_many_customers_stops_linking() -> None:
    s = service(max_customers_per_device=2)
    s.apply([ev("page_viewed", 0, anon="kiosk-7")])
    s.apply([ev("identify", i + 1, customer=f"c{i}", anon="kiosk-7") for i in range(4)])
    assert s.resolve("c0") == "c0"  # the first login linked the kiosk
    assert {s.resolve(f"c{i}") for i in range(4)} == {"c0", "c1", "c2", "c3"}
    assert any(r.refused == "device seen with too many customers" for r in s.graph.records)


def test_a_pos_loyalty_card_joins_the_online_account() -> None:
    s = service()
    till = ev("order_completed", 0, anon="till-3-basket-1", order_id="pos-1",
              lines=[{"item_id": "milk", "quantity": 2, "price": 1.5}], loyalty_card="CARD-9")  # fmt: skip
    s.apply([till])
    assert s.resolve("loyalty_card:CARD-9") == "till-3-basket-1"
    s.apply([ev("loyalty_enrolled", 10, customer="web-55", card_id="CARD-9", tier="gold")])
    assert s.resolve("loyalty_card:CARD-9") == "web-55"
    view = s.view("web-55")
    assert view is not None
    assert view.traits["order_count"] == 1 and view.traits["revenue"] == 3.0
    assert view.traits["loyalty"]["tier"] == "gold"


def test_an_alias_may_merge_two_known_customer_ids() -> None:
    s = service()
    s.apply(
        [
            order(0, "old-id", None, "o1", ("a", 1, 5.0)),
            order(1, "new-id", None, "o2", ("b", 1, 7.0)),
        ]
    )
    s.apply([ev("alias", 2, customer="new-id", previous_id="old-id")])
    assert s.resolve("old-id") == s.resolve("new-id") == "new-id"
    view = s.view("new-id")
    assert view is not None and view.traits["order_count"] == 2 and view.traits["revenue"] == 12.0


def test_the_same_email_on_two_accounts_is_flagged_not_merged() -> None:
    s = service()
    s.apply(
        [
            ev("identify", 0, customer="a1", traits={"email": "x@y.com"}),
            ev("identify", 1, customer="a2", traits={"email": "X@y.com"}),
        ]
    )
    assert s.resolve("a1") == "a1" and s.resolve("a2") == "a2"
    view = s.view("a2")
    assert view is not None and view.traits["quality"]["suspected_duplicate_account"]


def test_canonical_customer_does_not_depend_on_event_order() -> None:
    events = [
        ev("identify", 0, customer="zed", anon="d1"),
        ev("page_viewed", 1, anon="d1"),
        ev("identify", 2, customer="zed", anon="d2"),
        ev("page_viewed", 3, anon="d2"),
    ]
    forward, backward = service(), service()
    forward.apply(events)
    backward.apply(list(reversed(events)))
    assert forward.resolve("d2") == backward.resolve("d2") == "zed"


def test_one_phone_number_however_it_is_written() -> None:
    from retailor.identity.identifiers import normalize_phone

    forms = ["+44 1234 567891", "0044 1234 567891", "441234567891", "(+44) 1234-567-891"]
    assert {normalize_phone(f) for f in forms} == {"441234567891"}
    assert normalize_phone("12-34") is None
