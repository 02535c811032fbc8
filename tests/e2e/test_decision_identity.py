"""Who a decision belongs to: unguessable decision ids, event feedback counted only from
the person a decision was made for, and customers Retailor has not seen yet."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tests.conftest import AppHarness
from tests.e2e.test_decisions_api import decide, seed

NOW = datetime.now(UTC).replace(microsecond=0)


def redeemed(event_id: str, decision_id: str, offer: str, **who: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": "offer_redeemed", "timestamp": NOW.isoformat(),
            "decision_id": decision_id, "properties": {"offer_id": offer}, **who}  # fmt: skip


def redemptions(app: AppHarness, offer: str) -> int:
    """The offer's redemptions once the event feedback sent so far has been processed."""
    app.wait_idle()
    return int(app.client.get(f"/v1/offers/{offer}", headers=app.admin()).json()["redemptions"])


def rechecked_redemptions(app: AppHarness, offer: str, expected: int) -> int:
    """The offer's redemptions once events that waited for a login have been checked again
    (every ``IDENTITY_RECHECK_SECONDS``): ``expected`` or what there is after 10 s."""
    deadline = time.monotonic() + 10
    while (count := redemptions(app, offer)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def kept_feedback(app: AppHarness, decision_id: str) -> list[dict[str, Any]]:
    """The decision's kept feedback, once the feedback sent so far has been processed."""
    app.wait_idle()
    got = app.client.get(f"/v1/decisions/{decision_id}", headers=app.admin()).json()
    return got["feedback"]  # type: ignore[no-any-return]


def test_decision_ids_tell_nothing_about_each_other(app: AppHarness) -> None:
    seed(app)
    ids = [decide(app, placement="home", anonymous_id=f"v{n}")["decision_id"] for n in range(40)]
    assert len(set(ids)) == 40 and all(len(d) == 26 for d in ids)
    # random throughout: no shared prefix and no counter in the tail
    assert len({d[:6] for d in ids}) == 40 and len({d[-6:] for d in ids}) == 40


def test_event_feedback_counts_only_from_the_person_the_decision_was_for(
    app: AppHarness,
) -> None:
    seed(app)
    h = app.admin()
    offer = {"kind": "free_shipping", "marketing": False, "max_redemptions": 5}
    assert app.client.put("/v1/offers/ship", json=offer, headers=h).status_code == 200
    mine = decide(app, placement="cart", customer_id="c-victim", offers=1)
    visitor = decide(app, placement="cart", anonymous_id="v-later", offers=1)
    assert mine["offers"] and visitor["offers"]
    # a stranger with the public ingest key sends redemptions naming both decisions
    forged = [
        redeemed("f1", mine["decision_id"], "ship", anonymous_id="attacker"),
        redeemed("f2", visitor["decision_id"], "ship", customer_id="someone-else"),
    ]
    assert (
        app.client.post("/v1/events", json={"events": forged}, headers=app.ingest()).status_code
        == 200
    )
    assert redemptions(app, "ship") == 0
    # the customer herself, and the visitor after logging in, are counted
    real = [
        redeemed("r1", mine["decision_id"], "ship", customer_id="c-victim"),
        {"event_id": "login", "type": "identify", "timestamp": NOW.isoformat(),
         "anonymous_id": "v-later", "customer_id": "c-later"},
        redeemed("r2", visitor["decision_id"], "ship", customer_id="c-later"),
    ]  # fmt: skip
    assert (
        app.client.post("/v1/events", json={"events": real}, headers=app.ingest()).status_code
        == 200
    )
    assert redemptions(app, "ship") == 2
    assert [f["type"] for f in kept_feedback(app, mine["decision_id"])] == ["redeemed"]


def test_a_customer_not_seen_yet_is_capped_and_logged(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    capped = {"kind": "free_shipping", "marketing": False, "frequency_cap": {"per_day": 1}}
    assert app.client.put("/v1/offers/once", json=capped, headers=h).status_code == 200
    first = decide(app, placement="cart", customer_id="newbie", offers=1)
    assert [o["offer_id"] for o in first["offers"]] == ["once"]
    assert first["customer"] == "newbie"
    again = decide(app, placement="cart", customer_id="newbie", offers=1)
    assert again["offers"] == []  # one impression a day
    app.wait_idle()
    logged = app.client.get(f"/v1/decisions/{first['decision_id']}", headers=h).json()
    assert logged["decision"]["customer"] == "newbie"
    # an email address is never echoed into the log in clear
    by_email = decide(app, placement="cart", customer_id="email:ann@example.com")
    assert by_email["customer"] is None


def test_a_login_after_the_event_still_links_it_and_duplicates_are_kept_once(
    app: AppHarness,
) -> None:
    seed(app)
    h = app.admin()
    offer = {"kind": "free_shipping", "marketing": False}
    assert app.client.put("/v1/offers/ship", json=offer, headers=h).status_code == 200
    got = decide(app, placement="cart", customer_id="m1", offers=1)
    # a click from the email on a new device: not linked to m1 yet
    early = redeemed("e1", got["decision_id"], "ship", anonymous_id="dev-new")
    assert app.client.post("/v1/events", json=early, headers=app.ingest()).status_code == 200
    assert redemptions(app, "ship") == 0
    login = {"event_id": "login", "type": "identify", "timestamp": NOW.isoformat(),
             "anonymous_id": "dev-new", "customer_id": "m1"}  # fmt: skip
    assert app.client.post("/v1/events", json=login, headers=app.ingest()).status_code == 200
    assert rechecked_redemptions(app, "ship", 1) == 1
    again = {"decision_id": got["decision_id"], "type": "redeemed", "offer_id": "ship"}
    for _ in range(3):
        r = app.client.post("/v1/feedback", json=again, headers=h)
        assert r.status_code == 200 and r.json()["outcome"] == "duplicate"
    assert [f["type"] for f in kept_feedback(app, got["decision_id"])] == ["redeemed"]
