"""Experiments and the global holdout through the API, in process over DuckDB: definitions
and their validation, answers that name the variant, sticky assignment (also across a
login), what each kind of variant changes, phases, and the holdout."""

from __future__ import annotations

from typing import Any

import pytest

from retailor.domain.experiments import HELD_OUT, HOLDOUT_ID
from retailor.experiments.assignment import assign, held_out
from tests.conftest import AppHarness
from tests.e2e.test_decisions_api import NOW, decide, seed, view

HALF = [{"id": "control", "weight": 0.5}, {"id": "treatment", "weight": 0.5}]
SPLIT = [("control", 0.5), ("treatment", 0.5)]


def put(app: AppHarness, experiment_id: str, **body: Any) -> Any:
    return app.client.put(f"/v1/experiments/{experiment_id}", json=body, headers=app.admin())


def running(app: AppHarness, experiment_id: str, variants: list[dict[str, Any]],
            placements: tuple[str, ...] = ("home",), **more: Any) -> dict[str, Any]:  # fmt: skip
    got = put(app, experiment_id, placements=list(placements), variants=variants,
              control=variants[0]["id"], **more)  # fmt: skip
    assert got.status_code == 200, got.text
    return got.json()["experiment"]  # type: ignore[no-any-return]


def only(variant: str, **changes: Any) -> list[dict[str, Any]]:
    """Every unit in ``variant`` (the control gets no one)."""
    return [{"id": "control", "weight": 0.0}, {"id": variant, "weight": 1.0, **changes}]


def record(app: AppHarness, decision_id: str) -> dict[str, Any]:
    app.wait_idle()
    got = app.client.get(f"/v1/decisions/{decision_id}", headers=app.admin())
    assert got.status_code == 200, got.text
    return got.json()["decision"]  # type: ignore[no-any-return]


def send(app: AppHarness, *events: dict[str, Any]) -> None:
    got = app.client.post("/v1/events", json={"events": list(events)}, headers=app.ingest())
    assert got.status_code == 200, got.text


def test_a_decision_in_an_experiment_names_its_variant_and_sticks(app: AppHarness) -> None:
    seed(app)
    made = running(app, "hero", HALF)
    assert (made["phase"], made["status"], made["control"]) == (1, "running", "control")
    answers = [decide(app, placement="home", anonymous_id=f"v{n}") for n in range(30)]
    for n, answer in enumerate(answers):
        expected = assign("hero", 1, SPLIT, f"a:v{n}")
        assert answer["experiment"] == {"id": "hero", "variant": expected}
        again = decide(app, placement="home", anonymous_id=f"v{n}")
        assert again["experiment"] == answer["experiment"]
    assert {a["experiment"]["variant"] for a in answers} == {"control", "treatment"}
    logged = record(app, answers[0]["decision_id"])
    assert logged["experiment"] == {"experiment_id": "hero", "variant": answers[0]["experiment"]["variant"],
                                    "phase": 1, "unit": "a:v0"}  # fmt: skip
    units = app.storage.exposures.units("hero")
    assert sorted(u.unit for u in units) == sorted(f"a:v{n}" for n in range(30))
    # a placement outside the experiment and a stranger are in none
    assert "experiment" not in decide(app, placement="cart", anonymous_id="v0")
    assert "experiment" not in decide(app, placement="home")
    assert "experiment" not in record(app, decide(app, placement="home")["decision_id"])


def test_a_visitor_keeps_its_variant_after_logging_in(app: AppHarness) -> None:
    seed(app)
    running(app, "hero", HALF)
    # a visitor whose customer id alone would get the other variant
    n = next(n for n in range(200) if assign("hero", 1, SPLIT, f"a:lv{n}")
             != assign("hero", 1, SPLIT, f"lc{n}"))  # fmt: skip
    visitor, customer = f"lv{n}", f"lc{n}"
    before = decide(app, placement="home", anonymous_id=visitor)["experiment"]["variant"]
    send(app, {"event_id": "login", "type": "identify", "timestamp": NOW.isoformat(),
               "anonymous_id": visitor, "customer_id": customer})  # fmt: skip
    app.wait_idle()
    after = decide(app, placement="home", customer_id=customer)
    assert after["customer"] == customer
    assert after["experiment"]["variant"] == before
    assert record(app, after["decision_id"])["experiment"]["unit"] == f"a:{visitor}"
    assert [u.unit for u in app.storage.exposures.units("hero")] == [f"a:{visitor}"]


