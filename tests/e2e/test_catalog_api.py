"""The catalog API: batch upsert that keeps fields not given, reads, bad input."""

from __future__ import annotations

from tests.conftest import AppHarness


def put(app: AppHarness, items: list[object]) -> tuple[int, dict[str, object]]:
    r = app.client.put("/v1/catalog/items", json={"items": items}, headers=app.admin())
    return r.status_code, r.json()


def test_upsert_and_partial_update(app: AppHarness) -> None:
    status, body = put(
        app,
        [
            {"item_id": "mug", "name": "Mug", "category": "Home > Kitchen", "brand": "Acme",
             "price": 4.5, "cost": 2.1, "stock": 12, "attributes": {"color": "red"}},
            {"item_id": "lamp", "name": "Lamp", "category": ["Home", "Lighting"], "price": 20},
        ],
    )  # fmt: skip
    assert (status, body) == (200, {"created": 2, "updated": 0, "rejected": []})
    status, body = put(app, [{"item_id": "mug", "stock": 3, "attributes": {"size": "L"}}])
    assert (status, body["updated"]) == (200, 1)
    item = app.client.get("/v1/catalog/items/mug", headers=app.admin()).json()
    assert item["name"] == "Mug" and item["price"] == 4.5 and item["stock"] == 3
    assert item["category"] == ["Home", "Kitchen"]
    assert item["attributes"] == {"color": "red", "size": "L"}
    assert item["created_at"] is not None


def test_bad_items_are_rejected_and_good_ones_stored(app: AppHarness) -> None:
    status, body = put(
        app,
        [{"item_id": "ok", "price": 1}, {"name": "no id"}, {"item_id": "neg", "price": -3},
         {"item_id": "typo", "prise": 3}],
    )  # fmt: skip
    assert status == 422
    assert body["created"] == 1
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}  # type: ignore[attr-defined]
    assert set(reasons) == {1, 2, 3}
    assert "item_id" in reasons[1] and "price" in reasons[2] and "prise" in reasons[3]


def test_missing_item_and_scope(app: AppHarness) -> None:
    r = app.client.get("/v1/catalog/items/nope", headers=app.admin())
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = app.client.put("/v1/catalog/items", json={"items": []}, headers=app.ingest())
    assert r.status_code == 403
    r = app.client.put("/v1/catalog/items", content=b"{", headers=app.admin())
    assert r.status_code == 400
    r = app.client.put("/v1/catalog/items", json=[{"item_id": "x"}], headers=app.admin())
    assert r.status_code == 422


def test_ids_with_a_slash_are_reached_percent_encoded(app: AppHarness) -> None:
    h = app.admin()
    items = {
        "items": [{"item_id": "ABC/12", "name": "Slashed"}, {"item_id": "ABC", "name": "Plain"}]
    }
    assert app.client.put("/v1/catalog/items", json=items, headers=h).status_code == 200
    got = app.client.get("/v1/catalog/items/ABC%2F12", headers=h)
    assert got.status_code == 200 and got.json()["name"] == "Slashed"
    assert app.client.get("/v1/catalog/items/ABC%2f12", headers=h).json()["name"] == "Slashed"
    assert app.client.get("/v1/catalog/items/ABC", headers=h).json()["name"] == "Plain"
    # still one path segment on other routes: a model's answer, not "no resource"
    similar = app.client.get("/v1/items/ABC%2F12/similar", headers=h)
    assert "no resource" not in similar.text
