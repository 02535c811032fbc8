"""Report exports honour consent: the rows of a customer who withdrew their analytics
consent are exported without saying whose they are (they still count); the others
keep their ids. Through the API and with the command line on its own."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from tests.conftest import start_server, stop_server


def people(directory: Path) -> tuple[set[str], int]:
    """The ids the exported decisions name, and how many decision rows there are."""
    found: set[str] = set()
    decisions = 0
    for path in (directory / "decisions").rglob("*.parquet"):
        table = pq.read_table(path)
        decisions += table.num_rows
        for column in ("customer", "anonymous_id", "person"):
            found.update(v for v in table.column(column).to_pylist() if v)
    return found, decisions


def test_withdrawn_analytics_consent_leaves_rows_unnamed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, env={"RETAILOR_REPORT_SETTLE_SECONDS": "0"})
    h = server.admin()
    try:
        events = [
            {"event_id": f"v-{who}", "type": "product_viewed", "customer_id": who,
             "properties": {"item_id": "sku-1"}} for who in ("keeps-7", "private-7")
        ] + [
            {"event_id": "c-private", "type": "consent_updated", "customer_id": "private-7",
             "properties": {"purposes": {"analytics": False}}}
        ]  # fmt: skip
        assert (
            httpx.post(f"{server.url}/v1/events", json={"events": events}, headers=h).status_code
            == 200
        )
        for who in ("keeps-7", "private-7"):
            decided = httpx.post(f"{server.url}/v1/decisions",
                                 json={"placement": "home", "customer_id": who}, headers=h)  # fmt: skip
            assert decided.status_code == 200
        for _ in range(50):
            httpx.get(f"{server.url}/v1/reports", headers=h)
            exported = httpx.post(f"{server.url}/v1/reports/export?name=x{_}", headers=h)
            assert exported.status_code == 200, exported.text
            found, decisions = people(data / "exports" / f"x{_}")
            if decisions == 2:
                break
            time.sleep(0.2)
        assert decisions == 2 and "keeps-7" in found
        assert not {"private-7", "a:private-7"} & found
    finally:
        stop_server(server)
    out = tmp_path / "warehouse"
    done = subprocess.run(
        [sys.executable, "-m", "retailor", "report", "export", str(out), "--data", str(data)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found, decisions = people(out)
    assert decisions == 2 and "keeps-7" in found and "private-7" not in found