def test_variants_change_what_is_decided(app: AppHarness) -> None:
    seed(app)
    send(app, *(view(f"mine{i}", {"anonymous_id": "me"}, f"sku{i}", 5 - i) for i in range(4)))
    app.wait_idle()
    plain = decide(app, placement="home", anonymous_id="me")
    assert plain["personalized"] and len(plain["items"]) > 3
    assert "personal" in {i["source"] for i in plain["items"]}

    running(app, "small", only("three", placement={"k": 3}, parameters={"banner": "blue"}))
    got = decide(app, placement="home", anonymous_id="me")
    assert len(got["items"]) == 3
    assert got["experiment"] == {
        "id": "small",
        "variant": "three",
        "parameters": {"banner": "blue"},
    }

    running(app, "small", only("plain", personalized=False))
    got = decide(app, placement="home", anonymous_id="me")
    assert got["personalized"] is False and got["experiment"]["variant"] == "plain"
    assert got["items"] and {i["source"] for i in got["items"]} <= {"trending_now", "popular"}
    assert record(app, got["decision_id"])["personalized"] is False

    running(app, "small", only("swap", models={"personal": "popular"}))
    got = decide(app, placement="home", anonymous_id="me")
    sources = {i["source"] for i in got["items"]}
    assert got["personalized"] and "personal" not in sources and "popular" in sources


def test_a_uniform_offer_policy_variant(app: AppHarness) -> None:
    seed(app)
    for name in ("ship", "ten"):
        offer = (
            {"kind": "free_shipping"} if name == "ship" else {"kind": "percent_off", "value": 10}
        )
        assert (
            app.client.put(f"/v1/offers/{name}", json=offer, headers=app.admin()).status_code == 200
        )
    running(app, "offers", only("uniform", offer_policy="uniform"), placements=("cart",))
    got = decide(app, placement="cart", anonymous_id="shopper", offers=1)
    assert got["experiment"]["variant"] == "uniform"
    assert [o["probability"] for o in got["offers"]] == [0.5]


def test_phases_status_and_deletion(app: AppHarness) -> None:
    seed(app)
    assert running(app, "hero", HALF, status="draft")["phase"] == 1
    assert "experiment" not in decide(app, placement="home", anonymous_id="v1")
    started = running(app, "hero", HALF, name="Hero banner")  # a draft started: same phase
    assert started["phase"] == 1 and started["name"] == "Hero banner"
    assert decide(app, placement="home", anonymous_id="v1")["experiment"]["id"] == "hero"
    moved = running(
        app, "hero", [{"id": "control", "weight": 0.2}, {"id": "treatment", "weight": 0.8}]
    )
    assert moved["phase"] == 2 and moved["phase_started_at"] > started["phase_started_at"]
    assert moved["created_at"] == started["created_at"]
    answer = decide(app, placement="home", anonymous_id="v1")
    assert answer["experiment"]["variant"] == assign(
        "hero", 2, [("control", 0.2), ("treatment", 0.8)], "a:v1"
    )
    assert record(app, answer["decision_id"])["experiment"]["phase"] == 2
    assert running(app, "hero", HALF, status="stopped")["phase"] == 3
    assert "experiment" not in decide(app, placement="home", anonymous_id="v1")
    listed = app.client.get("/v1/experiments", headers=app.admin()).json()["experiments"]
    assert [e["experiment_id"] for e in listed] == ["hero"]
    assert app.client.delete("/v1/experiments/hero", headers=app.admin()).status_code == 204
    assert app.client.get("/v1/experiments/hero", headers=app.admin()).status_code == 404
    assert app.client.delete("/v1/experiments/hero", headers=app.admin()).status_code == 404
    app.wait_idle()
    assert {u.phase for u in app.storage.exposures.units("hero")} == {1, 2}  # kept
    assert running(app, "hero", HALF)["phase"] == 3  # after the phases kept


