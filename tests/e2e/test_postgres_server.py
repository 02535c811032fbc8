"""Servers on PostgreSQL: the truth lives in the database, so a second server on another
data directory (another host: no shared disk) finds the events, catalog, keys and
decisions the first one stored, and an event id is stored once across both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import event, start_server, stop_server


def test_a_second_server_shares_the_first_ones_truth(postgres_dsn: str, tmp_path: Path) -> None:
    first = start_server(tmp_path / "host-a", storage_dsn=postgres_dsn)
    try:
        with httpx.Client(base_url=first.url, timeout=10) as client:
            sent = client.post(
                "/v1/events",
                json={"events": [event("e1"), event("e2", customer_id="c2"), event("e1")]},
                headers=first.ingest(),
            )
            assert sent.json() == {"accepted": 2, "duplicates": 1, "rejected": []}
            items = {"items": [{"item_id": "sku-1", "name": "Mug", "price": 4.5}]}
            assert client.put("/v1/catalog/items", json=items, headers=first.admin()).is_success
            decided = client.post(
                "/v1/decisions", json={"placement": "home", "customer_id": "c1"},
                headers=first.admin(),
            )  # fmt: skip
            decision_id = decided.json()["decision_id"]
    finally:
        stop_server(first)  # a clean stop writes the decision log

    created = subprocess.run(
        [sys.executable, "-m", "retailor", "keys", "create", "--scope", "admin",
         "--data", str(tmp_path / "cli")],
        env={**os.environ, "RETAILOR_STORAGE": postgres_dsn},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    cli_key = {"Authorization": f"Bearer {created.stdout.strip()}"}
    second = start_server(tmp_path / "host-b", storage_dsn=postgres_dsn)
    try:
        with httpx.Client(base_url=second.url, timeout=10) as client:
            timeline = client.get("/v1/customers/c1/events", headers=cli_key)
            assert [e["event_id"] for e in timeline.json()["events"]] == ["e1"]
            item = client.get("/v1/catalog/items/sku-1", headers=first.admin())
            assert item.json()["name"] == "Mug"
            logged = client.get(f"/v1/decisions/{decision_id}", headers=second.admin())
            assert logged.json()["decision"]["customer"] == "c1"
            again = client.post("/v1/events", json=event("e2"), headers=second.ingest())
            assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    finally:
        stop_server(second)
    assert not (tmp_path / "host-b" / "keys.json").exists()
    assert not (tmp_path / "host-b" / "retailor.duckdb").exists()
