"""The single customer view over HTTP, and the Online Retail history checked against pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import SHARED_DATASETS, AppHarness, event, start_server, stop_server


def test_login_stitches_anonymous_browsing_and_reads_are_fresh(app: AppHarness) -> None:
    send = {"events": [
        event("v1", "product_viewed", customer_id=None, anonymous_id="dev-9", timestamp="2026-01-01T10:00:00Z"),
        event("v2", "product_viewed", customer_id=None, anonymous_id="dev-9", timestamp="2026-01-01T10:01:00Z"),
    ]}  # fmt: skip
    assert app.client.post("/v1/events", json=send, headers=app.ingest()).status_code == 200
    r = app.client.get("/v1/customers/dev-9", headers=app.admin())
    assert r.status_code == 200 and r.json()["customer_id"] == "dev-9"
    login = {"event_id": "l1", "type": "identify", "customer_id": "ada", "anonymous_id": "dev-9",
             "timestamp": "2026-01-01T10:02:00Z", "properties": {"traits": {"email": "ada@example.com", "name": "Ada"}}}  # fmt: skip
    buy = {"event_id": "o1", "type": "order_completed", "customer_id": "ada", "timestamp": "2026-01-01T10:05:00Z",
           "properties": {"order_id": "A-1", "lines": [{"item_id": "sku-1", "quantity": 3, "price": 2.5}]}}  # fmt: skip
    assert (
        app.client.post(
            "/v1/events", json={"events": [login, buy]}, headers=app.ingest()
        ).status_code
        == 200
    )
    # the very next read sees both events, under any identifier of the customer
    for who in ("ada", "dev-9", "email:ADA@example.com"):
        body = app.client.get(f"/v1/customers/{who}", headers=app.admin()).json()
        assert body["customer_id"] == "ada"
        assert body["traits"]["order_count"] == 1 and body["traits"]["revenue"] == 7.5
        assert body["traits"]["event_count"] == 4
        assert body["traits"]["attributes"]["name"] == "Ada"
        assert [e["event_id"] for e in body["recent_events"]] == ["o1", "l1", "v2", "v1"]
        assert {i["kind"] for i in body["identifiers"]} == {"customer_id", "anonymous_id", "email"}
        assert "ada@example.com" not in str(body["identifiers"])
    timeline = app.client.get("/v1/customers/ada/events", headers=app.admin()).json()["events"]
    assert len(timeline) == 4  # anonymous browsing before the login counts for the customer


def test_unknown_customer_is_a_problem(app: AppHarness) -> None:
    r = app.client.get("/v1/customers/nobody", headers=app.admin())
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert app.client.get("/v1/customers/nobody", headers=app.ingest()).status_code == 403


@pytest.mark.skipif(
    not (SHARED_DATASETS / "online-retail").exists(), reason="../shared/datasets not present"
)
def test_online_retail_profiles_equal_a_pandas_computation(tmp_path: Path) -> None:
    import pandas as pd

    path = SHARED_DATASETS / "online-retail" / "online_retail.csv.gz"
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "retailor", "import", "transactions", str(path), "--data", str(data)],
                   check=True, capture_output=True)  # fmt: skip
    frame = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    known = frame.dropna(subset=["CustomerID"]).copy()
    known["customer"] = known["CustomerID"].astype(int).astype(str)
    known["amount"] = known["Quantity"] * known["UnitPrice"]
    revenue = known.groupby("customer")["amount"].sum()
    orders = (
        known[~known["InvoiceNo"].str.startswith("C")].groupby("customer")["InvoiceNo"].nunique()
    )
    server = start_server(data)
    try:
        with httpx.Client(base_url=server.url, headers=server.admin(), timeout=30) as client:
            mismatches = []
            for customer in revenue.index:
                traits = client.get(f"/v1/customers/{customer}").json()["traits"]
                if (
                    traits["order_count"] != int(orders.get(customer, 0))
                    or abs(traits["revenue"] - revenue[customer]) > 0.01
                ):
                    mismatches.append(
                        (
                            customer,
                            traits["order_count"],
                            traits["revenue"],
                            orders.get(customer),
                            revenue[customer],
                        )
                    )
    finally:
        stop_server(server)
    assert len(revenue) == 4372
    assert not mismatches, mismatches[:10]


def test_crm_import_links_identities_and_sets_attributes_and_consent(tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    data = tmp_path / "data"
    run = [sys.executable, "-m", "retailor", "import"]
    subprocess.run(
        [*run, "transactions", str(fixtures / "transactions.csv"), "--data", str(data)],
        check=True,
        capture_output=True,
    )
    done = subprocess.run([*run, "customers", str(fixtures / "customers.csv"), "--data", str(data), "--json"],
                          check=True, capture_output=True, text=True)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == '{"accepted": 4, "duplicates": 0, "rejected": 2}'
    server = start_server(data)
    try:
        with httpx.Client(base_url=server.url, headers=server.admin()) as client:
            ada = client.get("/v1/customers/email:ada@example.com").json()
            assert ada["customer_id"] == "17850"
            assert ada["traits"]["order_count"] == 2  # orders from the history, same customer
            assert (
                ada["traits"]["attributes"]["first_name"] == "Ada"
                and ada["traits"]["attributes"]["tier"] == "gold"
            )
            assert ada["consent"] == {"marketing_email": True, "personalization": True}
            assert client.get("/v1/customers/loyalty_card:CARD-1").json()["customer_id"] == "17850"
            assert client.get("/v1/customers/phone:+442079460018").json()["customer_id"] == "17850"
            bob = client.get("/v1/customers/13047").json()
            assert bob["consent"]["marketing_email"] is False
            history = client.get("/v1/customers/17850/identity").json()
            assert any(m["via"].startswith("email:") for m in history["merges"])
    finally:
        stop_server(server)
