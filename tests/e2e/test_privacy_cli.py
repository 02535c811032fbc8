"""``retailor privacy``: export, erase (with the data directory to itself, and through a
running server), status and lift; bad input is a clear message and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from tests.conftest import start_server, stop_server
from tests.e2e.test_erasure import CUSTOMER, EMAIL, person_events


def retailor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *args], capture_output=True, text=True, timeout=300
    )


def test_export_erase_and_lift_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        sent = httpx.post(f"{server.url}/v1/events", json={"events": person_events()},
                          headers=server.admin(), timeout=30)  # fmt: skip
        assert sent.status_code == 200
    finally:
        stop_server(server)
    out = tmp_path / "person.zip"
    exported = retailor("privacy", "export", "email:" + EMAIL, "-o", str(out), "--data", str(data))
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(out) as archive:
        assert len(archive.read("events.jsonl").splitlines()) == 8
    erased = retailor("privacy", "erase", CUSTOMER, "--data", str(data))
    assert erased.returncode == 0, erased.stderr
    record = json.loads(erased.stdout)
    assert record["status"] == "done" and record["receipt"]["event_log"] == 8
    lines = tmp_path / "late.jsonl"
    late_events = [
        {"event_id": "late-1", "type": "product_viewed", "customer_id": CUSTOMER,
         "properties": {"item_id": "sku-1"}},
        {"event_id": "late-2", "type": "product_viewed", "customer_id": "someone-else",
         "properties": {"item_id": "sku-1"}},
    ]  # fmt: skip
    lines.write_text("".join(json.dumps(e) + "\n" for e in late_events))
    imported = retailor("import", "events", str(lines), "--data", str(data))
    assert imported.returncode == 0, imported.stderr
    late = tmp_path / "late.zip"
    assert (
        retailor("privacy", "export", CUSTOMER, "-o", str(late), "--data", str(data)).returncode
        == 0
    )
    with zipfile.ZipFile(late) as archive:
        assert archive.read("events.jsonl") == b""  # refused at import too
    other = tmp_path / "other.zip"
    retailor("privacy", "export", "someone-else", "-o", str(other), "--data", str(data))
    with zipfile.ZipFile(other) as archive:
        assert len(archive.read("events.jsonl").splitlines()) == 1
    status = retailor("privacy", "status", record["erasure_id"], "--data", str(data))
    assert json.loads(status.stdout)["receipt"] == record["receipt"]
    lifted = retailor("privacy", "lift", "email:" + EMAIL, "--data", str(data))
    assert lifted.returncode == 0, lifted.stderr
    again = retailor("privacy", "lift", "email:" + EMAIL, "--data", str(data))
    assert again.returncode != 0 and "not suppressed" in again.stderr
    missing = retailor("privacy", "status", "er_nope", "--data", str(data))
    assert missing.returncode != 0 and "no erasure" in missing.stderr
    audited = retailor("audit", "--action", "privacy.", "--data", str(data))
    assert audited.returncode == 0, audited.stderr
    for action in ("privacy.export", "privacy.erase", "privacy.lift"):
        assert action in audited.stdout
    assert CUSTOMER not in audited.stdout and EMAIL not in audited.stdout


def test_erase_through_a_running_server_waits_for_the_receipt(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        httpx.post(f"{server.url}/v1/events", json={"events": person_events()},
                   headers=server.admin(), timeout=30)  # fmt: skip
        erased = retailor("privacy", "erase", "email:" + EMAIL, "--data", str(data))
        assert erased.returncode == 0, erased.stderr
        assert json.loads(erased.stdout)["receipt"]["event_log"] == 8
        out = tmp_path / "after.zip"
        exported = retailor("privacy", "export", CUSTOMER, "-o", str(out), "--data", str(data))
        assert exported.returncode == 0, exported.stderr
        with zipfile.ZipFile(out) as archive:
            assert archive.read("events.jsonl") == b""
    finally:
        stop_server(server)
