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
            client.put(
                "/v1/segments/buyers",
                json={"all": [{"trait": "order_count", "op": "gte", "value": 1}]},
            )
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
