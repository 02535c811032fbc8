"""Imports through a running server: batches sized to what the server takes in one
request, split again when it refuses one, and records too large for any request kept in
the quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from retailor.client import Client
from retailor.ingest.bulk.client_sink import ClientSink, RequestLimits
from retailor.ingest.bulk.runner import ImportOptions, run_import
from tests.conftest import start_server, stop_server
from tests.e2e.test_cli_import import retailor, stored_events, summary


def order_lines(path: Path, orders: int, lines: int, bad_rows: int = 0) -> int:
    """A transactions file of ``orders`` orders of ``lines`` lines each, with long product
    names (as real exports have) and ``bad_rows`` rows without an item; returns its size in
    bytes once the orders are encoded as events (about 250 bytes a line)."""
    rows = ["InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"]
    for o in range(orders):
        when = f"2025-{1 + o % 12:02d}-{1 + o % 28:02d} {8 + o % 10:02d}:{o % 60:02d}:00"
        for k in range(lines):
            name = f"HAND PAINTED CERAMIC {k:03d} " + "VINTAGE STYLE FLORAL SERVING BOWL " * 3
            rows.append(f"{700000 + o},SKU{(o * 7 + k) % 4000:05d},{name.strip()},"
                        f"{1 + k % 4},{when},{2.5 + k % 9},{10000 + o % 900},United Kingdom")  # fmt: skip
    rows += [f"{900000 + b},,NO ITEM,1,2025-03-01 10:00:00,1.0,1,France" for b in range(bad_rows)]
    path.write_text("\n".join(rows) + "\n")
    return orders * lines * 250


def test_a_file_larger_than_a_request_goes_through_a_running_server(tmp_path: Path) -> None:
    """The import sends what a running server takes in one request (5 MB by default):
    every order arrives, the report adds up, and the bad rows go to the quarantine."""
    file = tmp_path / "orders.csv"
    assert order_lines(file, orders=3_000, lines=10, bad_rows=2) > 5 * 1024 * 1024
    server = start_server(tmp_path / "data")
    try:
        result = summary(
            retailor("import", "transactions", file, "--data", server.data_dir, "--json")
        )
        assert result == {"accepted": 3_000, "duplicates": 0, "rejected": 2}
        listed = retailor("quarantine", "list", "--data", server.data_dir, "--json")
        reasons = [json.loads(line)["reason"] for line in listed.stdout.splitlines()]
        assert len(reasons) == 2 and all("item_id" in r for r in reasons), reasons
        again = summary(
            retailor("import", "transactions", file, "--data", server.data_dir, "--json")
        )
        assert again == {"accepted": 0, "duplicates": 3_000, "rejected": 2}
    finally:
        stop_server(server)
    orders = [e for e in stored_events(server.data_dir).values() if e["type"] == "order_completed"]
    assert len(orders) == 3_000
    assert {e["properties"]["order_id"] for e in orders} == {str(700000 + o) for o in range(3_000)}  # type: ignore[index]
    assert all(len(e["properties"]["lines"]) == 10 for e in orders)  # type: ignore[index]


def test_the_import_keeps_to_the_limits_the_server_gives(tmp_path: Path) -> None:
    """A server told to take smaller requests says so in /healthz; the import packs its
    batches under both its byte and its event limit, so no request is refused."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "retailor.toml").write_text("max_body_bytes = 200000\nmax_batch_events = 150\n")
    file = tmp_path / "orders.csv"
    order_lines(file, orders=1_000, lines=3)
    server = start_server(data)
    try:
        limits = httpx.get(f"{server.url}/healthz").json()["limits"]
        assert limits["max_body_bytes"] == 200_000 and limits["max_batch_events"] == 150
        result = summary(retailor("import", "transactions", file, "--data", data, "--json"))
        assert result == {"accepted": 1_000, "duplicates": 0, "rejected": 0}
        refused = httpx.get(f"{server.url}/v1/quarantine", headers=server.admin()).json()
        assert refused["total"] == 0, refused["items"][:1]  # not one request was too large
    finally:
        stop_server(server)
    assert len(stored_events(data)) == 1_000


def test_a_body_the_server_still_refuses_is_split(tmp_path: Path) -> None:
    """Told larger limits than the server has, the sink still gets everything in: each
    body refused as too large is sent again in halves."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "retailor.toml").write_text("max_body_bytes = 100000\n")
    file = tmp_path / "orders.csv"
    order_lines(file, orders=600, lines=3)
    server = start_server(data)
    try:
        with Client(server.url, server.admin_key) as client:
            believed = RequestLimits(max_body_bytes=5_000_000, max_batch_events=10_000,
                                     max_batch_items=10_000)  # fmt: skip
            done = run_import("transactions", file, ClientSink(client, believed), ImportOptions())
        assert (done.accepted, done.duplicates, done.rejected) == (600, 0, 0)
    finally:
        stop_server(server)
    assert len(stored_events(data)) == 600


def test_an_event_too_large_for_any_request_is_quarantined(tmp_path: Path) -> None:
    """One order with more lines than a request may carry is rejected with that reason and
    kept (its payload cut to fit); the orders around it are stored."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "retailor.toml").write_text("max_body_bytes = 100000\n")
    file = tmp_path / "orders.csv"
    order_lines(file, orders=50, lines=2)
    with file.open("a") as out:  # order 999999: 600 lines, about 150 KB as one event
        for k in range(600):
            out.write(f"999999,SKU{k:05d},{'LONG NAME ' * 15},1,2025-05-05 10:00:00,1.5,42,UK\n")
    server = start_server(data)
    try:
        result = summary(retailor("import", "transactions", file, "--data", data, "--json"))
        assert result == {"accepted": 50, "duplicates": 0, "rejected": 1}
        kept = httpx.get(f"{server.url}/v1/quarantine", headers=server.admin()).json()["items"]
        assert len(kept) == 1, [k["reason"] for k in kept]
        assert "bytes the server takes in one request" in kept[0]["reason"]
        assert "payload cut" in kept[0]["reason"] and kept[0]["payload"].startswith("{")
        assert kept[0]["event_id"] and kept[0]["source"].startswith("import:transactions:")
    finally:
        stop_server(server)
    assert len(stored_events(data)) == 50