def test_overlap_and_invalid_definitions_are_refused(app: AppHarness) -> None:
    running(app, "one", HALF, placements=("home", "cart"))
    clash = put(app, "two", placements=["cart"], variants=HALF, control="control")
    assert clash.status_code == 409 and "'one'" in clash.json()["detail"]
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert put(app, "two", placements=["cart"], variants=HALF, control="control",
               status="draft").status_code == 200  # fmt: skip
    bad = {
        "weights": ({"variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.4}]}, "sum to"),
        "twice": ({"variants": [{"id": "a", "weight": 0.5}, {"id": "a", "weight": 0.5}]}, "twice"),
        "control": ({"control": "nobody"}, "control"),
        "placement": ({"placements": ["nowhere"]}, "nowhere"),
        "unknown": ({"colour": "red"}, "colour"),
        "source": ({"variants": [{"id": "control", "weight": 0.5},
                                 {"id": "b", "weight": 0.5, "models": {"personal": "nope"}}]}, "nope"),
        "override": ({"variants": [{"id": "control", "weight": 0.5},
                                   {"id": "b", "weight": 0.5, "placement": {"k": 0}}]}, "k"),
    }  # fmt: skip
    for name, (changes, said) in bad.items():
        body = {"placements": ["search"], "variants": HALF, "control": "control", **changes}
        got = app.client.put(f"/v1/experiments/{name}", json=body, headers=app.admin())
        assert got.status_code == 422, (name, got.text)
        assert said in got.json()["detail"], (name, got.json())
    reserved = put(app, HOLDOUT_ID, placements=["search"], variants=HALF, control="control")
    assert reserved.status_code == 409 and "holdout" in reserved.json()["detail"]
    assert app.client.put("/v1/experiments/x", content=b"{", headers=app.admin()).status_code == 400
    assert app.client.get("/v1/experiments", headers=app.ingest()).status_code == 403


def test_the_global_holdout(app: AppHarness) -> None:
    seed(app)
    h = app.admin()
    assert app.client.get("/v1/holdout", headers=h).status_code == 404
    plain = decide(app, placement="home", anonymous_id="v1")
    assert "holdout" not in record(app, plain["decision_id"])
    for wrong in ({"share": 0.6}, {"share": -0.1}, {"share": 0.1, "extra": 1}, {}):
        assert app.client.put("/v1/holdout", json=wrong, headers=h).status_code == 422
    got = app.client.put("/v1/holdout", json={"share": 0.5}, headers=h)
    assert got.status_code == 200 and got.json()["holdout"]["phase"] == 1
    running(app, "hero", HALF)
    kept_out = [n for n in range(40) if held_out(0.5, 1, f"a:h{n}")]
    assert 5 < len(kept_out) < 35
    for n in range(40):
        answer = decide(app, placement="home", anonymous_id=f"h{n}")
        logged = record(app, answer["decision_id"])
        if n in kept_out:
            assert answer["personalized"] is False and "experiment" not in answer
            assert logged["holdout"] is True and "experiment" not in logged
            other = decide(app, placement="cart", anonymous_id=f"h{n}")
            assert other["personalized"] is False
        else:
            assert answer["personalized"] is True and answer["experiment"]["id"] == "hero"
            assert logged["holdout"] is False
    app.wait_idle()
    groups = {u.unit: u.variant for u in app.storage.exposures.units(HOLDOUT_ID)}
    assert {u for u, v in groups.items() if v == HELD_OUT} == {f"a:h{n}" for n in kept_out}
    assert (
        app.client.put("/v1/holdout", json={"share": 0.1}, headers=h).json()["holdout"]["phase"]
        == 2
    )
    assert app.client.delete("/v1/holdout", headers=h).status_code == 204
    assert app.client.delete("/v1/holdout", headers=h).status_code == 404
    answer = decide(app, placement="home", anonymous_id=f"h{kept_out[0]}")
    assert answer["personalized"] is True
    assert "holdout" not in record(app, answer["decision_id"])


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("to=9999-12-31", "to must be between 1900-01-01 and 9000-01-01"),
        ("to=0001-01-01", "to must be between 1900-01-01 and 9000-01-01"),
        ("phase=1&colour=red", "unknown parameter 'colour'"),
        ("pre-days=3", "unknown parameter 'pre-days'"),
    ],
)
def test_bad_results_parameters_are_400_problems(app: AppHarness, query: str, says: str) -> None:
    running(app, "hero", [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}])
    got = app.client.get(f"/v1/experiments/hero/results?{query}", headers=app.admin())
    assert got.status_code == 400, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert says in got.json()["detail"]


def test_results_without_units_claim_no_cuped(app: AppHarness) -> None:
    """An order before anyone was exposed is no pre-exposure period of anyone."""
    running(app, "hero", [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}])
    send(app, {"event_id": "o1", "type": "order_completed", "customer_id": "c9",
               "properties": {"order_id": "o1", "lines": [{"item_id": "x", "quantity": 1,
                                                           "price": 5}]}})  # fmt: skip
    got = app.client.get("/v1/experiments/hero/results", headers=app.admin())
    assert got.status_code == 200, got.text
    document = got.json()
    assert [v["units"] for v in document["variants"]] == [0, 0]
    assert document["cuped"] is False and document["window"]["from"] is None
