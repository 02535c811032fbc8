"""``retailor import``, ``quarantine list`` and ``keys`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retailor.storage.factory import open_storage
from retailor.storage.schema import table_to_events
from tests.conftest import SHARED_DATASETS, start_server, stop_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def retailor(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def stored_events(data: Path) -> dict[str, dict[str, object]]:
    storage = open_storage(f"duckdb://{data / 'retailor.duckdb'}", data)
    try:
        return {
            e.event_id: {"type": e.type.value, "customer_id": e.customer_id, "anonymous_id": e.anonymous_id,
                         "properties": e.properties, "timestamp": e.timestamp}
            for b in storage.events.scan() for e in table_to_events(b)
        }  # fmt: skip
    finally:
        storage.close()


def test_transactions_become_orders_and_refunds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = summary(
        retailor("import", "transactions", FIXTURES / "transactions.csv", "--data", data, "--json")
    )
    assert first == {"accepted": 7, "duplicates": 0, "rejected": 4}
    events = list(stored_events(data).values())
    orders = {e["properties"]["order_id"]: e for e in events}  # type: ignore[index]
    assert orders["536365"]["type"] == "order_completed"
    assert orders["536365"]["customer_id"] == "17850"  # 17850.0 keeps its integral form
    lines = orders["536365"]["properties"]["lines"]  # type: ignore[index]
    assert lines[0] == {"item_id": "85123A", "quantity": 6, "price": 2.55,
                        "Description": "WHITE HANGING HEART T-LIGHT HOLDER", "Country": "United Kingdom"}  # fmt: skip
    assert orders["536365"]["properties"]["revenue"] == pytest.approx(6 * 2.55 + 6 * 3.39)  # type: ignore[index]
    assert orders["536366"]["timestamp"].isoformat() == "2010-12-01T08:28:00+00:00"  # type: ignore[union-attr]
    assert (
        orders["536368"]["customer_id"] is None
        and orders["536368"]["anonymous_id"] == "guest-536368"
    )
    refund = orders["C536383"]
    assert refund["type"] == "order_refunded"
    assert refund["properties"]["lines"][0]["quantity"] == 1  # type: ignore[index]
    assert refund["properties"]["amount"] == pytest.approx(4.65)  # type: ignore[index]
    # re-importing the same file adds nothing
    again = summary(
        retailor("import", "transactions", FIXTURES / "transactions.csv", "--data", data, "--json")
    )
    assert again == {"accepted": 0, "duplicates": 7, "rejected": 4}
    listed = retailor("quarantine", "list", "--data", data, "--json", "--limit", "100")
    reasons = [json.loads(line)["reason"] for line in listed.stdout.splitlines()]
    assert len(reasons) == 8
    assert any("missing item_id" in r for r in reasons)
    assert any("'lots' is not a number" in r for r in reasons)
    assert any("'not a date' is not a date-time" in r for r in reasons)
    assert any("price must not be negative" in r for r in reasons)


def test_mapping_columns_and_missing_columns(tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("basket,client,product,n,unit,when\nb1,c9,p1,2,3.5,2026-01-01 10:00:00\n")
    data = tmp_path / "data"
    result = retailor("import", "transactions", csv, "--data", data)
    assert result.returncode == 2
    assert "needs column(s) order_id" in result.stderr and "--map" in result.stderr
    mapped = retailor(
        "import", "transactions", csv, "--data", data, "--json",
        "--map", "order_id=basket,customer_id=client", "--map", "item_id=product,quantity=n,price=unit,timestamp=when",
    )  # fmt: skip
    assert summary(mapped) == {"accepted": 1, "duplicates": 0, "rejected": 0}
    bad_map = retailor("import", "transactions", csv, "--data", data, "--map", "order_id=nope")
    assert bad_map.returncode == 2 and "nope" in bad_map.stderr
    # JSONL events with other field names: renamed line by line, a bad line only rejected
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text(
        '{"id":"m1","kind":"page_viewed","user":"u1","ts":"2026-11-25T10:00:00Z"}\n'
        "BROKEN\n"
        '{"id":"m2","kind":"page_viewed","user":"u2","ts":"2026-11-25T10:00:00Z"}\n'
    )
    renamed = retailor("import", "events", jsonl, "--data", data, "--json",
                       "--map", "event_id=id,type=kind,customer_id=user,timestamp=ts")  # fmt: skip
    assert summary(renamed) == {"accepted": 2, "duplicates": 0, "rejected": 1}
    assert stored_events(data)["m2"]["customer_id"] == "u2"


def test_unreadable_inputs_are_clear_errors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    missing = retailor("import", "events", tmp_path / "nope.jsonl", "--data", data)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    odd = tmp_path / "x.bin"
    odd.write_bytes(b"\x00\x01")
    unknown = retailor("import", "events", odd, "--data", data)
    assert unknown.returncode == 2 and "--format" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr


def test_events_from_jsonl_csv_and_parquet(tmp_path: Path) -> None:
    data = tmp_path / "data"
    jsonl = summary(
        retailor("import", "events", FIXTURES / "events.jsonl", "--data", data, "--json")
    )
    assert jsonl == {"accepted": 3, "duplicates": 0, "rejected": 2}
    csv = summary(retailor("import", "events", FIXTURES / "events.csv", "--data", data, "--json"))
    assert csv == {"accepted": 2, "duplicates": 0, "rejected": 1}  # r3 has no item_id
    events = stored_events(data)
    assert events["r1"]["customer_id"] == "17850"
    assert events["r1"]["properties"] == {"item_id": "sku-9", "price": 12.5}
    assert events["r2"]["properties"] == {"query": "red mug"}
    table = pa.table({"event_id": ["p1", "p2"], "type": ["page_viewed", "product_viewed"],
                      "customer_id": [1, 2], "path": ["/", "/sale"], "item_id": [None, 22423]})  # fmt: skip
    pq.write_table(table, tmp_path / "events.parquet")
    parquet = summary(
        retailor("import", "events", tmp_path / "events.parquet", "--data", data, "--json")
    )
    assert parquet == {"accepted": 2, "duplicates": 0, "rejected": 0}
    assert stored_events(data)["p2"]["customer_id"] == "2"
    assert stored_events(data)["p2"]["properties"]["item_id"] == "22423"  # type: ignore[index]
    numeric = tmp_path / "numeric.csv"
    numeric.write_text(
        "event_id,type,customer_id,timestamp,item_id\n1001,product_viewed,501,2026-11-25T10:00:00Z,22423\n"
    )
    assert summary(retailor("import", "events", numeric, "--data", data, "--json"))["accepted"] == 1
    assert stored_events(data)["1001"]["properties"] == {"item_id": "22423"}


def test_catalog_import_with_aliases_and_attributes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = summary(
        retailor("import", "catalog", FIXTURES / "catalog.csv", "--data", data, "--json")
    )
    assert result == {"accepted": 2, "duplicates": 0, "rejected": 1}
    storage = open_storage(f"duckdb://{data / 'retailor.duckdb'}", data)
    try:
        mug = storage.catalog.get("sku-1")
    finally:
        storage.close()
    assert mug is not None
    assert (mug.name, mug.category, mug.brand, mug.price, mug.stock) == (
        "Red Mug",
        ["Home", "Kitchen"],
        "Acme",
        9.5,
        120,
    )
    assert mug.attributes == {"color": "red"}


def test_commands_go_through_a_running_server(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        result = summary(
            retailor(
                "import",
                "transactions",
                FIXTURES / "transactions.csv",
                "--data",
                server.data_dir,
                "--json",
            )
        )
        assert result == {"accepted": 7, "duplicates": 0, "rejected": 4}
        r = httpx.get(f"{server.url}/v1/customers/17850/events", headers=server.admin())
        assert {e["properties"]["order_id"] for e in r.json()["events"]} == {"536365", "536366"}
        listed = retailor("quarantine", "list", "--data", server.data_dir, "--json")
        assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 4
        created = retailor("keys", "create", "--data", server.data_dir, "--scope", "ingest")
        key = created.stdout.strip()
        assert key.startswith("rk_ingest_")
        ok = httpx.post(f"{server.url}/v1/events", headers={"Authorization": f"Bearer {key}"},
                        json={"event_id": "k1", "type": "page_viewed", "customer_id": "c"})  # fmt: skip
        assert ok.status_code == 200  # a key made while the server runs works at once
        catalog = summary(
            retailor(
                "import", "catalog", FIXTURES / "catalog.csv", "--data", server.data_dir, "--json"
            )
        )
        assert catalog["accepted"] == 2
    finally:
        stop_server(server)


def test_keys_list_and_revoke(tmp_path: Path) -> None:
    data = tmp_path / "data"
    secret = retailor(
        "keys", "create", "--data", data, "--scope", "admin", "--name", "ops"
    ).stdout.strip()
    listed = [
        json.loads(line)
        for line in retailor("keys", "list", "--data", data, "--json").stdout.splitlines()
    ]
    assert len(listed) == 1 and listed[0]["scope"] == "admin" and listed[0]["name"] == "ops"
    assert secret not in json.dumps(listed) and "secret_hash" not in listed[0]
    assert retailor("keys", "revoke", "--data", data, listed[0]["key_id"]).returncode == 0
    assert retailor("keys", "revoke", "--data", data, "nope").returncode != 0
    other = retailor("keys", "create", "--data", data, "--scope", "ingest").stdout.strip()
    by_secret = retailor("keys", "revoke", "--data", data, other)  # the key itself works too
    assert by_secret.returncode == 0 and other not in by_secret.stdout


@pytest.mark.skipif(
    not (SHARED_DATASETS / "online-retail").exists(), reason="../shared/datasets not present"
)
def test_online_retail_history(tmp_path: Path) -> None:
    import duckdb

    path = SHARED_DATASETS / "online-retail" / "online_retail.csv.gz"
    data = tmp_path / "data"
    result = summary(retailor("import", "transactions", path, "--data", data, "--json"))
    expected = duckdb.sql(
        f"SELECT count(DISTINCT (InvoiceNo, Quantity < 0)) FROM read_csv('{path}') WHERE UnitPrice >= 0"
    ).fetchall()[0][0]
    assert result == {"accepted": expected, "duplicates": 0, "rejected": 2}
    assert (
        summary(retailor("import", "transactions", path, "--data", data, "--json"))["duplicates"]
        == expected
    )


def test_csv_identifiers_keep_their_leading_zeros(tmp_path: Path) -> None:
    data = tmp_path / "data"
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("item_id,name,price\n00123,Zero item,2.5\n")
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,type,customer_id,timestamp,item_id\n0009,product_viewed,007,2026-11-25T10:00:00Z,00123\n"
    )
    assert summary(retailor("import", "catalog", catalog, "--data", data, "--json"))
    assert summary(retailor("import", "events", events, "--data", data, "--json"))["accepted"] == 1
    stored = stored_events(data)["0009"]
    assert stored["customer_id"] == "007" and stored["properties"] == {"item_id": "00123"}
    storage = open_storage(f"duckdb://{data / 'retailor.duckdb'}", data)
    try:
        assert [item.item_id for item in storage.catalog.items()] == ["00123"]
    finally:
        storage.close()


def test_rejected_rows_keep_their_line_and_event_id(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv = tmp_path / "events.csv"
    csv.write_text(
        "event_id,type,customer_id,timestamp,item_id\n"
        "e1,product_viewed,c1,2026-11-25T10:00:00Z,i1\n"
        "e2,product_viewed,c1\n"
        "e3,product_viewed,c1,2026-11-25T10:00:00Z,\n"
    )
    assert summary(retailor("import", "events", csv, "--data", data, "--json")) == {
        "accepted": 1, "duplicates": 0, "rejected": 2,
    }  # fmt: skip
    storage = open_storage(f"duckdb://{data / 'retailor.duckdb'}", data)
    try:
        kept = {r.reason.split(":")[0]: r for r in storage.quarantine.list()}
    finally:
        storage.close()
    assert kept["line 3"].index == 3  # the broken line, by its number in the file
    [missing_item] = [r for r in kept.values() if r.event_id == "e3"]
    assert "item_id" in missing_item.reason
