"""Segment's official Python client (segment-analytics-python) against a running server.

The client posts ``{"batch": [...], "sentAt": ..., "writeKey": ...}`` to ``/v1/batch`` with
the write key as the HTTP Basic user name; here the write key is a Retailor key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client
from segment.analytics.request import APIError

from tests.conftest import LiveServer

Sent = dict[str, Any]


class Recorder:
    """A Segment client for the server, with the errors its ``on_error`` reported."""

    def __init__(self, server: LiveServer, write_key: str) -> None:
        self.errors: list[tuple[Exception, list[Sent]]] = []
        self.client = Client(
            write_key=write_key,
            host=server.url,
            on_error=lambda error, batch: self.errors.append((error, batch)),
            max_retries=0,
            upload_interval=0.05,
        )

    def sent(self, result: tuple[bool, Sent]) -> Sent:
        queued, message = result
        assert queued
        return message


@pytest.fixture
def segment(live_server: LiveServer) -> Iterator[Recorder]:
    recorder = Recorder(live_server, live_server.ingest_key)
    yield recorder
    recorder.client.shutdown()


def timeline(server: LiveServer, who: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.url}/v1/customers/{who}/events?limit=100", headers=server.admin())
    assert r.status_code == 200, r.text
    return r.json()["events"]  # type: ignore[no-any-return]


def post(server: LiveServer, path: str, body: Any, key: str | None = None) -> httpx.Response:
    """POST as a Segment client does: the write key as the Basic user name."""
    return httpx.post(f"{server.url}{path}", json=body, auth=(key or server.ingest_key, ""))


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_the_official_client_end_to_end(live_server: LiveServer, segment: Recorder) -> None:
    c = segment.client
    identify = segment.sent(c.identify("u-1", {"email": "ada@example.com", "plan": "gold"}))
    viewed = segment.sent(
        c.track("u-1", "Product Viewed", {"product_id": "sku-9", "price": 12.5, "brand": "Acme"})
    )
    order_props = {
        "order_id": "o-77",
        "revenue": 30.0,
        "coupon": "WINTER",
        "currency": "EUR",
        "products": [
            {"product_id": "sku-9", "quantity": 2, "price": 12.5, "name": "Mug"},
            {"sku": "sku-3", "price": 5},
        ],
    }
    order = segment.sent(c.track("u-1", "Order Completed", order_props))
    page = segment.sent(
        c.page(
            "u-1",
            "Shop",
            "Home",
            {"url": "https://shop.example/"},
            context={"page": {"path": "/"}, "userAgent": "Mozilla/5.0"},
        )
    )
    screen = segment.sent(c.screen("u-1", "App", "Basket", {"items": 2}))
    alias = segment.sent(c.alias("anon-device-1", "u-1"))
    custom = segment.sent(c.track("u-1", "Wishlist Shared", {"list": "xmas", "size": 3}))
    search = segment.sent(
        c.track(anonymous_id="dev-5", event="Products Searched", properties={"query": "red mug"})
    )
    c.flush()
    assert segment.errors == []

    events = {e["event_id"]: e for e in timeline(live_server, "u-1")}
    expected = {
        identify["messageId"]: "identify",
        viewed["messageId"]: "product_viewed",
        order["messageId"]: "order_completed",
        page["messageId"]: "page_viewed",
        screen["messageId"]: "page_viewed",
        alias["messageId"]: "alias",
        custom["messageId"]: "custom",
    }
    assert {event_id: e["type"] for event_id, e in events.items()} == expected

    assert events[identify["messageId"]]["properties"] == {
        "traits": {"email": "ada@example.com", "plan": "gold"}
    }
    product = events[viewed["messageId"]]["properties"]
    assert product == {
        "product_id": "sku-9",
        "item_id": "sku-9",
        "price": 12.5,
        "brand": "Acme",
        "segment_event": "Product Viewed",
    }
    stored_order = events[order["messageId"]]["properties"]
    assert stored_order["order_id"] == "o-77" and stored_order["revenue"] == 30.0
    assert stored_order["lines"] == [
        {"item_id": "sku-9", "quantity": 2, "price": 12.5},
        {"item_id": "sku-3", "quantity": 1, "price": 5},
    ]
    assert stored_order["products"] == order_props["products"]  # originals kept
    assert (stored_order["coupon"], stored_order["currency"]) == ("WINTER", "EUR")
    stored_page = events[page["messageId"]]
    assert stored_page["channel"] == "web"
    assert stored_page["properties"] == {
        "url": "https://shop.example/",
        "name": "Home",
        "category": "Shop",
    }
    stored_screen = events[screen["messageId"]]
    assert stored_screen["channel"] == "app"
    assert stored_screen["properties"] == {
        "items": 2,
        "name": "Basket",
        "category": "App",
        "screen": True,
    }
    stored_alias = events[alias["messageId"]]
    assert stored_alias["customer_id"] == "u-1"
    assert stored_alias["properties"] == {"previous_id": "anon-device-1"}
    assert events[custom["messageId"]]["properties"] == {
        "list": "xmas",
        "size": 3,
        "name": "Wishlist Shared",
    }
    for message in (identify, viewed, order, page, screen, alias, custom):
        stored = events[message["messageId"]]
        assert stored["customer_id"] == "u-1"
        assert datetime.fromisoformat(stored["timestamp"]) == datetime.fromisoformat(
            message["timestamp"]
        )
        assert stored["context"]["library"]["name"] == "analytics-python"
        # the client's top-level 'integrations' (unused by Retailor) is kept
        assert stored["context"]["segment"] == {"integrations": {}}

    [searched] = timeline(live_server, "dev-5")
    assert searched["event_id"] == search["messageId"] and searched["customer_id"] is None
    assert searched["type"] == "products_searched"
    assert searched["anonymous_id"] == "dev-5" and searched["properties"]["query"] == "red mug"


def test_a_resent_message_is_a_duplicate(live_server: LiveServer, segment: Recorder) -> None:
    order = segment.sent(
        segment.client.track(
            "u-2",
            "Order Completed",
            {"order_id": 5, "products": [{"product_id": "a", "price": 2}]},
        )
    )
    segment.client.flush()
    assert segment.errors == []

    again = post(live_server, "/v1/batch", {"batch": [order]})
    assert again.status_code == 200, again.text
    assert again.json() == {"success": True, "accepted": 0, "duplicates": 1, "rejected": []}
    # the client itself retrying with the same messageId (another sentAt) is a duplicate too
    segment.client.track(
        "u-2",
        "Order Completed",
        order["properties"],
        message_id=order["messageId"],
    )
    segment.client.flush()
    assert segment.errors == []
    # so is the same message on a single-message endpoint
    single = post(live_server, "/v1/track", order)
    assert single.status_code == 200 and single.json()["duplicates"] == 1
    [stored] = timeline(live_server, "u-2")
    assert stored["event_id"] == order["messageId"]
    assert stored["properties"]["order_id"] == "5"
    assert stored["properties"]["lines"] == [{"item_id": "a", "quantity": 1, "price": 2}]


def test_a_message_without_message_id_is_a_duplicate_when_resent(live_server: LiveServer) -> None:
    message = {
        "type": "track",
        "event": "Product Added",
        "userId": 7,
        "timestamp": "2026-01-05T10:00:00Z",
        "properties": {"product_id": 5, "quantity": 2},
    }
    first = post(live_server, "/v1/batch", {"batch": [message]})
    assert first.json() == {"success": True, "accepted": 1, "duplicates": 0, "rejected": []}
    again = post(live_server, "/v1/batch", {"batch": [dict(reversed(message.items()))]})
    assert again.json() == {"success": True, "accepted": 0, "duplicates": 1, "rejected": []}
    [stored] = timeline(live_server, "7")  # the numeric userId became a string
    assert stored["event_id"].startswith("segment-")
    assert stored["type"] == "product_added" and stored["properties"]["item_id"] == "5"


def test_a_retry_without_message_id_but_with_a_new_sent_at_is_a_duplicate(
    live_server: LiveServer,
) -> None:
    message = {
        "type": "track",
        "event": "Thing Done",
        "userId": "u-r",
        "timestamp": "2026-01-05T10:00:00Z",
    }
    first = post(live_server, "/v1/batch", {"batch": [message], "sentAt": "2026-01-05T10:00:01Z"})
    assert first.json()["accepted"] == 1
    retry = post(live_server, "/v1/batch", {"batch": [message], "sentAt": "2026-01-05T10:00:31Z"})
    assert retry.json()["duplicates"] == 1
    assert len(timeline(live_server, "u-r")) == 1


def test_a_wrong_write_key_is_refused(live_server: LiveServer) -> None:
    message = {"type": "track", "event": "X", "userId": "a", "messageId": "w-1"}
    body = assert_problem(post(live_server, "/v1/batch", {"batch": [message]}, "rk_ingest_no"), 401)
    assert "unknown or revoked" in body["detail"]
    assert_problem(post(live_server, "/v1/track", message, "not-a-key"), 401)
    no_key = httpx.post(f"{live_server.url}/v1/batch", json={"batch": [message]})
    assert_problem(no_key, 401)

    wrong = Recorder(live_server, "rk_ingest_wrong")
    wrong.client.track("a", "X", {})
    wrong.client.flush()
    wrong.client.shutdown()
    [(error, batch)] = wrong.errors
    assert isinstance(error, APIError) and error.status == 401
    assert [m["event"] for m in batch] == ["X"]
    # nothing was stored
    r = httpx.get(f"{live_server.url}/v1/customers/a/events", headers=live_server.admin())
    assert r.status_code == 404


def test_an_admin_key_works_as_a_write_key(live_server: LiveServer) -> None:
    admin = Recorder(live_server, live_server.admin_key)
    sent = admin.sent(admin.client.track("u-adm", "Promotion Viewed", {"promotion_id": "summer"}))
    admin.client.flush()
    admin.client.shutdown()
    assert admin.errors == []
    [stored] = timeline(live_server, "u-adm")
    assert stored["event_id"] == sent["messageId"] and stored["type"] == "offer_viewed"
    assert stored["properties"]["offer_id"] == "summer"
    assert post(live_server, "/v1/identify", {"userId": "u-adm"}, live_server.admin_key).is_success
    # an ingest key may write but not read
    r = httpx.get(f"{live_server.url}/v1/customers/u-adm/events", headers=live_server.ingest())
    assert_problem(r, 403)


def test_a_batch_with_an_invalid_message(live_server: LiveServer) -> None:
    batch = [
        {
            "type": "track",
            "event": "Product Added",
            "userId": "b",
            "messageId": "ok-1",
            "properties": {"product_id": "p", "quantity": 1},
        },
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "b",
            "messageId": "bad-1",
            "properties": {"revenue": 3, "products": [{"product_id": "p", "price": 3}]},
        },
        {"type": "identify", "userId": "b", "messageId": "ok-2", "traits": {"tier": "gold"}},
    ]
    r = post(live_server, "/v1/batch", {"batch": batch, "sentAt": "2026-01-05T10:00:00Z"})
    body = assert_problem(r, 422)
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    [rejected] = body["rejected"]
    assert rejected["index"] == 1 and rejected["event_id"] == "bad-1"
    assert "order_id" in rejected["reason"]
    assert "1 of 3" in body["detail"]
    # the good messages were stored
    assert {e["event_id"]: e["type"] for e in timeline(live_server, "b")} == {
        "ok-1": "product_added",
        "ok-2": "identify",
    }
    # and the bad one is in the quarantine, with its reason and payload
    page = httpx.get(
        f"{live_server.url}/v1/quarantine",
        params={"source": "segment:batch"},
        headers=live_server.admin(),
    ).json()
    [kept] = [item for item in page["items"] if item["event_id"] == "bad-1"]
    assert kept["index"] == 1 and kept["reason"] == rejected["reason"]
    assert '"Order Completed"' in kept["payload"] and '"bad-1"' in kept["payload"]

    # the official client is told too (422 is not retried)
    client = Recorder(live_server, live_server.ingest_key)
    client.client.track("b", "Order Completed", {"products": []}, message_id="bad-2")
    client.client.flush()
    client.client.shutdown()
    [(error, _)] = client.errors
    assert isinstance(error, APIError) and error.status == 422

    # a body that is no batch at all is refused and kept too
    assert_problem(post(live_server, "/v1/batch", {"batch": "x"}), 422)
    page = httpx.get(
        f"{live_server.url}/v1/quarantine",
        params={"source": "segment:batch"},
        headers=live_server.admin(),
    ).json()
    assert any('"batch":"x"' in item["payload"] for item in page["items"]), page


def test_single_message_endpoints(live_server: LiveServer) -> None:
    track = {"event": "Product Removed", "userId": "s", "properties": {"sku": "k"}}
    r = post(live_server, "/v1/track", track)
    assert r.status_code == 200 and r.json()["success"] is True
    assert post(live_server, "/v1/identify", {"userId": "s", "traits": {"a": 1}}).is_success
    assert post(live_server, "/v1/page", {"userId": "s", "name": "Home"}).is_success
    assert post(live_server, "/v1/screen", {"userId": "s", "name": "Cart"}).is_success
    alias = {"userId": "s", "previousId": "anon-s", "messageId": "al-1"}
    assert post(live_server, "/v1/alias", alias).is_success
    wrong_kind = assert_problem(
        post(live_server, "/v1/track", {"type": "identify", "userId": "s"}), 422
    )
    assert "takes track messages" in wrong_kind["rejected"][0]["reason"]
    malformed = httpx.post(
        f"{live_server.url}/v1/page", content=b"{nope", auth=(live_server.ingest_key, "")
    )
    assert_problem(malformed, 400)
    types = sorted(e["type"] for e in timeline(live_server, "s"))
    assert types == ["alias", "identify", "page_viewed", "page_viewed", "product_removed"]


CRASHERS = {
    "context.traits not an object": {
        "type": "identify",
        "userId": "k",
        "messageId": "crash-1",
        "context": {"traits": 5},
    },
    "absurd clock skew": {
        "type": "page",
        "userId": "k",
        "messageId": "crash-2",
        "originalTimestamp": "0001-01-01T00:00:00Z",
        "sentAt": "9999-12-31T00:00:00Z",
    },
    "offset at the end of time": {
        "type": "track",
        "event": "Product Viewed",
        "userId": "k",
        "messageId": "crash-3",
        "timestamp": "0001-01-01T00:00:00+01:00",
        "properties": {"product_id": "p"},
    },
}


@pytest.mark.parametrize("bad", CRASHERS.values(), ids=list(CRASHERS))
def test_a_message_that_crashes_the_mapper_is_only_rejected(
    live_server: LiveServer, bad: dict[str, Any]
) -> None:
    good = {"type": "track", "event": "X", "userId": "k", "messageId": "good-1"}
    r = post(live_server, "/v1/batch", {"batch": [good, bad]})
    body = assert_problem(r, 422)
    assert body["accepted"] == 1 and [x["index"] for x in body["rejected"]] == [1]
    assert [e["event_id"] for e in timeline(live_server, "k")] == ["good-1"]
