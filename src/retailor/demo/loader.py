"""Loading the demo sample into a running server, as a retailer's systems would."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from retailor.client import Client
from retailor.ingest.bulk.client_sink import ClientSink
from retailor.ingest.bulk.runner import ImportOptions, ImportSummary, run_import

Say = Callable[[str], None]


def sample_file(name: str) -> Path:
    """Path of a shipped sample file."""
    return Path(str(resources.files("retailor.demo") / "data" / name))


def browsing_events(orders: list[dict[str, Any]], seed: int = 7) -> list[dict[str, Any]]:
    """Web sessions before orders: views of the items bought and of others, carts, a search;
    a share of shoppers browse anonymously and log in just before buying."""
    rng = random.Random(seed)
    all_items = sorted(
        {line["item_id"] for order in orders for line in order["properties"]["lines"]}
    )
    events: list[dict[str, Any]] = []
    for n, order in enumerate(orders):
        customer = order.get("customer_id")
        if customer is None:
            continue
        bought = [line["item_id"] for line in order["properties"]["lines"]][:5]
        anonymous = f"anon-{n:05d}" if rng.random() < 0.3 else None
        browser = {"anonymous_id": anonymous} if anonymous else {"customer_id": customer}
        known = {"customer_id": customer}
        steps: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
            ("page_viewed", {"path": "/", "page_type": "home"}, browser)
        ]
        if rng.random() < 0.4:
            query = rng.choice(["mug", "light", "bag", "christmas", "card", "heart"])
            steps.append(("products_searched", {"query": query}, browser))
        for item in rng.sample(all_items, k=min(3, len(all_items))) + bought:
            steps.append(("product_viewed", {"item_id": item}, browser))
        if anonymous:
            steps.append(
                ("identify", {"traits": {"login": "web"}}, {**known, "anonymous_id": anonymous})
            )
        steps += [("product_added", {"item_id": item, "quantity": 1}, known) for item in bought]
        steps.append(("checkout_started", {"order_id": order["properties"]["order_id"]}, known))
        t = datetime.fromisoformat(order["timestamp"]) - timedelta(minutes=rng.randint(10, 40))
        for kind, props, who in steps:
            t += timedelta(seconds=rng.randint(5, 90))
            events.append(
                {
                    "event_id": f"demo-{n:05d}-{len(events):07d}",
                    "type": kind,
                    "timestamp": t.isoformat(),
                    "channel": "web",
                    "session_id": f"s-{n:05d}",
                    "properties": props,
                    **who,
                }
            )
    return events


def load_demo(url: str, admin_key: str, ingest_key: str, say: Say) -> dict[str, Any]:
    """Load the catalog, the order history and browsing; return figures for the summary."""
    figures: dict[str, Any] = {}
    with Client(url, admin_key) as admin, Client(url, ingest_key) as ingest:
        catalog: ImportSummary = run_import(
            "catalog", sample_file("catalog.csv"), ClientSink(admin), ImportOptions()
        )
        figures["items"] = catalog.created + catalog.updated
        say(f"catalog: {figures['items']:,} items")
        orders: ImportSummary = run_import(
            "transactions",
            sample_file("transactions.csv.gz"),
            ClientSink(admin),
            ImportOptions(channel="web"),
        )
        figures["orders"] = orders.accepted + orders.duplicates
        figures["order_lines"] = orders.rows
        say(
            f"order history: {orders.rows:,} order lines -> {figures['orders']:,} order and refund events"
        )
        history = _recent_orders(admin, limit=400)
        browsing = browsing_events(history)
        accepted = duplicates = 0
        for start in range(0, len(browsing), 5_000):
            answer = ingest.send_events(browsing[start : start + 5_000])
            accepted += answer["accepted"]
            duplicates += answer["duplicates"]
        figures["browsing"] = accepted + duplicates
        say(f"web browsing: {figures['browsing']:,} events (views, searches, carts, logins)")
        figures["segment"] = segment_sample(url, ingest_key, "85123A")
        say(f"Segment-compatible endpoint: {figures['segment']} events from an app")
        figures["rejected"] = send_bad_events(ingest, "12347")
        say(
            f"bad input: {figures['rejected']} events rejected with a reason, kept in the quarantine"
        )
        figures["customer"] = history[0]["customer_id"] if history else "12347"
        figures["item"] = "85123A"
        clv = admin.train("clv")
        say(
            f"lifetime value model trained on {clv['metrics']['customers']:,} customers (version {clv['version']})"
        )
        trained = admin.train_models()["models"]
        blend = next((m for m in trained if m["name"] == "blend"), None)
        holdout = (blend or {}).get("metrics", {}).get("holdout", {})
        say(
            f"{len(trained)} recommendation models trained"
            + (
                f"; the blend scores NDCG@10 {holdout['ndcg@10']:.3f} on the newest 30 days"
                if holdout
                else ""
            )
        )
        segment = admin.put_segment(
            "loyal-buyers",
            {"all": [{"trait": "order_count", "op": "gte", "value": 2},
                     {"trait": "rfm.segment", "op": "in", "value": ["champions", "loyal", "potential loyalist"]}]},
        )  # fmt: skip
        say(f"segment loyal-buyers: {segment['size']:,} customers")
        admin.put_offer("free-shipping", {"name": "Free shipping", "kind": "free_shipping", "cost": 4.95,
                                          "budget": 2000, "frequency_cap": {"per_day": 3}})  # fmt: skip
        admin.put_offer("ten-off", {"name": "10% off", "kind": "percent_off", "value": 10, "cost": 3.0,
                                    "min_basket": 20, "targeting": {"customers": "returning"}})  # fmt: skip
        decision = admin.decide("home", customer_id=str(figures["customer"]), offers=1)
        first = decision["items"][0] if decision["items"] else None
        say(
            f"decision on the home page for customer {figures['customer']}: {len(decision['items'])} items"
            + (f", first {first['item_id']} ({'; '.join(first['reasons'])})" if first else "")
            + (f", offer {decision['offers'][0]['offer_id']}" if decision["offers"] else "")
        )
    return figures


def _recent_orders(admin: Client, limit: int) -> list[dict[str, Any]]:
    """Orders of the sample's customers, read back through the timeline API."""
    sample = pacsv.read_csv(
        sample_file("transactions.csv.gz"),
        convert_options=pacsv.ConvertOptions(column_types={"CustomerID": pa.string()}),
    )
    customers = [
        c.removesuffix(".0")
        for c in pc.unique(sample.column("CustomerID").drop_null()).to_pylist()[:80]
    ]
    orders: list[dict[str, Any]] = []
    for customer in customers:
        try:
            events = admin.customer_events(customer, limit=50)
        except Exception:
            continue
        orders += [e for e in events if e["type"] == "order_completed"]
        if len(orders) >= limit:
            break
    return orders[:limit]


