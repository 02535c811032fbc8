"""Erasure to the byte, embedded: a person with an email, a phone, a loyalty card, a
device, orders, decisions, feedback, a quarantined payload and trained models is erased;
a scan of every file of the data directory finds their identifiers before and none
after; their profile is gone by every identifier, their events are refused, and a
recommendation for them is the cold-start answer. Also: a second erasure's receipt is
zeros, the access export, and lifting a suppression."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import LiveServer, start_server, stop_server
from tests.privacy_scan import scan_data_dir

CUSTOMER = "zed-customer-7781"
DEVICE = "zed-device-5521"
EMAIL = "zed.erase@mail.example"
PHONE = "+1 555 014 2299"
CARD = "LC-99887766"
IDENTIFIERS = [CUSTOMER, DEVICE, EMAIL, PHONE, CARD]


def person_events() -> list[dict[str, object]]:
    base = "2026-11-01T10:00:00Z"
    events: list[dict[str, object]] = [
        {"event_id": "zed-1", "type": "identify", "customer_id": CUSTOMER, "anonymous_id": DEVICE,
         "timestamp": base,
         "properties": {"traits": {"email": EMAIL, "phone": PHONE, "loyalty_card": CARD}}},
    ]  # fmt: skip
    for i in range(6):
        events.append(
            {"event_id": f"zed-v{i}", "type": "product_viewed", "anonymous_id": DEVICE,
             "timestamp": f"2026-11-0{i + 2}T10:00:00Z", "properties": {"item_id": f"sku-{i}"}}
        )  # fmt: skip
    events.append(
        {"event_id": "zed-o1", "type": "order_completed", "customer_id": CUSTOMER,
         "timestamp": "2026-11-09T10:00:00Z",
         "properties": {"order_id": "zed-order-1",
                        "lines": [{"item_id": "sku-1", "quantity": 1, "price": 30.0}]}}
    )  # fmt: skip
    return events


def others_events() -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for c in range(12):
        for i in range(5):
            events.append(
                {"event_id": f"o{c}-{i}", "type": "product_viewed", "customer_id": f"other-{c}",
                 "timestamp": f"2026-11-0{i + 2}T1{c % 10}:00:00Z",
                 "properties": {"item_id": f"sku-{(c + i) % 8}"}}
            )  # fmt: skip
    return events


def post(server: LiveServer, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, headers=server.admin(), timeout=60)


def get(server: LiveServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", headers=server.admin(), timeout=60)


def wait_job(server: LiveServer, job: dict[str, object]) -> None:
    for _ in range(600):
        state = get(server, f"/v1/jobs/{job['job_id']}").json()
        if state["status"] not in ("queued", "running"):
            assert state["status"] == "succeeded", state.get("error")
            return
        time.sleep(0.2)
    raise AssertionError("training did not end")


def exported_ids(data: Path) -> set[str]:
    """Every value of every text column of the report exports in the data directory."""
    found: set[str] = set()
    for path in (data / "exports").rglob("*.parquet"):
        table = pq.read_table(path)
        for column in table.column_names:
            if pa.types.is_string(table.schema.field(column).type):
                found.update(v for v in table.column(column).to_pylist() if v)
    return found


def erase(server: LiveServer, identifier: str) -> dict[str, object]:
    asked = post(server, "/v1/privacy/erasures", {"identifier": identifier})
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "pending"
    for _ in range(1200):
        state = get(server, f"/v1/privacy/erasures/{asked.json()['erasure_id']}").json()
        if state["status"] == "done":
            return state  # type: ignore[no-any-return]
        assert state["status"] != "failed", state
        time.sleep(0.1)
    raise AssertionError("the erasure did not finish")


def fill(server: LiveServer) -> None:
    items = [{"item_id": f"sku-{i}", "price": 10.0 + i,
              "category": ["Shoes"]} for i in range(8)]  # fmt: skip
    put = httpx.put(f"{server.url}/v1/catalog/items", json={"items": items}, headers=server.admin())
    assert put.status_code == 200, put.text
    sent = post(server, "/v1/events", {"events": person_events() + others_events()})
    assert sent.status_code == 200 and sent.json()["accepted"] > 60, sent.text
    broken = {"event_id": "zed-bad", "type": "identify", "customer_id": CUSTOMER,
              "timestamp": "not a time", "properties": {"traits": {"email": EMAIL}}}  # fmt: skip
    post(server, "/v1/events", {"events": [broken]})
    wait_job(server, post(server, "/v1/models/train", {}).json())
    decided = post(server, "/v1/decisions", {"placement": "home", "customer_id": CUSTOMER})
    assert decided.status_code == 200, decided.text
    decision = decided.json()
    feedback = {"decision_id": decision["decision_id"], "type": "clicked",
                "item_id": decision["items"][0]["item_id"] if decision["items"] else None}  # fmt: skip
    assert post(server, "/v1/feedback", feedback).status_code in (200, 202)


def test_an_erased_person_leaves_no_byte_in_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        fill(server)
        for _ in range(100):  # the decision log and its feedback are written behind
            export = get(server, f"/v1/privacy/subjects/{quote('email:' + EMAIL)}/export")
            assert export.status_code == 200
            with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
                lines = {n: archive.read(n).decode().splitlines() for n in archive.namelist()}
            if lines["feedback.jsonl"]:
                break
            time.sleep(0.1)
        assert len(lines["events.jsonl"]) == 8  # identify, 6 views (device), the order
        assert len(lines["decisions.jsonl"]) == 1 and len(lines["feedback.jsonl"]) == 1
        assert len(lines["quarantine.jsonl"]) == 1 and lines["profile.jsonl"]
        assert get(server, "/v1/reports?from=2026-10-01").status_code == 200  # facts folded
        exported = httpx.post(f"{server.url}/v1/reports/export?name=before&from=2026-10-01",
                              headers=server.admin(), timeout=60)  # fmt: skip
        assert exported.status_code == 200, exported.text
        assert CUSTOMER in exported_ids(data), exported.json()
    finally:
        stop_server(server)
    before = scan_data_dir(data, IDENTIFIERS)
    assert {f.rsplit(": ", 1)[1] for f in before} == set(IDENTIFIERS), before

    server = start_server(data)
    try:
        done = erase(server, "email:" + EMAIL)
        receipt = done["receipt"]
        assert isinstance(receipt, dict)
        assert receipt["event_log"] == 8 and receipt["quarantine"] == 1, receipt
        assert receipt["decision_log"] >= 2, receipt  # the decision and its feedback
        again = erase(server, CUSTOMER)
        assert set(again["receipt"].values()) == {0}, again  # type: ignore[union-attr]
        for identifier in (CUSTOMER, DEVICE, "email:" + EMAIL, "phone:" + PHONE,
                           "loyalty_card:" + CARD):  # fmt: skip
            assert get(server, f"/v1/customers/{quote(identifier, safe='')}").status_code == 404
        resent = post(server, "/v1/events", {"events": [
            {"event_id": "zed-late", "type": "product_viewed", "customer_id": CUSTOMER,
             "properties": {"item_id": "sku-2"}}]})  # fmt: skip
        assert resent.status_code == 200
        assert get(server, f"/v1/customers/{CUSTOMER}").status_code == 404
        cold = post(server, "/v1/decisions", {"placement": "home", "customer_id": CUSTOMER})
        baseline = post(server, "/v1/decisions", {"placement": "home", "customer_id": "nobody-x"})
        assert cold.json()["personalized"] == baseline.json()["personalized"]
        assert [i["item_id"] for i in cold.json()["items"]] == [
            i["item_id"] for i in baseline.json()["items"]
        ]
        recommended = get(server, f"/v1/recommendations?customer_id={CUSTOMER}&k=5")
        for_a_stranger = get(server, "/v1/recommendations?customer_id=nobody-z&k=5")
        assert recommended.status_code == 200, recommended.text
        assert recommended.json()["items"] == for_a_stranger.json()["items"]
    finally:
        stop_server(server)
    after = scan_data_dir(data, IDENTIFIERS)
    assert not set(IDENTIFIERS) & exported_ids(data)  # the export it wrote, rewritten
    assert after == []  # the decision asked for them after it was logged without their ids


def test_a_suppression_is_lifted(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        sent = post(server, "/v1/events", {"events": person_events()})
        assert sent.status_code == 200
        erase(server, CUSTOMER)
        post(server, "/v1/events", {"events": [
            {"event_id": "zed-back", "type": "product_viewed", "customer_id": CUSTOMER,
             "properties": {"item_id": "sku-2"}}]})  # fmt: skip
        assert get(server, f"/v1/customers/{CUSTOMER}").status_code == 404
        broken = {"event_id": "zed-broken", "type": "identify", "customer_id": "someone-else",
                  "timestamp": "never", "properties": {"traits": {"email": EMAIL}}}  # fmt: skip
        refused = post(server, "/v1/events", {"events": [broken]})
        assert refused.status_code in (200, 422)
        quarantined = get(server, "/v1/quarantine").json()
        assert EMAIL not in str(quarantined) and "zed-broken" not in str(quarantined)
        lifted = httpx.delete(f"{server.url}/v1/privacy/suppressions/{CUSTOMER}",
                              headers=server.admin())  # fmt: skip
        assert lifted.status_code == 200, lifted.text
        time.sleep(0.6)  # the list is read again at most every half second
        post(server, "/v1/events", {"events": [
            {"event_id": "zed-back-2", "type": "product_viewed", "customer_id": CUSTOMER,
             "properties": {"item_id": "sku-2"}}]})  # fmt: skip
        assert get(server, f"/v1/customers/{CUSTOMER}").status_code == 200
        missing = httpx.delete(f"{server.url}/v1/privacy/suppressions/nobody",
                               headers=server.admin())  # fmt: skip
        assert missing.status_code == 404
    finally:
        stop_server(server)


@pytest.mark.parametrize("body", [b"{}", b'{"identifier": ""}', b"nope", b'{"identifier": 5}'])
def test_a_bad_erasure_request_is_a_422(tmp_path: Path, body: bytes) -> None:
    server = start_server(tmp_path / "data")
    try:
        answer = httpx.post(f"{server.url}/v1/privacy/erasures", content=body,
                            headers=server.admin())  # fmt: skip
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
    finally:
        stop_server(server)
