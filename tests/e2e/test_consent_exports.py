"""Consent in exports and the command line's audited actions: a customer who withdrew
the export's purpose is left out of segment exports (API, command line through the server
and on its own) and of batch recommendation files; ``keys create|revoke`` are in the
audit log, through the server and without one."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from retailor.privacy.audit import target_hash
from retailor.storage.files.installation import FileInstallationStore
from tests.conftest import start_server, stop_server


def retailor(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "retailor", *args, "--data", str(data)],
                          capture_output=True, text=True, timeout=180)  # fmt: skip


def order(n: int, customer: str, item: str) -> dict[str, Any]:
    return {"event_id": f"o{n}", "type": "order_completed", "customer_id": customer,
            "timestamp": f"2026-01-{n + 1:02d}T10:00:00Z",
            "properties": {"order_id": f"O{n}", "lines": [{"item_id": item, "quantity": 1, "price": 40.0}]}}  # fmt: skip


def exported(text: str) -> list[str]:
    return [r["customer_id"] for r in csv.DictReader(io.StringIO(text))]


def test_withdrawn_customers_are_left_out_and_key_changes_are_audited(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        with httpx.Client(base_url=server.url, headers=server.admin()) as client:
            items = [{"item_id": f"sku{n}", "category": "Shoes"} for n in range(4)]
            assert client.put("/v1/catalog/items", json={"items": items}).is_success
            orders = [order(n, who, f"sku{n % 4}") for n, who in
                      enumerate(["amy", "bob", "cid", "amy", "bob", "cid", "dan"])]  # fmt: skip
            assert client.post("/v1/events", json={"events": orders}).status_code == 200
            # bob says no to marketing email; cid to personalization; dan yes to email
            for who, purpose, granted in (("bob", "marketing_email", False),
                                          ("cid", "personalization", False),
                                          ("dan", "marketing_email", True)):  # fmt: skip
                body = {"purpose": purpose, "granted": granted, "source": "preference_center"}
                got = client.put(f"/v1/customers/{who}/consent", json=body)
                assert got.status_code == 200, got.text
            buyers = {"all": [{"trait": "order_count", "op": "gte", "value": 1}]}
            assert client.put("/v1/segments/buyers", json=buyers).status_code == 200
            page = client.get("/v1/customers", params={"segment": "buyers"}).json()
            assert page["total"] == 3
            assert [c["customer_id"] for c in page["customers"]] == ["amy", "cid", "dan"]
            personal = client.get(
                "/v1/customers", params={"segment": "buyers", "purpose": "personalization"}
            )
            assert [c["customer_id"] for c in personal.json()["customers"]] == ["amy", "bob", "dan"]
            members = client.get("/v1/segments/buyers/members").json()
            assert members["members"] == ["amy", "bob", "cid", "dan"]  # the segment as it is
            refused = client.get("/v1/customers", params={"segment": "buyers", "purpose": "x"})
            assert refused.status_code == 422

            through = retailor(data, "segments", "export", "buyers", "--output", "-")
            assert through.returncode == 0, through.stderr
            assert exported(through.stdout) == ["amy", "cid", "dan"]
            only_email = retailor(data, "segments", "export", "buyers", "--output", "-",
                                  "--purpose", "marketing_email")  # fmt: skip
            assert exported(only_email.stdout) == ["amy", "cid", "dan"]

            created = retailor(data, "keys", "create", "--scope", "view")
            assert created.returncode == 0, created.stderr
            keys = retailor(data, "keys", "list", "--json").stdout.splitlines()
            view_id = next(json.loads(k)["key_id"] for k in keys if '"view"' in k)
            entries = client.get("/v1/audit", params={"action": "keys."}).json()["entries"]
            assert [(e["key_id"], e["action"], e["status"]) for e in entries] == [
                ("cli", "keys.create", 200)
            ]
            trained = retailor(data, "train", "--models", "popularity")
            assert trained.returncode == 0, trained.stderr
    finally:
        stop_server(server)
    salt = FileInstallationStore(data).get("identity.salt")
    assert salt is not None and entries[0]["target_hash"] == target_hash(view_id, salt)

    local = retailor(data, "segments", "export", "buyers", "--output", "-")
    assert local.returncode == 0, local.stderr
    assert exported(local.stdout) == ["amy", "cid", "dan"]
    everyone = retailor(
        data, "segments", "export", "buyers", "--output", "-", "--purpose", "analytics"
    )
    assert exported(everyone.stdout) == ["amy", "bob", "cid", "dan"]

    out = tmp_path / "campaign.csv"
    done = retailor(
        data, "recommend", "--all", "--k", "2", "--model", "popularity", "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert {r["customer_id"] for r in rows} == {"amy", "cid", "dan"}
    assert "1 customers left out" in done.stderr.replace(",", "")
    asked = tmp_path / "asked.csv"
    asked.write_text("customer_id\nbob\ndan\nnewcomer\n")
    done = retailor(data, "recommend", "--customers", str(asked), "--model", "popularity",
                    "--purpose", "marketing_email", "--output", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {r["customer_id"] for r in csv.DictReader(out.open())} == {"dan", "newcomer"}

    revoked = retailor(data, "keys", "revoke", view_id)
    assert revoked.returncode == 0, revoked.stderr
    assert retailor(data, "keys", "revoke", "key_view_nothing").returncode != 0
    listed = retailor(data, "audit", "--json", "--action", "keys.")
    assert listed.returncode == 0, listed.stderr
    got = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["key_id"], e["action"], e["status"]) for e in got] == [
        ("cli", "keys.revoke", 404),
        ("cli", "keys.revoke", 200),
        ("cli", "keys.create", 200),
    ]
    assert view_id not in listed.stdout
    about = retailor(data, "audit", "--json", "--target", view_id)
    assert [json.loads(line)["action"] for line in about.stdout.splitlines()] == [
        "keys.revoke",
        "keys.create",
    ]
    table = retailor(data, "audit")
    assert table.returncode == 0 and "PUT /v1/customers/{customer_id}/consent" in table.stdout