def send_bad_events(ingest: Client, customer: str) -> int:
    """Three broken events (missing property, unknown type, empty order); returns how many
    were rejected (all three, kept in the quarantine with their reasons)."""
    bad: list[dict[str, Any]] = [
        {"event_id": "demo-bad-1", "type": "product_viewed", "customer_id": customer},
        {"event_id": "demo-bad-2", "type": "teleported", "customer_id": customer},
        {"event_id": "demo-bad-3", "type": "order_completed", "customer_id": customer,
         "properties": {"order_id": "X1", "lines": []}},
    ]  # fmt: skip
    return len(ingest.send_events(bad)["rejected"])


def segment_sample(url: str, ingest_key: str, item_id: str) -> int:
    """Twenty app events through the Segment-compatible batch endpoint."""
    batch = []
    for n in range(20):
        batch.append(
            {
                "type": "track",
                "event": "Product Viewed",
                "messageId": f"demo-seg-{n}",
                "anonymousId": f"app-device-{n % 5}",
                "timestamp": "2010-12-09T10:00:00Z",
                "properties": {"product_id": item_id, "price": 2.55},
                "context": {"app": {"name": "Retailor Demo", "version": "1.0"}},
            }
        )
    response = httpx.post(
        f"{url}/v1/batch",
        content=msgspec.json.encode({"batch": batch}),
        auth=(ingest_key, ""),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    response.raise_for_status()
    data = response.json()
    return int(data["accepted"] + data["duplicates"])
