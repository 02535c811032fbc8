"""Retention: events older than their type's ``retention_days`` are removed (through the
API and the command line), what derives from them is derived again, and no byte of them
is left in the data directory; other types and recent events stay."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.conftest import start_server, stop_server
from tests.privacy_scan import scan_data_dir

OLD_PAGE = "https://shop.example/long-gone-page-4471"


def events() -> list[dict[str, object]]:
    now = datetime.now(UTC)
    old = (now - timedelta(days=200)).isoformat()
    recent = (now - timedelta(days=2)).isoformat()
    return [
        {"event_id": "p-old", "type": "page_viewed", "customer_id": "r1", "timestamp": old,
         "properties": {"url": OLD_PAGE}},
        {"event_id": "p-new", "type": "page_viewed", "customer_id": "r1", "timestamp": recent,
         "properties": {"url": "https://shop.example/new"}},
        {"event_id": "v-old", "type": "product_viewed", "customer_id": "r1", "timestamp": old,
         "properties": {"item_id": "sku-1"}},
    ]  # fmt: skip


def kept(server_url: str, headers: dict[str, str]) -> set[str]:
    answer = httpx.get(f"{server_url}/v1/customers/r1/events", headers=headers, timeout=30)
    return {e["event_id"] for e in answer.json()["events"]}


def test_retention_through_the_api_leaves_no_byte(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "retailor.toml").write_text("[retention_days]\npage_viewed = 30\n")
    server = start_server(data)
    try:
        sent = httpx.post(f"{server.url}/v1/events", json={"events": events()},
                          headers=server.admin(), timeout=30)  # fmt: skip
        assert sent.json()["accepted"] == 3
        applied = httpx.post(f"{server.url}/v1/privacy/retention", headers=server.admin(),
                             timeout=120)  # fmt: skip
        assert applied.status_code == 200, applied.text
        assert applied.json() == {"removed": {"page_viewed": 1}}
        assert kept(server.url, server.admin()) == {"p-new", "v-old"}
        again = httpx.post(f"{server.url}/v1/privacy/retention", headers=server.admin())
        assert again.json() == {"removed": {"page_viewed": 0}}
    finally:
        stop_server(server)
    assert scan_data_dir(data, [OLD_PAGE]) == []


def test_retention_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        httpx.post(f"{server.url}/v1/events", json={"events": events()},
                   headers=server.admin(), timeout=30)  # fmt: skip
    finally:
        stop_server(server)
    run = [sys.executable, "-m", "retailor", "privacy", "retention", "--data", str(data)]
    unset = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert unset.returncode != 0 and "no retention is set" in unset.stderr
    (data / "retailor.toml").write_text("[retention_days]\nproduct_viewed = 30\n")
    done = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"removed": {"product_viewed": 1}}
    (data / "retailor.toml").write_text("[retention_days]\npage_seen = 30\n")
    wrong = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert wrong.returncode != 0 and "names no event type: page_seen" in wrong.stderr
