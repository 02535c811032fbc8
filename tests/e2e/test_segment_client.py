"""Segment's official Python client sending to a running Retailor server."""

from __future__ import annotations

from typing import Any

import httpx
from segment.analytics.client import Client as SegmentClient

from tests.conftest import LiveServer


def timeline(server: LiveServer, who: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.url}/v1/customers/{who}/events?limit=100", headers=server.admin())
    assert r.status_code == 200, r.text
    return r.json()["events"]  # type: ignore[no-any-return]


def test_the_official_client_end_to_end(live_server: LiveServer) -> None:
    errors: list[Exception] = []
    client = SegmentClient(
        write_key=live_server.ingest_key,
        host=live_server.url,
        sync_mode=True,
        on_error=lambda error, batch: errors.append(error),
        max_retries=0,
    )
    client.identify("u-1", {"email": "ada@example.com", "plan": "gold"})
    client.track("u-1", "Product Viewed", {"product_id": "sku-9", "price": 12.5, "brand": "Acme"})
    client.track(
        "u-1",
        "Order Completed",
        {"order_id": "o-77", "revenue": 30.0, "coupon": "WINTER",
         "products": [{"product_id": "sku-9", "quantity": 2, "price": 12.5}, {"sku": "sku-3", "price": 5}]},
    )  # fmt: skip
    client.page("u-1", "Shop", "Home", {"url": "https://shop.example/"})
    client.screen("u-1", "App", "Basket", {})
    client.alias("anon-device-1", "u-1")
    client.track("u-1", "Wishlist Shared", {"list": "xmas"})
    client.track(anonymous_id="dev-5", event="Products Searched", properties={"query": "red mug"})
    client.flush()
    assert errors == []

    events = {e["type"]: e for e in timeline(live_server, "u-1")}
    assert events["identify"]["properties"]["traits"]["plan"] == "gold"
    assert events["product_viewed"]["properties"]["item_id"] == "sku-9"
    order = events["order_completed"]["properties"]
    assert order["order_id"] == "o-77" and order["revenue"] == 30.0
    assert order["lines"] == [
        {"item_id": "sku-9", "quantity": 2, "price": 12.5},
        {"item_id": "sku-3", "quantity": 1, "price": 5},
    ]
    assert events["alias"]["properties"]["previous_id"] == "anon-device-1"
    assert events["custom"]["properties"]["name"] == "Wishlist Shared"
    pages = [e for e in timeline(live_server, "u-1") if e["type"] == "page_viewed"]
    assert {p["channel"] for p in pages} >= {"app"}
    [search] = timeline(live_server, "dev-5")
    assert search["type"] == "products_searched" and search["properties"]["query"] == "red mug"
    assert all(
        e["context"]["library"]["name"] == "analytics-python" for e in timeline(live_server, "u-1")
    )


def batch(
    server: LiveServer, messages: list[dict[str, Any]], key: str | None = None
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/batch", json={"batch": messages}, auth=(key or server.ingest_key, "")
    )


def test_resent_messages_are_duplicates(live_server: LiveServer) -> None:
    message = {"type": "track", "event": "Product Viewed", "messageId": "m-1", "userId": 7,
               "properties": {"product_id": 5}}  # fmt: skip
    first = batch(live_server, [message])
    assert first.status_code == 200 and first.json()["accepted"] == 1
    again = batch(live_server, [message])
    assert again.json()["duplicates"] == 1 and again.json()["accepted"] == 0
    [stored] = timeline(live_server, "7")
    assert stored["properties"]["item_id"] == "5"


def test_write_keys_and_bad_messages(live_server: LiveServer) -> None:
    wrong = batch(
        live_server, [{"type": "track", "event": "X", "userId": "a"}], key="rk_ingest_wrong"
    )
    assert wrong.status_code == 401 and wrong.headers["content-type"] == "application/problem+json"
    admin = batch(live_server, [{"type": "track", "event": "X", "userId": "a", "messageId": "adm"}],
                  key=live_server.admin_key)  # fmt: skip
    assert admin.status_code == 200
    mixed = batch(
        live_server,
        [
            {"type": "track", "event": "Order Completed", "userId": "b", "messageId": "bad-1",
             "properties": {"products": [{"product_id": "p", "price": 1}]}},
            {"type": "track", "event": "Product Added", "userId": "b", "messageId": "ok-1",
             "properties": {"product_id": "p"}},
        ],
    )  # fmt: skip
    assert mixed.status_code == 422 and mixed.headers["content-type"] == "application/problem+json"
    body = mixed.json()
    assert body["accepted"] == 1
    [rejected] = body["rejected"]
    assert rejected["index"] == 0 and "order_id" in rejected["reason"]
    assert [e["type"] for e in timeline(live_server, "b")] == ["product_added"]
    kept = httpx.get(f"{live_server.url}/v1/quarantine", headers=live_server.admin()).json()
    assert kept["items"][0]["event_id"] == "bad-1" and kept["items"][0]["source"] == "segment:batch"


def test_single_message_endpoints(live_server: LiveServer) -> None:
    auth = (live_server.ingest_key, "")
    r = httpx.post(f"{live_server.url}/v1/track", json={"event": "Product Removed", "userId": "s",
                   "properties": {"sku": "k"}}, auth=auth)  # fmt: skip
    assert r.status_code == 200 and r.json()["success"] is True
    r = httpx.post(
        f"{live_server.url}/v1/identify", json={"userId": "s", "traits": {"a": 1}}, auth=auth
    )
    assert r.status_code == 200
    r = httpx.post(
        f"{live_server.url}/v1/track", json={"type": "identify", "userId": "s"}, auth=auth
    )
    assert r.status_code == 422  # this endpoint takes track messages
    r = httpx.post(f"{live_server.url}/v1/page", content=b"{nope", auth=auth)
    assert r.status_code == 400
    assert {e["type"] for e in timeline(live_server, "s")} == {"identify", "product_removed"}
