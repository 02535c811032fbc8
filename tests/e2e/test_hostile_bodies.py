"""Bodies a careless or hostile client sends (in process): one broken member never costs
the good members of the same request, ids that hide characters are refused, compressed
bodies are read whole, and nothing of it is a 500."""

from __future__ import annotations

import base64
import gzip
import zlib
from urllib.parse import quote

import pytest

from tests.conftest import AppHarness

GOOD = (
    b'{"event_id":"good","type":"product_viewed","customer_id":"c1","properties":{"item_id":"s1"}}'
)


def nested(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def post_events(app: AppHarness, body: bytes, **headers: str) -> tuple[int, dict[str, object]]:
    r = app.client.post("/v1/events", content=body, headers={**app.ingest(), **headers})
    return r.status_code, r.json()


BROKEN_EVENTS = {
    "lone surrogate escape": b'{"event_id":"bad","type":"product_viewed","customer_id":"c-\\ud800",'
    b'"properties":{"item_id":"s1"}}',
    "NaN": b'{"event_id":"bad","type":"product_viewed","customer_id":"c1",'
    b'"properties":{"item_id":"s1","x":NaN}}',
    "nested 1,000 deep": b'{"event_id":"bad","type":"product_viewed","customer_id":"c1",'
    b'"properties":{"item_id":"s1","x":' + nested(1000) + b"}}",
    "nested 100 deep": b'{"event_id":"bad","type":"product_viewed","customer_id":"c1",'
    b'"properties":{"item_id":"s1","x":' + nested(100) + b"}}",
    "invalid UTF-8": b'{"event_id":"bad","type":"product_viewed","customer_id":"c\xff\xfe",'
    b'"properties":{"item_id":"s1"}}',
    "number out of range": b'{"event_id":"bad","type":"product_viewed","customer_id":"c1",'
    b'"properties":{"item_id":"s1","price":1e309}}',
    "a trailing comma": b"",
}


@pytest.mark.parametrize("case", sorted(BROKEN_EVENTS))
def test_one_broken_event_costs_only_itself(app: AppHarness, case: str) -> None:
    bad = BROKEN_EVENTS[case]
    status, body = post_events(app, b'{"events": [' + GOOD + b", " + bad + b"]}")
    assert status == 422, body
    assert body["accepted"] == 1
    [rejected] = body["rejected"]  # type: ignore[misc]
    assert rejected["index"] == 1
    if bad:
        assert rejected["event_id"] == "bad"
    assert app.storage.events.count() == 1
    [kept] = app.storage.quarantine.list(limit=10)
    assert kept.index == 1
    assert kept.payload == bad.decode("utf-8", errors="backslashreplace")  # kept as sent


def test_a_body_that_cannot_be_split_is_still_one_400(app: AppHarness) -> None:
    status, body = post_events(app, b'{"events": [' + GOOD + b', {"event_id": "x]}')
    assert status == 400
    assert body["title"] == "Malformed JSON"
    assert app.storage.events.count() == 0
    assert app.storage.quarantine.count() == 1


def segment_post(app: AppHarness, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    auth = base64.b64encode(f"{app.ingest_key}:".encode()).decode()
    r = app.client.post(
        path,
        content=body,
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    return r.status_code, r.json()


SEGMENT_GOOD = (
    b'{"type":"track","event":"Product Viewed","userId":"u1","messageId":"m-good",'
    b'"properties":{"product_id":"p1"}}'
)


@pytest.mark.parametrize(
    "bad",
    [
        b'{"type":"track","event":"Product Viewed","userId":"u\xff","messageId":"m-bad"}',
        b'{"type":"track","event":"Product Viewed","userId":"u2","messageId":"m-bad",'
        b'"properties":{"product_id":"p1","price":1e309}}',
        b'{"type":"track","event":"Product Viewed","userId":"u2","messageId":"m-bad",'
        b'"properties":' + nested(1000) + b"}",
    ],
    ids=["invalid UTF-8", "1e309", "nested 1,000 deep"],
)
def test_one_broken_segment_message_costs_only_itself(app: AppHarness, bad: bytes) -> None:
    body = b'{"batch": [' + SEGMENT_GOOD + b", " + bad + b'], "context": {"ip": "1.2.3.4"}}'
    status, answer = segment_post(app, "/v1/batch", body)
    assert status == 422, answer
    assert answer["accepted"] == 1
    [rejected] = answer["rejected"]  # type: ignore[misc]
    assert (rejected["index"], rejected["event_id"]) == (1, "m-bad")
    [stored] = app.storage.events.timeline("u1", 5)
    assert stored.context.get("ip") == "1.2.3.4"  # the batch context still reached it
    [kept] = app.storage.quarantine.list(limit=10)
    assert "m-bad" in kept.payload


def test_a_broken_single_segment_message_is_kept_as_sent(app: AppHarness) -> None:
    status, _ = segment_post(app, "/v1/track", b'{"type":"track","userId":"u1","x":NaN}')
    assert status == 400
    [kept] = app.storage.quarantine.list(limit=10)
    assert "NaN" in kept.payload


def put_items(app: AppHarness, body: bytes) -> tuple[int, dict[str, object]]:
    r = app.client.put(
        "/v1/catalog/items",
        content=body,
        headers={**app.admin(), "Content-Type": "application/json"},
    )
    return r.status_code, r.json()


@pytest.mark.parametrize("levels", [40, 1000])
def test_a_deeply_nested_catalog_item_costs_only_itself(app: AppHarness, levels: int) -> None:
    body = (
        b'{"items": [{"item_id": "good", "name": "Mug"}, {"item_id": "deep", "attributes": '
        + nested(levels)
        + b"}]}"
    )
    status, answer = put_items(app, body)
    assert status == 422, answer
    assert answer["created"] == 1
    [rejected] = answer["rejected"]  # type: ignore[misc]
    assert (rejected["index"], rejected["item_id"]) == (1, "deep")
    assert "deep" in rejected["reason"]
    assert app.client.get("/v1/catalog/items/good", headers=app.admin()).status_code == 200
    assert app.client.get("/v1/catalog/items/deep", headers=app.admin()).status_code == 404


HIDDEN = {
    "trailing newline": "c1\n",
    "NUL": "c\x001",
    "right-to-left override": "\u202ec1",
    "zero-width space": "c\u200b1",
    "byte order mark": "\ufeffc1",
    "blank": "   ",
    "tab only": "\t",
}


@pytest.mark.parametrize("case", sorted(HIDDEN))
def test_event_ids_hiding_characters_are_refused(app: AppHarness, case: str) -> None:
    import msgspec

    bad = {"event_id": "e2", "type": "product_viewed", "customer_id": HIDDEN[case]}
    bad["properties"] = {"item_id": "s1"}
    body = msgspec.json.encode({"events": [msgspec.json.decode(GOOD), bad]})
    status, answer = post_events(app, body)
    assert status == 422, answer
    [rejected] = answer["rejected"]  # type: ignore[misc]
    assert "customer_id" in rejected["reason"]
    assert "regex" not in rejected["reason"]  # said in words
    assert app.storage.events.count() == 1


@pytest.mark.parametrize("case", sorted(HIDDEN))
def test_catalog_item_ids_hiding_characters_are_refused(app: AppHarness, case: str) -> None:
    import msgspec

    body = msgspec.json.encode({"items": [{"item_id": "ok"}, {"item_id": HIDDEN[case]}]})
    status, answer = put_items(app, body)
    assert status == 422, answer
    assert answer["created"] == 1


@pytest.mark.parametrize("case", sorted(HIDDEN))
def test_definition_ids_hiding_characters_are_refused(app: AppHarness, case: str) -> None:
    segment_id = "pwned" + HIDDEN[case]
    r = app.client.put(
        f"/v1/segments/{quote(segment_id, safe='')}",
        json={"trait": "order_count", "op": "gt", "value": 1},
        headers=app.admin(),
    )
    assert r.status_code in (404, 422), r.text
    r = app.client.put(
        f"/v1/placements/{quote(segment_id, safe='')}",
        json={"sources": [{"source": "popular"}]},
        headers=app.admin(),
    )
    assert r.status_code in (404, 422), r.text
    written = [p.name for p in app.settings.data_dir.rglob("*pwned*")]
    assert written == []


def test_every_gzip_member_is_read(app: AppHarness) -> None:
    first = gzip.compress(b'{"events": [' + GOOD + b",")
    second = gzip.compress(GOOD.replace(b'"good"', b'"second"') + b"]}")
    status, answer = post_events(app, first + second, **{"Content-Encoding": "gzip"})
    assert (status, answer["accepted"]) == (200, 2)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(GOOD)[:-6]),
        ("gzip", gzip.compress(GOOD) + b"trailing"),
        ("deflate", zlib.compress(GOOD) + b"x"),
        ("deflate", zlib.compress(GOOD)[:-3]),
    ],
    ids=["gzip cut short", "gzip then junk", "deflate then junk", "deflate cut short"],
)
def test_compressed_bodies_that_do_not_end_cleanly_are_refused(
    app: AppHarness, encoding: str, body: bytes
) -> None:
    status, answer = post_events(app, body, **{"Content-Encoding": encoding})
    assert status == 400, answer
    assert app.storage.events.count() == 0


