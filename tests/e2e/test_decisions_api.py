"""The decision API in process: placements, rules, read-your-writes freshness, fallbacks,
consent, offers with budgets, feedback (API and events) and the decision log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.runtime.server import build_server
from retailor.settings import Settings
from retailor.storage.factory import open_storage
from tests.conftest import AppHarness

NOW = datetime.now(UTC).replace(microsecond=0)


def items(n: int = 30) -> list[dict[str, Any]]:
    return [
        {"item_id": f"sku{i}", "name": f"Thing {i}", "category": ["Home", f"cat{i % 3}"],
         "brand": f"brand{i % 4}", "price": 5.0 + i, "cost": 2.0 + i / 2, "stock": 0 if i == 7 else 20}
        for i in range(n)
    ]  # fmt: skip


def view(event_id: str, who: dict[str, str], item: str, minutes_ago: float = 0) -> dict[str, Any]:
    at = NOW - timedelta(minutes=minutes_ago)
    return {"event_id": event_id, "type": "product_viewed", "timestamp": at.isoformat(),
            "properties": {"item_id": item}, **who}  # fmt: skip


def seed(app: AppHarness) -> None:
    assert (
        app.client.put(
            "/v1/catalog/items", json={"items": items()}, headers=app.admin()
        ).status_code
        == 200
    )
    events = [
        view(f"seed{i}", {"anonymous_id": f"crowd{i % 9}"}, f"sku{i % 12}", 30 - i / 10)
        for i in range(120)
    ]
    assert (
        app.client.post("/v1/events", json={"events": events}, headers=app.admin()).status_code
        == 200
    )


def decide(app: AppHarness, **body: Any) -> dict[str, Any]:
    response = app.client.post("/v1/decisions", json=body, headers=app.admin())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_unknown_visitor_gets_trending_before_any_training(app: AppHarness) -> None:
    seed(app)
    answer = decide(app, placement="home")
    assert answer["items"] and answer["customer"] is None
    assert all(i["reasons"] for i in answer["items"])
    assert "sku7" not in [i["item_id"] for i in answer["items"]]  # out of stock
    for placement in (
        "product_detail",
        "cart",
        "checkout",
        "search",
        "category",
        "email",
        "push",
        "pos_receipt",
        "kiosk",
    ):
        got = decide(
            app, placement=placement, anonymous_id="new-visitor", context={"item_id": "sku1"}
        )
        assert got["placement"] == placement and "sku7" not in [i["item_id"] for i in got["items"]]


def test_an_acknowledged_event_shapes_the_very_next_decision(app: AppHarness) -> None:
    seed(app)
    put = app.client.put(
        "/v1/placements/recent",
        json={"sources": [{"source": "recently_viewed"}], "fallback": [], "k": 3},
        headers=app.admin(),
    )
    assert put.status_code == 200, put.text
    for n, item in enumerate(["sku20", "sku21", "sku22", "sku23"]):
        ack = app.client.post(
            "/v1/events",
            json=view(f"fresh{n}", {"anonymous_id": "v1"}, item, minutes_ago=-n / 60),
            headers=app.admin(),
        )
        assert ack.status_code == 200
        got = decide(app, placement="recent", anonymous_id="v1")
        assert got["items"][0]["item_id"] == item
        assert got["items"][0]["reasons"] == ["you viewed this recently"]


def test_browsing_before_login_counts_after_it(app: AppHarness) -> None:
    seed(app)
    app.client.put(
        "/v1/placements/recent",
        json={"sources": [{"source": "recently_viewed"}], "fallback": []},
        headers=app.admin(),
    )
    app.client.post(
        "/v1/events", json=view("anon1", {"anonymous_id": "dev-9"}, "sku25"), headers=app.admin()
    )
    login = {
        "event_id": "login",
        "type": "identify",
        "timestamp": NOW.isoformat(),
        "anonymous_id": "dev-9",
        "customer_id": "cust-9",
    }
    assert app.client.post("/v1/events", json=login, headers=app.admin()).status_code == 200
    got = decide(app, placement="recent", customer_id="cust-9")
    assert [i["item_id"] for i in got["items"]] == ["sku25"]


def test_rules_apply_immediately_and_pins_and_exclusions_hold(app: AppHarness) -> None:
    seed(app)
    definition = {
        "sources": [{"source": "trending_now"}],
        "rules": [
            {"kind": "exclude", "match": {"brands": ["brand0"]}},
            {"kind": "pin", "item_id": "sku29", "position": 1},
            {"kind": "pin", "item_id": "sku7", "position": 2},
            {"kind": "exclude_out_of_stock"},
        ],
        "fallback": ["popular", "new_arrivals"],
        "k": 8,
    }
    assert (
        app.client.put("/v1/placements/home", json=definition, headers=app.admin()).status_code
        == 200
    )
    got = decide(app, placement="home")
    ids = [i["item_id"] for i in got["items"]]
    assert ids[0] == "sku29" and got["items"][0]["reasons"][0] == "featured"
    assert "sku7" not in ids and not any(int(i[3:]) % 4 == 0 for i in ids)
    shown = app.client.get("/v1/placements/home", headers=app.admin()).json()
    assert shown["default"] is False and len(shown["placement"]["rules"]) == 4
    assert app.client.delete("/v1/placements/home", headers=app.admin()).status_code == 409
    reverted = app.client.delete("/v1/placements/home/definition", headers=app.admin())
    assert reverted.status_code == 204
    assert app.client.get("/v1/placements/home", headers=app.admin()).json()["default"] is True
    mine = {"sources": [{"source": "popular"}]}
    app.client.put("/v1/placements/mine", json=mine, headers=app.admin())
    assert app.client.delete("/v1/placements/mine", headers=app.admin()).status_code == 204
    assert app.client.get("/v1/placements/mine", headers=app.admin()).status_code == 404


def test_bad_requests_are_clear_problems(app: AppHarness) -> None:
    h = app.admin()
    r = app.client.post("/v1/decisions", json={"placement": "nowhere"}, headers=h)
    assert r.status_code == 404 and "home" in r.json()["detail"]
    r = app.client.post("/v1/decisions", json={"placement": "home", "k": 0}, headers=h)
    assert r.status_code == 422 and "$.k" in r.json()["detail"]
    r = app.client.post("/v1/decisions", content=b"{nope", headers=h)
    assert r.status_code == 400
    r = app.client.put("/v1/placements/p", json={"sources": [{"source": "telepathy"}]}, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "$.sources[0].source"
    r = app.client.put("/v1/offers/o", json={"kind": "percent_off", "value": 500}, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "$.value"
    assert app.client.get("/v1/offers/none", headers=h).status_code == 404
    assert app.client.get("/v1/decisions/none", headers=h).status_code == 404
    r = app.client.post("/v1/feedback", json={"decision_id": "none", "type": "clicked"}, headers=h)
    assert r.status_code == 404
    r = app.client.post("/v1/decisions", json={"placement": "home"}, headers=app.ingest())
    assert r.status_code == 403


def test_consent_turns_personalization_and_marketing_off(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    app.client.put(
        "/v1/placements/recent",
        json={
            "sources": [{"source": "recently_viewed"}, {"source": "trending_now", "weight": 0.01}]
        },
        headers=h,
    )
    app.client.put("/v1/offers/promo", json={"kind": "percent_off", "value": 10}, headers=h)
    app.client.post("/v1/events", json=view("c-view", {"customer_id": "ann"}, "sku26"), headers=h)
    assert decide(app, placement="recent", customer_id="ann")["items"][0]["item_id"] == "sku26"
    no = {"event_id": "no-consent", "type": "consent_updated", "customer_id": "ann", "timestamp": NOW.isoformat(),
          "properties": {"purposes": {"personalization": False}}}  # fmt: skip
    assert app.client.post("/v1/events", json=no, headers=h).status_code == 200
    got = decide(app, placement="recent", customer_id="ann")
    assert got["personalized"] is False and "sku26" not in [i["item_id"] for i in got["items"]]
    assert all(i["source"] == "trending_now" for i in got["items"])
    # no marketing offer by email without the channel's marketing consent
    assert decide(app, placement="email", customer_id="ann", offers=1)["offers"] == []
    yes = {"event_id": "yes-email", "type": "consent_updated", "customer_id": "ann", "timestamp": NOW.isoformat(),
           "properties": {"purposes": {"marketing_email": True}}}  # fmt: skip
    app.client.post("/v1/events", json=yes, headers=h)
    assert [
        o["offer_id"] for o in decide(app, placement="email", customer_id="ann", offers=1)["offers"]
    ] == ["promo"]


def test_offers_budget_feedback_and_the_decision_log(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    assert (
        app.client.put(
            "/v1/offers/five", json={"kind": "amount_off", "value": 5, "budget": 10}, headers=h
        ).status_code
        == 200
    )
    granted, shown = [], []
    for n in range(4):
        got = decide(app, placement="cart", customer_id=f"c{n}", offers=1)
        shown.append([i["item_id"] for i in got["items"]])
        assert [o["offer_id"] for o in got["offers"]] == ["five"] and got["offers"][0][
            "probability"
        ] == 1.0
        granted.append(got["decision_id"])
    outcomes = [
        app.client.post(
            "/v1/feedback",
            json={"decision_id": d, "type": "redeemed", "offer_id": "five"},
            headers=h,
        )
        for d in granted
    ]
    assert [r.status_code for r in outcomes] == [200, 200, 409, 409]
    assert app.client.get("/v1/offers/five", headers=h).json()["spent"] == 10.0
    assert decide(app, placement="cart", customer_id="c9", offers=1)["offers"] == []  # budget spent
    r = app.client.post(
        "/v1/feedback",
        json={"decision_id": granted[0], "type": "redeemed", "offer_id": "nope"},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["title"] == "Not part of the decision"
    # an event that carries the decision id counts as feedback too
    click = {"event_id": "clicked", "type": "product_viewed", "customer_id": "c1", "timestamp": NOW.isoformat(),
             "decision_id": granted[1], "properties": {"item_id": shown[1][0]}}  # fmt: skip
    assert app.client.post("/v1/events", json=click, headers=h).status_code == 200
    app.wait_idle()
    logged = app.client.get(f"/v1/decisions/{granted[1]}", headers=h).json()
    assert logged["decision"]["offers"][0]["eligible"] == ["five"]
    assert {(f["type"], f["source"]) for f in logged["feedback"]} >= {
        ("redeemed", "api"),
        ("clicked", "event"),
    }


def test_a_decision_past_its_time_budget_answers_with_the_fallback(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", decision_timeout_ms=0.0)
    settings.data_dir.mkdir()
    storage = open_storage(settings.storage_dsn, settings.data_dir)
    _, admin = create_key(storage.keys, Scope.ADMIN)
    with TestClient(build_server(settings, storage), raise_server_exceptions=False) as client:
        h = {"Authorization": f"Bearer {admin}"}
        client.put("/v1/catalog/items", json={"items": items()}, headers=h)
        client.post(
            "/v1/events",
            json={"events": [view(f"e{i}", {"anonymous_id": "x"}, f"sku{i}") for i in range(10)]},
            headers=h,
        )
        got = client.post(
            "/v1/decisions", json={"placement": "home", "anonymous_id": "x"}, headers=h
        )
        assert (
            got.status_code == 200 and got.json()["fallback"] == "timeout" and got.json()["items"]
        )
    storage.close()


def test_rerank_reorders_search_results_for_the_customer(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    for n in range(5):  # this shopper keeps looking at cat2
        app.client.post(
            "/v1/events", json=view(f"r{n}", {"customer_id": "bo"}, f"sku{2 + 3 * n}"), headers=h
        )
    results = ["sku0", "sku1", "sku3", "sku4", "sku5", "sku7"]
    got = app.client.post(
        "/v1/rerank",
        json={"items": results, "customer_id": "bo", "context": {"query": "thing"}},
        headers=h,
    ).json()
    ids = [i["item_id"] for i in got["items"]]
    assert ids[0] == "sku5", got
    assert "sku7" not in ids and sorted(ids) == sorted(set(results) - {"sku7"})
    assert any("cat2" in r for r in got["items"][0]["reasons"])
    stranger = app.client.post("/v1/rerank", json={"items": results}, headers=h).json()
    assert [i["item_id"] for i in stranger["items"]] == [i for i in results if i != "sku7"]


@pytest.mark.parametrize("placement", ["home", "product_detail"])
def test_decisions_are_served_to_serve_scoped_keys(app: AppHarness, placement: str) -> None:
    _, serve = create_key(app.storage.keys, Scope.SERVE)
    r = app.client.post(
        "/v1/decisions", json={"placement": placement}, headers={"Authorization": f"Bearer {serve}"}
    )
    assert r.status_code == 200
    r = app.client.put(
        "/v1/offers/x", json={"kind": "free_shipping"}, headers={"Authorization": f"Bearer {serve}"}
    )
    assert r.status_code == 403


def test_a_visitor_id_cannot_claim_a_customer(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    app.client.put(
        "/v1/placements/recent",
        json={"sources": [{"source": "recently_viewed"}], "fallback": []},
        headers=h,
    )
    identify = {"event_id": "alice-id", "type": "identify", "customer_id": "alice", "timestamp": NOW.isoformat(),
                "properties": {"traits": {"email": "alice@example.com"}}}  # fmt: skip
    app.client.post("/v1/events", json=identify, headers=h)
    app.client.post(
        "/v1/events", json=view("alice-v", {"customer_id": "alice"}, "sku27"), headers=h
    )
    assert [
        i["item_id"]
        for i in decide(app, placement="recent", customer_id="email:alice@example.com")["items"]
    ] == ["sku27"]
    for claimed in ("alice", "email:alice@example.com"):
        got = decide(app, placement="recent", anonymous_id=claimed)
        assert got["items"] == [] and got["customer"] is None


def test_pins_never_bring_back_an_excluded_item(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    app.client.put("/v1/placements/pinned", headers=h, json={
        "sources": [{"source": "trending_now"}],
        "rules": [{"kind": "pin", "item_id": "sku3", "position": 1}, {"kind": "pin", "item_id": "sku4", "position": 1}]})  # fmt: skip
    ids = [
        i["item_id"]
        for i in decide(app, placement="pinned", context={"item_id": "sku3"}, exclude=["sku4"])[
            "items"
        ]
    ]
    assert "sku3" not in ids and "sku4" not in ids
    assert decide(app, placement="pinned")["items"][0]["item_id"] in ("sku3", "sku4")


def test_bad_feedback_is_refused_and_bad_event_values_cost_nothing(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    app.client.put("/v1/offers/o", json={"kind": "percent_off", "value": 5}, headers=h)
    got = decide(app, placement="cart", customer_id="c1", offers=1)
    old = {
        "decision_id": got["decision_id"],
        "type": "clicked",
        "offer_id": "o",
        "timestamp": "0001-01-01T00:00:00Z",
    }
    assert app.client.post("/v1/feedback", json=old, headers=h).status_code == 422
    bad_channel = app.client.post(
        "/v1/decisions", json={"placement": "email", "context": {"channel": "Email"}}, headers=h
    )
    assert bad_channel.status_code == 422 and "channel" in bad_channel.json()["detail"]
    events = [
        {"event_id": "ov1", "type": "offer_viewed", "customer_id": "c1", "timestamp": NOW.isoformat(),
         "decision_id": got["decision_id"], "properties": {"offer_id": "o", "value": "cheap"}},
        {"event_id": "ov2", "type": "offer_redeemed", "customer_id": "c1", "timestamp": NOW.isoformat(),
         "decision_id": got["decision_id"], "properties": {"offer_id": "o"}},
    ]  # fmt: skip
    assert app.client.post("/v1/events", json={"events": events}, headers=h).status_code == 200
    app.wait_idle()
    fed = app.client.get(f"/v1/decisions/{got['decision_id']}", headers=h).json()["feedback"]
    assert {f["type"] for f in fed} == {"viewed", "redeemed"}
    assert app.client.get("/v1/offers/o", headers=h).json()["redemptions"] == 1


def test_the_bandit_relearns_from_the_decision_log_after_a_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()

    def started() -> tuple[Any, TestClient, dict[str, str]]:
        storage = open_storage(settings.storage_dsn, settings.data_dir)
        _, admin = create_key(storage.keys, Scope.ADMIN)
        return (
            storage,
            TestClient(build_server(settings, storage), raise_server_exceptions=False),
            {"Authorization": f"Bearer {admin}"},
        )

    storage, client, h = started()
    with client:
        client.put("/v1/offers/good", json={"kind": "free_shipping", "marketing": False}, headers=h)
        client.put(
            "/v1/offers/bad",
            json={"kind": "percent_off", "value": 5, "marketing": False},
            headers=h,
        )
        for n in range(300):
            got = client.post(
                "/v1/decisions",
                json={"placement": "cart", "customer_id": f"c{n}", "offers": 1},
                headers=h,
            ).json()
            if got["offers"][0]["offer_id"] == "good":
                client.post(
                    "/v1/feedback",
                    json={
                        "decision_id": got["decision_id"],
                        "type": "redeemed",
                        "offer_id": "good",
                    },
                    headers=h,
                )
        live = client.app.state.ctx.decisions.tracker  # type: ignore[attr-defined]
        assert live.waiting() == 300  # learned when their hour-long reward window closes
    storage.close()
    storage, client, h = started()
    with client:
        decisions = client.app.state.ctx.decisions  # type: ignore[attr-defined]
        assert decisions.tracker.policy.updates == 300  # every logged choice relearned
        assert client.app.state.services.policy_learner is None  # type: ignore[attr-defined]
        assert decisions.ledger.usage("good")[0] > 0
        picks = [client.post("/v1/decisions", json={"placement": "cart", "customer_id": f"d{n}", "offers": 1},
                             headers=h).json()["offers"][0]["offer_id"] for n in range(50)]  # fmt: skip
        assert picks.count("good") > 40
    storage.close()


def put_yaml(app: AppHarness, path: str, body: str) -> Any:
    headers = {**app.admin(), "Content-Type": "application/yaml"}
    return app.client.put(path, content=body.encode(), headers=headers)


def is_problem(response: Any, status: int) -> bool:
    ctype = response.headers["content-type"]
    return response.status_code == status and ctype.startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/v1/placements/deep", "/v1/offers/deep"])
def test_deeply_nested_definitions_are_a_400_not_a_crash(app: AppHarness, path: str) -> None:
    h = {**app.admin(), "Content-Type": "application/json"}
    for body in (
        b'{"sources":' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # beyond the decoder's stack
        b'{"sources":' + b"[" * 500 + b"]" * 500 + b"}",  # decodes, but deeper than allowed
    ):
        r = app.client.put(path, content=body, headers=h)
        assert is_problem(r, 400), r.text
        assert "nested too deeply" in r.json()["detail"]
    for depth in (5000, 500):
        r = put_yaml(app, path, "sources: " + "[" * depth + "]" * depth + "\n")
        assert is_problem(r, 400), r.text
        assert "nested too deeply" in r.json()["detail"]
    # deep inside a free-form part (catalog attributes) is refused the same way
    rule = '{"kind":"exclude","match":{"attributes":{"a":' + "[" * 300 + "]" * 300 + "}}}"
    body = '{"sources":[{"source":"popular"}],"rules":[' + rule + "]}"
    r = app.client.put("/v1/placements/deep", content=body.encode(), headers=h)
    assert is_problem(r, 400) and "nested too deeply" in r.json()["detail"]
    assert app.client.get("/v1/placements/deep", headers=app.admin()).status_code == 404


def test_non_finite_numbers_are_a_422_naming_where(app: AppHarness) -> None:
    h = app.admin()
    for path, body, where in [
        ("/v1/offers/inf", "kind: amount_off\nvalue: .inf\n", "$.value"),
        ("/v1/offers/nan", "kind: amount_off\nvalue: 5\nbudget: .nan\n", "$.budget"),
        (
            "/v1/placements/inf",
            "sources:\n  - source: popular\n    weight: .inf\n",
            "$.sources[0].weight",
        ),
        (
            "/v1/placements/inf",
            "sources: [{source: popular}]\nrules:\n"
            "  - {kind: boost, factor: .inf, match: {items: [sku1]}}\n",
            "$.rules[0].factor",
        ),
    ]:
        r = put_yaml(app, path, body)
        assert is_problem(r, 422), r.text
        assert r.json()["where"] == where and "finite" in r.json()["detail"]
    # JSON has no literal for them; a number too big for a float is refused as it decodes
    r = app.client.put("/v1/offers/big", content=b'{"kind":"amount_off","value":1e999}', headers=h)
    assert is_problem(r, 400), r.text
    r = app.client.put("/v1/offers/nan", content=b'{"kind":"amount_off","value":NaN}', headers=h)
    assert is_problem(r, 400), r.text
    assert app.client.get("/v1/offers/inf", headers=h).status_code == 404


def test_yaml_aliases_are_refused(app: AppHarness) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        prev = chr(ord("a") + n - 1)
        here = chr(ord("a") + n)
        lines.append(f"{here}: &{here} [" + ",".join([f"*{prev}"] * 9) + "]")
    laughs = "\n".join(lines) + "\nkind: free_shipping\n"
    assert len(laughs) < 600
    for path in ("/v1/offers/laughs", "/v1/placements/laughs"):
        r = put_yaml(app, path, laughs)
        assert is_problem(r, 400), r.text
        assert r.json()["detail"] == "YAML aliases (*name) are not accepted in definitions"
    r = put_yaml(app, "/v1/placements/p", "s: &s {source: popular}\nsources: [*s]\n")
    assert is_problem(r, 400), r.text
    # anchors alone are fine
    r = put_yaml(app, "/v1/placements/p", "sources: [&s {source: popular}]\n")
    assert r.status_code == 200, r.text


def test_definitions_that_could_never_apply_are_a_422(app: AppHarness) -> None:
    h = app.admin()
    mixed = {"starts_at": "2026-12-01T00:00:00", "ends_at": "2026-12-24T00:00:00Z"}
    r = app.client.put(
        "/v1/offers/mixed", json={"kind": "percent_off", "value": 10, "schedule": mixed}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["offer"]["schedule"]["starts_at"] == "2026-12-01T00:00:00Z"
    for path, body, where in [
        ("/v1/offers/o", {"kind": "free_shipping", "schedule": {"hours": [8, 8]}}, "$.schedule.hours"),
        (
            "/v1/offers/o",
            {"kind": "free_shipping", "frequency_cap": {"per_day": 3, "per_week": 1}},
            "$.frequency_cap",
        ),
        (
            "/v1/offers/o",
            {"kind": "free_shipping", "targeting": {"channels": ["mail"]}},
            "$.targeting.channels[0]",
        ),
        ("/v1/placements/p", {"sources": [{"source": "popular"}], "channel": "tv"}, "$.channel"),
        (
            "/v1/placements/p",
            {
                "sources": [{"source": "popular"}],
                "rules": [{"kind": "exclude_hidden", "when": {"starts_at": "2026-12-01T00:00:00",
                           "ends_at": "2026-11-01T00:00:00Z"}}],
            },
            "$.rules[0].when",
        ),
    ]:  # fmt: skip
        r = app.client.put(path, json=body, headers=h)
        assert is_problem(r, 422), r.text
        assert r.json()["where"] == where


def test_invalid_requests_say_where(app: AppHarness) -> None:
    h = app.admin()
    for path, body, where in [
        ("/v1/decisions", {"placement": "home", "k": 0}, "$.k"),
        ("/v1/decisions", {"placement": "home", "context": {"cart": "sku1"}}, "$.context.cart"),
        ("/v1/rerank", {"placement": "search", "items": [1]}, "$.items[0]"),
        ("/v1/feedback", {"decision_id": "x", "type": "loved"}, "$.type"),
    ]:
        r = app.client.post(path, json=body, headers=h)
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["where"] == where, r.json()


def test_recommendations_respect_consent_and_visitor_ids(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    views = [view(f"c3v{n}", {"customer_id": "c3"}, f"sku{n}") for n in (1, 4, 7)]
    refuse = {"event_id": "c3-no", "type": "consent_updated", "customer_id": "c3",
              "timestamp": NOW.isoformat(), "properties": {"purposes": {"personalization": False}}}  # fmt: skip
    assert app.client.post("/v1/events", json={"events": views}, headers=h).status_code == 200
    assert (
        app.client.get("/v1/recommendations?customer_id=c3", headers=h).json()["customer"] == "c3"
    )
    assert app.client.post("/v1/events", json=refuse, headers=h).status_code == 200
    stranger = app.client.get("/v1/recommendations?customer_id=c3", headers=h).json()
    assert stranger["customer"] is None  # answered as for anyone: nothing of c3's is read
    # an anonymous id is looked up as a visitor id only: it cannot claim a customer
    claimed = app.client.get("/v1/recommendations?anonymous_id=c3", headers=h).json()
    assert claimed["customer"] is None


def test_whole_numbers_written_with_a_point_are_integers(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    r = app.client.post("/v1/decisions", json={"placement": "home", "k": 3.0}, headers=h)
    assert r.status_code == 200 and len(r.json()["items"]) == 3, r.text
    r = app.client.post("/v1/decisions", json={"placement": "home", "k": 3.5}, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "$.k"
    definition = {"sources": [{"source": "popular", "slots": 2.0}], "k": 4.0}
    r = app.client.put("/v1/placements/whole", json=definition, headers=h)
    assert r.status_code == 200 and r.json()["placement"]["k"] == 4, r.text
