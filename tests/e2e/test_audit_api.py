"""The audit log over HTTP: admin changes, privacy and customer reads are recorded with
the key, the route template, the hashed target and the status; ingest and serving are
not; only admin keys read it."""

from __future__ import annotations

from typing import Any

from retailor.domain.access import Scope
from retailor.privacy.audit import target_hash
from retailor.privacy.keys import create_key
from tests.conftest import AppHarness


def key_id_of(app: AppHarness, secret: str) -> str:
    from retailor.privacy.keys import hash_secret

    found = app.storage.keys.find(hash_secret(secret))
    assert found is not None
    return found.key_id


def audit(app: AppHarness, **params: Any) -> list[dict[str, Any]]:
    got = app.client.get("/v1/audit", params=params, headers=app.admin())
    assert got.status_code == 200, got.text
    return got.json()["entries"]  # type: ignore[no-any-return]


def salt(app: AppHarness) -> str:
    return app.client.app.state.services.profiles.salt  # type: ignore[attr-defined,no-any-return]


def test_admin_changes_and_customer_reads_are_audited_with_hashed_targets(app: AppHarness) -> None:
    admin_id = key_id_of(app, app.admin_key)
    _, view = create_key(app.storage.keys, Scope.VIEW)
    _, serve = create_key(app.storage.keys, Scope.SERVE)
    view_id = key_id_of(app, view)
    events = [{"event_id": "e1", "type": "product_viewed", "customer_id": "ada@example.com",
               "properties": {"item_id": "sku-1"}}]  # fmt: skip
    assert (
        app.client.post("/v1/events", json={"events": events}, headers=app.ingest()).status_code
        == 200
    )
    definition = {"all": [{"trait": "order_count", "op": "gte", "value": 1}]}
    assert (
        app.client.put("/v1/segments/buyers", json=definition, headers=app.admin()).status_code
        == 200
    )
    experiment = {"placements": ["home"], "control": "a",
                  "variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}]}  # fmt: skip
    assert (
        app.client.put("/v1/experiments/hero", json=experiment, headers=app.admin()).status_code
        == 200
    )
    assert app.client.delete("/v1/experiments/hero", headers=app.admin()).status_code == 204
    viewer = {"Authorization": f"Bearer {view}"}
    assert app.client.get("/v1/customers/ada@example.com", headers=viewer).status_code == 200
    assert app.client.get("/v1/customers/nobody-known", headers=viewer).status_code == 404
    # serving traffic and plain reads are not audited
    asked = {"placement": "home", "customer_id": "ada@example.com"}
    assert (
        app.client.post(
            "/v1/decisions", json=asked, headers={"Authorization": f"Bearer {serve}"}
        ).status_code
        == 200
    )
    assert app.client.get("/v1/segments/buyers", headers=app.admin()).status_code == 200

    entries = audit(app)
    actions = [(e["key_id"], e["action"], e["status"]) for e in entries]
    assert actions == [
        (view_id, "GET /v1/customers/{customer_id}", 404),
        (view_id, "GET /v1/customers/{customer_id}", 200),
        (admin_id, "DELETE /v1/experiments/{experiment_id}", 204),
        (admin_id, "PUT /v1/experiments/{experiment_id}", 200),
        (admin_id, "PUT /v1/segments/{segment_id}", 200),
    ]
    assert entries[1]["target_hash"] == target_hash("ada@example.com", salt(app))
    assert entries[4]["target_hash"] == target_hash("buyers", salt(app))
    text = str(entries)
    assert "ada@example.com" not in text and "nobody-known" not in text and "buyers" not in text
    assert all(e["at"].endswith(("Z", "+00:00")) for e in entries)
    # the read of the log is itself recorded; filters by action prefix, key and target
    assert audit(app, limit=1)[0]["action"] == "GET /v1/audit"
    assert [e["status"] for e in audit(app, action="GET /v1/customers/")] == [404, 200]
    assert {e["key_id"] for e in audit(app, key_id=view_id)} == {view_id}
    about = audit(app, target="hero")
    assert [e["action"] for e in about] == [
        "DELETE /v1/experiments/{experiment_id}",
        "PUT /v1/experiments/{experiment_id}",
    ]
    assert audit(app, since="2999-01-01") == []


def test_only_admin_keys_read_the_log_and_refusals_are_recorded(app: AppHarness) -> None:
    _, view = create_key(app.storage.keys, Scope.VIEW)
    refused = app.client.get("/v1/audit", headers={"Authorization": f"Bearer {view}"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert app.client.get("/v1/audit").status_code == 401
    assert app.client.get("/v1/audit?colour=red", headers=app.admin()).status_code == 400
    assert app.client.get("/v1/audit?since=yesterday", headers=app.admin()).status_code == 400
    assert app.client.get("/v1/audit?limit=0", headers=app.admin()).status_code == 422
    entries = audit(app, action="GET /v1/audit")  # answered before this read: not in it
    assert [e["status"] for e in entries] == [422, 400, 400, 401, 403]
    assert entries[-1]["key_id"] == key_id_of(app, view) and entries[-2]["key_id"] is None


def test_only_the_control_token_records_command_actions(app: AppHarness) -> None:
    got = app.client.post("/v1/audit", json={"action": "keys.create", "target": "key_x"},
                          headers=app.admin())  # fmt: skip
    assert got.status_code == 403
    assert audit(app, action="keys.") == []
