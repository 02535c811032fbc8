"""The native events API end to end (in process): storing, dedupe, bad input, auth."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tests.conftest import AppHarness, event

PROBLEM = "application/problem+json"


def post(app: AppHarness, body: object, **headers: str) -> tuple[int, dict[str, object], str]:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    r = app.client.post("/v1/events", content=content, headers={**app.ingest(), **headers})
    return r.status_code, r.json(), r.headers["content-type"]


def test_one_event_then_the_same_again_is_a_duplicate(app: AppHarness) -> None:
    assert post(app, event("e1"))[:2] == (200, {"accepted": 1, "duplicates": 0, "rejected": []})
    assert post(app, event("e1"))[:2] == (200, {"accepted": 0, "duplicates": 1, "rejected": []})
    assert app.storage.events.count() == 1


def test_a_batch_with_repeats_inside(app: AppHarness) -> None:
    status, body, _ = post(app, {"events": [event("a"), event("b"), event("a")]})
    assert (status, body) == (200, {"accepted": 2, "duplicates": 1, "rejected": []})


def test_server_stamps_received_at_and_keeps_unknown_properties(app: AppHarness) -> None:
    sent = event("e1", timestamp="2025-05-01T10:00:00+02:00", channel="app")
    sent["properties"] = {"item_id": "sku-1", "color": "blue", "nested": {"a": [1, 2]}}
    before = datetime.now(UTC)
    assert post(app, sent)[0] == 200
    [stored] = app.storage.events.timeline("c1", 1)
    assert stored.timestamp == datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    assert before <= stored.received_at <= datetime.now(UTC)
    assert stored.properties == sent["properties"]
    assert stored.channel == "app"


def test_late_and_out_of_order_events_are_accepted(app: AppHarness) -> None:
    now = datetime.now(UTC)
    batch = [
        event(f"e{i}", timestamp=(now - timedelta(days=400 - i * 100)).isoformat())
        for i in range(4)
    ]
    assert post(app, {"events": list(reversed(batch))})[0] == 200
    timeline = app.client.get("/v1/customers/c1/events", headers=app.admin()).json()["events"]
    assert [e["event_id"] for e in timeline] == ["e3", "e2", "e1", "e0"]


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (
            {"type": "product_viewed", "customer_id": "c1", "properties": {"item_id": "x"}},
            "event_id",
        ),
        (
            {
                "event_id": "x",
                "type": "product_viewed",
                "customer_id": 42,
                "properties": {"item_id": "x"},
            },
            "customer_id",
        ),
        ({"event_id": "x", "type": "beamed_up", "customer_id": "c1"}, "unknown event type"),
        ({"event_id": "x", "type": "page_viewed"}, "customer_id or anonymous_id"),
        ({"event_id": "x", "type": "product_viewed", "customer_id": "c1"}, "item_id"),
        (
            {
                "event_id": "x",
                "type": "product_viewed",
                "customer_id": "c1",
                "properties": {"item_id": "i", "price": -1},
            },
            "price",
        ),
        (
            {
                "event_id": "x",
                "type": "order_completed",
                "customer_id": "c1",
                "properties": {"order_id": "o", "lines": []},
            },
            "lines",
        ),
        (
            {
                "event_id": "x",
                "type": "page_viewed",
                "customer_id": "c1",
                "timestamp": "3000-01-01T00:00:00Z",
            },
            "ahead",
        ),
        (
            {"event_id": "x", "type": "page_viewed", "customer_id": "c1", "timestamp": "yesterday"},
            "timestamp",
        ),
        (
            {"event_id": "x", "type": "page_viewed", "customer_id": "c1", "channel": "pigeon"},
            "channel",
        ),
        (
            {"event_id": "x", "type": "page_viewed", "customer_id": "c1", "customerId": "c1"},
            "customerId",
        ),
        ({"event_id": "", "type": "page_viewed", "customer_id": "c1"}, "event_id"),
        ([1, 2], "JSON object"),
        (
            {
                "event_id": "x",
                "type": "order_completed",
                "customer_id": "c1",
                "properties": {
                    "order_id": "o",
                    "lines": [{"item_id": "i", "quantity": 1e300, "price": 1e300}],
                },
            },
            "<= 1000000000000",
        ),
    ],
)
def test_bad_events_are_rejected_with_a_reason_and_the_good_ones_kept(
    app: AppHarness, bad: object, fragment: str
) -> None:
    status, body, ctype = post(app, {"events": [event("good-1"), bad, event("good-2")]})
    assert status == 422 and ctype == PROBLEM
    assert body["accepted"] == 2 and body["duplicates"] == 0
    [rejected] = body["rejected"]  # type: ignore[misc]
    assert rejected["index"] == 1
    assert fragment in rejected["reason"], rejected["reason"]
    assert {"type", "title", "status", "detail"} <= set(body)
    assert app.storage.events.count() == 2
    [kept] = app.storage.quarantine.list(limit=1)
    assert kept.reason == rejected["reason"] and kept.index == 1


def test_a_single_bad_event_is_a_problem_and_kept(app: AppHarness) -> None:
    status, body, ctype = post(app, {"event_id": "x", "type": "nope", "customer_id": "c"})
    assert status == 422 and ctype == PROBLEM
    assert "unknown event type" in str(body["detail"])
    assert app.storage.quarantine.list()[0].event_id == "x"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b'{"events": [', 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (b"[1, 2, 3]", 422, "one event object"),
        (b'{"events": {"a": 1}}', 422, "batch"),
        (b'{"events": [], "extra": 1}', 422, "batch"),
        (b'{"d": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "too deeply"),
        (
            b'{"events": [{"d": ' + b"[" * 5000 + b"]" * 5000 + b"}]}",
            422,
            "1 of 1 events were rejected",
        ),
    ],
)
def test_unreadable_bodies(app: AppHarness, body: bytes, status: int, fragment: str) -> None:
    got, answer, ctype = post(app, body)
    assert (got, ctype) == (status, PROBLEM)
    assert fragment in str(answer["detail"])
    assert app.storage.quarantine.count() == 1  # kept, even unreadable


def test_invalid_utf8_in_one_event_rejects_that_event_only(app: AppHarness) -> None:
    good = msgspec.json.encode(event("ok"))
    bad = b'{"event_id": "e1", "type": "page_viewed", "customer_id": "\xc3\x28"}'
    status, body, ctype = post(app, b'{"events": [' + good + b"," + bad + b"]}")
    assert status == 422 and ctype == PROBLEM
    assert body["accepted"] == 1
    assert "utf-8" in body["rejected"][0]["reason"]  # type: ignore[index]
    [kept] = app.storage.quarantine.list()
    assert "\\xc3" in kept.payload


def test_too_many_events_and_too_large_bodies(app: AppHarness) -> None:
    status, body, _ = post(app, {"events": [event(f"e{i}") for i in range(10_001)]})
    assert status == 413 and "10000" in str(body["detail"])
    huge = (
        b'{"events": ['
        + b",".join([msgspec.json.encode(event("e", pad="x" * 1000))] * 6000)
        + b"]}"
    )
    status, body, ctype = post(app, huge)
    assert (status, ctype) == (413, PROBLEM)
    assert app.storage.events.count() == 0


def test_gzipped_bodies(app: AppHarness) -> None:
    status, body, _ = post(
        app, gzip.compress(msgspec.json.encode(event("gz"))), **{"Content-Encoding": "gzip"}
    )
    assert (status, body["accepted"]) == (200, 1)
    status, _, ctype = post(app, b"not gzip", **{"Content-Encoding": "gzip"})
    assert (status, ctype) == (400, PROBLEM)


def test_keys_and_scopes(app: AppHarness) -> None:
    r = app.client.post("/v1/events", json=event("e"))
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert "WWW-Authenticate" in r.headers
    r = app.client.post(
        "/v1/events", json=event("e"), headers={"Authorization": "Bearer rk_ingest_nope"}
    )
    assert r.status_code == 401
    r = app.client.get("/v1/customers/c1/events", headers=app.ingest())
    assert r.status_code == 403 and "view" in r.json()["detail"]
    r = app.client.post("/v1/events", json=event("e"), headers=app.admin())
    assert r.status_code == 200  # admin may do everything
    r = app.client.post("/v1/events", json=event("e2"), auth=(app.ingest_key, ""))
    assert r.status_code == 200  # the key as the Basic user name


def test_revoked_key_is_refused(app: AppHarness) -> None:
    [key] = [k for k in app.storage.keys.all() if k.scope == "ingest"]
    app.storage.keys.revoke(key.key_id)
    r = app.client.post("/v1/events", json=event("e"), headers=app.ingest())
    assert r.status_code == 401


def test_timeline(app: AppHarness) -> None:
    post(
        app, {"events": [event(f"e{i}", timestamp=f"2026-01-01T00:00:{i:02d}Z") for i in range(5)]}
    )
    r = app.client.get("/v1/customers/c1/events?limit=2", headers=app.admin())
    assert r.status_code == 200
    assert [e["event_id"] for e in r.json()["events"]] == ["e4", "e3"]
    assert r.json()["events"][0]["properties"] == {"item_id": "sku-1"}
    for bad in ("0", "1001", "ten"):
        r = app.client.get(f"/v1/customers/c1/events?limit={bad}", headers=app.admin())
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    r = app.client.get("/v1/customers/nobody/events", headers=app.admin())
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_quarantine_api(app: AppHarness) -> None:
    post(
        app,
        {"events": [{"event_id": f"b{i}", "type": "nope", "customer_id": "c"} for i in range(3)]},
    )
    r = app.client.get("/v1/quarantine?limit=2", headers=app.admin())
    page = r.json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["source"] == "http:/v1/events"
    assert "nope" in page["items"][0]["payload"]
    assert app.client.get("/v1/quarantine", headers=app.ingest()).status_code == 403


def test_unknown_routes_and_methods_are_problems(app: AppHarness) -> None:
    r = app.client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    r = app.client.delete("/v1/events", headers=app.admin())
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM


def test_health_metrics_and_openapi(app: AppHarness) -> None:
    assert app.client.get("/healthz").json()["status"] == "ok"
    post(app, {"events": [event("m1"), {"event_id": "m2", "type": "nope", "customer_id": "c"}]})
    metrics = app.client.get("/metrics").text
    assert 'retailor_events_total{outcome="accepted",source="http:/v1/events"} 1.0' in metrics
    assert 'retailor_events_total{outcome="rejected",source="http:/v1/events"} 1.0' in metrics
    assert "retailor_commit_seconds_bucket" in metrics
    doc = app.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    placement = doc["paths"]["/v1/placements/{placement_id}"]
    assert "204" in placement["delete"]["responses"]
    assert "application/yaml" in placement["put"]["requestBody"]["content"]
    # a 422 that kept the valid events also says what was accepted and refused; a 422 that
    # refused the whole body is a plain problem
    partial = doc["paths"]["/v1/events"]["post"]["responses"]["422"]["content"]
    [some, whole] = partial["application/problem+json"]["schema"]["oneOf"]
    [problem, kind, report] = some["allOf"]
    assert problem == whole["allOf"][0] == {"$ref": "#/components/schemas/Problem"}
    assert kind["properties"]["type"]["const"].endswith("/some-events-were-rejected")
    assert report == {"$ref": "#/components/schemas/IngestReport"}
    for path in (
        "/v1/events",
        "/v1/batch",
        "/v1/catalog/items",
        "/v1/quarantine",
        "/v1/customers/{customer_id}/events",
    ):
        assert path in doc["paths"]