def test_many_small_gzip_members_still_respect_the_limit(app: AppHarness) -> None:
    limit = app.settings.max_body_bytes
    member = gzip.compress(b" " * (limit // 3))
    status, _ = post_events(app, member * 4, **{"Content-Encoding": "gzip"})
    assert status == 413


@pytest.mark.parametrize("kind", ["placements", "offers"])
def test_a_definition_whose_id_is_not_the_urls_is_refused(app: AppHarness, kind: str) -> None:
    body = (
        {"sources": [{"source": "popular"}]} if kind == "placements" else {"kind": "free_shipping"}
    )
    id_field = f"{kind[:-1]}_id"
    h = app.admin()
    rest = "sources: [{source: popular}]" if kind == "placements" else "kind: free_shipping"
    yaml = f"{id_field}: {{}}\n{rest}\n".encode()
    r = app.client.put(
        f"/v1/{kind}/mine", content=yaml, headers={**h, "Content-Type": "application/yaml"}
    )
    assert r.status_code == 422 and r.json()["where"] == f"$.{id_field}", r.text
    r = app.client.put(f"/v1/{kind}/mine", json={**body, id_field: "other"}, headers=h)
    assert r.status_code == 422 and r.json()["where"] == f"$.{id_field}", r.text
    assert app.client.put(f"/v1/{kind}/mine", json={**body, id_field: "mine"}, headers=h).is_success


def test_a_yaml_definition_with_a_lone_surrogate_is_malformed(app: AppHarness) -> None:
    r = app.client.put(
        "/v1/placements/mine",
        content=b'name: "\\ud800"\nsources: [{source: popular}]\n',
        headers={**app.admin(), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 400 and "surrogate" in r.json()["detail"], r.text


def test_a_segment_batch_with_a_wrong_sent_at_is_refused(app: AppHarness) -> None:
    r = app.client.post("/v1/batch", json={"batch": [], "sentAt": {}}, headers=app.ingest())
    assert r.status_code == 422 and r.json()["where"] == "$.sentAt", r.text


@pytest.mark.parametrize("index", [2**63, -1, 1e300])
def test_a_kept_record_with_an_index_out_of_range_is_refused(app: AppHarness, index: float) -> None:
    item = {"quarantine_id": "q1", "received_at": "2026-03-01T00:00:00Z", "source": "import:x",
            "reason": "bad", "payload": "{}", "index": index}  # fmt: skip
    r = app.client.post("/v1/quarantine", json={"items": [item]}, headers=app.admin())
    assert r.status_code == 422, r.text
    item["index"] = 2**63 - 1
    r = app.client.post("/v1/quarantine", json={"items": [item]}, headers=app.admin())
    assert r.status_code == 200, r.text
    app.wait_idle()
    assert [kept.index for kept in app.storage.quarantine.list()] == [2**63 - 1]
