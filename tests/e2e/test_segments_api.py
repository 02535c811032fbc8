"""Segments over HTTP and exported as CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import AppHarness, start_server, stop_server


def order(n: int, customer: str, day: int, item: str = "boot") -> dict[str, object]:
    return {"event_id": f"o{n}", "type": "order_completed", "customer_id": customer,
            "timestamp": f"2026-01-{day:02d}T10:00:00Z",
            "properties": {"order_id": f"O{n}", "lines": [{"item_id": item, "quantity": 1, "price": 40.0}]}}  # fmt: skip


def load(app: AppHarness) -> None:
    app.client.put(
        "/v1/catalog/items",
        json={"items": [{"item_id": "boot", "category": "Fashion > Shoes"}]},
        headers=app.admin(),
    )
    events = [order(1, "amy", 2), order(2, "amy", 3), order(3, "bob", 4),
              {"event_id": "i1", "type": "identify", "customer_id": "amy", "timestamp": "2026-01-05T00:00:00Z",
               "properties": {"traits": {"email": "amy@example.com"}}}]  # fmt: skip
    assert (
        app.client.post("/v1/events", json={"events": events}, headers=app.ingest()).status_code
        == 200
    )


def test_define_read_and_list_members(app: AppHarness) -> None:
    load(app)
    definition = {"all": [{"event": "order_completed", "category": "Shoes", "min_count": 2}]}
    r = app.client.put("/v1/segments/shoe-fans", json=definition, headers=app.admin())
    assert r.status_code == 200, r.text
    assert r.json()["size"] == 1 and r.json()["definition"] == definition
    assert r.json()["status"] == "ready"
    assert app.client.get("/v1/segments/shoe-fans", headers=app.admin()).json()["size"] == 1
    members = app.client.get("/v1/segments/shoe-fans/members?limit=10", headers=app.admin()).json()
    assert members == {
        "segment_id": "shoe-fans",
        "total": 1,
        "members": ["amy"],
        "next_offset": None,
    }
    customers = app.client.get("/v1/customers?segment=shoe-fans", headers=app.admin()).json()
    assert (
        customers["customers"][0]["customer_id"] == "amy"
        and customers["customers"][0]["traits"]["order_count"] == 2
    )
    assert app.client.get("/v1/customers/amy", headers=app.admin()).json()["segments"] == [
        "shoe-fans"
    ]
    # a new event moves bob into the segment at once
    app.client.post("/v1/events", json=order(4, "bob", 6), headers=app.ingest())
    assert app.client.get("/v1/customers/bob", headers=app.admin()).json()["segments"] == [
        "shoe-fans"
    ]
    assert app.client.get("/v1/segments/shoe-fans", headers=app.admin()).json()["size"] == 2


def test_yaml_definitions_and_errors(app: AppHarness) -> None:
    load(app)
    yaml_body = b"all:\n  - trait: order_count\n    op: gte\n    value: 1\n"
    r = app.client.put(
        "/v1/segments/buyers",
        content=yaml_body,
        headers={**app.admin(), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 200 and r.json()["size"] == 2
    r = app.client.put(
        "/v1/segments/bad", json={"all": [{"trait": "shoe_size", "value": 9}]}, headers=app.admin()
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["where"] == "$.all[0].trait" and "shoe_size" in r.json()["detail"]
    assert app.client.put("/v1/segments/bad", content=b"{", headers=app.admin()).status_code == 400
    assert app.client.get("/v1/segments/missing", headers=app.admin()).status_code == 404
    assert app.client.get("/v1/segments/missing/members", headers=app.admin()).status_code == 404
    assert app.client.get("/v1/customers", headers=app.admin()).status_code == 422
    endless = b"all:\n  - trait: order_count\n    op: gte\n    value: .inf\n"
    r = app.client.put(
        "/v1/segments/endless",
        content=endless,
        headers={**app.admin(), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 422 and r.json()["where"] == "$.all[0].value"


def test_export_csv_local_and_through_the_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        with httpx.Client(base_url=server.url, headers=server.admin()) as client:
            client.put(
                "/v1/catalog/items",
                json={"items": [{"item_id": "boot", "category": "Fashion > Shoes"}]},
            )
            client.post("/v1/events", json={"events": [order(1, "amy", 2), order(2, "bob", 3)]})
        definition = tmp_path / "buyers.yaml"
        definition.write_text("all:\n  - trait: order_count\n    op: gte\n    value: 1\n")
        put = subprocess.run([sys.executable, "-m", "retailor", "segments", "put", "buyers", str(definition), "--data", str(data)],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert put.returncode == 0, put.stderr  # through the server, which starts using it
        through = subprocess.run([sys.executable, "-m", "retailor", "segments", "export", "buyers", "--data", str(data), "--output", "-"],
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
        assert through.returncode == 0, through.stderr
    finally:
        stop_server(server)
    rows = list(csv.DictReader(io.StringIO(through.stdout)))
    assert [r["customer_id"] for r in rows] == ["amy", "bob"] and rows[0]["order_count"] == "1"
    out = tmp_path / "buyers.csv"
    local = subprocess.run([sys.executable, "-m", "retailor", "segments", "export", "buyers", "--data", str(data), "--output", str(out)],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert local.returncode == 0, local.stderr
    assert list(csv.DictReader(out.open()))[1]["customer_id"] == "bob"


def test_reads_and_decisions_use_no_event_log_and_see_the_last_event(app: AppHarness) -> None:
    load(app)
    shoe_fans = {"all": [{"event": "order_completed", "category": "Shoes", "min_count": 2}]}
    assert app.client.put("/v1/segments/shoe-fans", json=shoe_fans, headers=app.admin()).is_success
    pinned = {"sources": [{"source": "popular"}], "fallback": [], "k": 1,
              "rules": [{"kind": "pin", "item_id": "boot", "position": 1,
                         "when": {"segments": ["shoe-fans"]}},
                        {"kind": "exclude", "match": {"items": ["boot"]},
                         "when": {"not_segments": ["shoe-fans"]}}]}  # fmt: skip
    assert app.client.put("/v1/placements/fans", json=pinned, headers=app.admin()).is_success
    log = app.storage.events
    reads: list[str] = []
    for name in ("scan", "timeline"):
        real = getattr(log, name)
        setattr(log, name, lambda *a, _n=name, _real=real, **k: reads.append(_n) or _real(*a, **k))

    def decided(customer: str) -> list[str]:
        body = {"placement": "fans", "customer_id": customer}
        answer = app.client.post("/v1/decisions", json=body, headers=app.admin()).json()
        return [item["item_id"] for item in answer["items"]]

    try:
        assert app.client.get("/v1/customers/amy", headers=app.admin()).json()["segments"] == [
            "shoe-fans"
        ]
        assert decided("amy") == ["boot"] and "boot" not in decided("bob")
        assert reads == []  # neither the read nor the decisions looked at the event log
        # bob's second shoe order: in the segment on the very next read and decision
        app.client.post("/v1/events", json=order(4, "bob", 6), headers=app.ingest())
        assert decided("bob") == ["boot"]
        assert app.client.get("/v1/customers/bob", headers=app.admin()).json()["segments"] == [
            "shoe-fans"
        ]
        assert reads == []
    finally:
        for name in ("scan", "timeline"):
            delattr(log, name)


def test_oversized_definitions_are_refused_and_the_server_keeps_answering(
    app: AppHarness,
) -> None:
    load(app)
    h = app.admin()
    huge = {"all": [{"trait": "attributes.email", "op": "in",
                     "value": [f"customer-{n:07d}@example.com" for n in range(20_000)]}]}  # fmt: skip
    r = app.client.put("/v1/segments/huge", json=huge, headers=h)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert "262144" in r.json()["detail"]
    long_list = {"all": [{"trait": "attributes.city", "op": "in",
                          "value": [str(n) for n in range(10_001)]}]}  # fmt: skip
    r = app.client.put("/v1/segments/long", json=long_list, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "$.all[0].value"
    assert "10,000" in r.json()["detail"]
    many = {"any": [{"trait": "order_count", "op": "eq", "value": n} for n in range(250)]}
    r = app.client.put("/v1/segments/many", json=many, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "$.any[199]"
    counting = {"all": [{"event": "page_viewed", "min_count": n} for n in range(21)]}
    r = app.client.put("/v1/segments/counting", json=counting, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "$.all[20]"
    assert app.client.get("/healthz").status_code == 200
    for refused in ("huge", "long", "many", "counting"):
        assert app.client.get(f"/v1/segments/{refused}", headers=h).status_code == 404
    fine = {"all": [{"trait": "attributes.city", "op": "in",
                     "value": [str(n) for n in range(10_000)]}]}  # fmt: skip
    r = app.client.put("/v1/segments/fine", json=fine, headers=h)
    assert r.status_code == 200 and r.json()["size"] == 0
