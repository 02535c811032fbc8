"""Many workers, one Retailor: two ``retailor serve`` processes with their own data
directories on one PostgreSQL database and one Redis behave as one."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, event, start_server, stop_server


@dataclass
class Pair:
    a: LiveServer
    b: LiveServer
    env: dict[str, str]
    storage_dsn: str
    root: Path


def start_worker(pair_env: dict[str, str], storage_dsn: str, data_dir: Path) -> LiveServer:
    return start_server(data_dir, env=pair_env, storage_dsn=storage_dsn)


@pytest.fixture
def pair(postgres_dsn: str, redis_dsn: str, tmp_path: Path) -> Iterator[Pair]:
    env = {"RETAILOR_STATE": redis_dsn, "RETAILOR_IDENTITY_SALT": "one-salt-for-all-workers"}
    a = start_worker(env, postgres_dsn, tmp_path / "host-a")
    b = start_worker(env, postgres_dsn, tmp_path / "host-b")
    started = [a, b]
    try:
        yield Pair(a, b, env, postgres_dsn, tmp_path)
    finally:
        for server in started:
            stop_server(server)


def test_an_event_acknowledged_by_one_worker_shapes_the_next_read_on_the_other(
    pair: Pair,
) -> None:
    with httpx.Client(timeout=10) as client:
        for n in range(25):
            customer = f"ryw-{n}"
            writer, reader = (pair.a, pair.b) if n % 2 else (pair.b, pair.a)
            sent = client.post(
                f"{writer.url}/v1/events",
                json=event(f"ryw-e{n}", customer_id=customer, anonymous_id=f"device-{n}"),
                headers=writer.ingest(),
            )
            assert sent.json()["accepted"] == 1
            profile = client.get(f"{reader.url}/v1/customers/device-{n}", headers=reader.admin())
            assert profile.status_code == 200, profile.text
            assert profile.json()["customer_id"] == customer
            assert profile.json()["traits"]["event_count"] == 1


def _profiles(server: LiveServer, customers: list[str]) -> dict[str, object]:
    found = {}
    with httpx.Client(timeout=30) as client:
        for customer in customers:
            answer = client.get(f"{server.url}/v1/customers/{customer}", headers=server.admin())
            assert answer.status_code == 200, answer.text
            body = answer.json()
            found[customer] = (body["identifiers"], body["traits"], body["consent"])
    return found


def test_kill_9_under_load_loses_no_acknowledged_event_and_profiles_equal_a_rebuild(
    pair: Pair,
) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(server: LiveServer, tag: str) -> None:
        n = 0
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                batch = [
                    event(f"{tag}-{n}-{i}", customer_id=f"{tag}-c{(n * 7 + i) % 40}")
                    for i in range(50)
                ]
                n += 1
                try:
                    sent = client.post(
                        f"{server.url}/v1/events", json={"events": batch}, headers=server.ingest()
                    )
                except httpx.HTTPError:
                    return  # the server went away: nothing in flight was acknowledged
                if sent.status_code == 200:
                    with lock:
                        acknowledged.extend(e["event_id"] for e in batch)

    threads = [
        threading.Thread(target=load, args=(pair.a, "ka")),
        threading.Thread(target=load, args=(pair.b, "kb")),
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sum(1 for e in acknowledged if e.startswith("ka")) < 2000:
        time.sleep(0.05)
    pair.a.process.send_signal(signal.SIGKILL)
    pair.a.process.wait()
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    killed_customers = sorted({f"ka-c{n}" for n in range(40)})
    assert any(e.startswith("ka") for e in acknowledged)

    import psycopg

    with psycopg.connect(pair.storage_dsn) as conn:
        stored = {row[0] for row in conn.execute("SELECT event_id FROM events")}
    assert set(acknowledged) <= stored

    survivor = _profiles(pair.b, killed_customers)
    rebuilt_server = start_worker(pair.env, pair.storage_dsn, pair.root / "host-c")
    try:
        rebuilt = _profiles(rebuilt_server, killed_customers)
    finally:
        stop_server(rebuilt_server)
    assert survivor == rebuilt


def test_feedback_sent_to_another_worker_finds_the_decision_at_once(pair: Pair) -> None:
    with httpx.Client(timeout=10) as client:
        for n in range(10):
            maker, other = (pair.a, pair.b) if n % 2 else (pair.b, pair.a)
            decided = client.post(
                f"{maker.url}/v1/decisions",
                json={"placement": "home", "customer_id": f"fb-{n}"},
                headers=maker.admin(),
            )
            assert decided.status_code == 200, decided.text
            decision_id = decided.json()["decision_id"]
            told = client.post(
                f"{other.url}/v1/feedback",
                json={"decision_id": decision_id, "type": "viewed"},
                headers=other.admin(),
            )
            assert told.status_code == 200, told.text
            shown = client.get(f"{other.url}/v1/decisions/{decision_id}", headers=other.admin())
            assert shown.status_code == 200 and shown.json()["decision"]["customer"] == f"fb-{n}"


def test_200_concurrent_redemptions_over_two_workers_give_exactly_the_limit(pair: Pair) -> None:
    from concurrent.futures import ThreadPoolExecutor

    limit = {"kind": "percent_off", "value": 10, "max_redemptions": 50}
    with httpx.Client(timeout=30) as client:
        put = client.put(f"{pair.a.url}/v1/offers/fifty", json=limit, headers=pair.a.admin())
        assert put.status_code == 200, put.text

        def decide(n: int) -> str:
            server = pair.a if n % 2 else pair.b
            body = {"placement": "cart", "customer_id": f"r{n}", "offers": 1}
            deadline = time.monotonic() + 10  # the other worker takes the offer up within 1 s
            while True:
                answer = client.post(
                    f"{server.url}/v1/decisions", json=body, headers=server.admin()
                )
                assert answer.status_code == 200, answer.text
                offered = [o["offer_id"] for o in answer.json()["offers"]]
                if offered == ["fifty"] or time.monotonic() > deadline:
                    assert offered == ["fifty"]
                    return str(answer.json()["decision_id"])
                time.sleep(0.05)

        decisions = [decide(n) for n in range(200)]

        def redeem(n: int) -> int:
            server = pair.b if n % 2 else pair.a  # the other worker than the one that decided
            body = {"decision_id": decisions[n], "type": "redeemed", "offer_id": "fifty"}
            answer = client.post(f"{server.url}/v1/feedback", json=body, headers=server.admin())
            return answer.status_code

        with ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(redeem, range(200)))
        assert codes.count(200) == 50 and codes.count(409) == 150
        for server in (pair.a, pair.b):
            usage = client.get(f"{server.url}/v1/offers/fifty", headers=server.admin()).json()
            assert usage["redemptions"] == 50


def test_a_segment_built_on_one_worker_while_another_ingests_counts_each_event_once(
    pair: Pair,
) -> None:
    import random

    # customer seg-j gets exactly j events, sent to A in small batches while B builds
    plan = [f"seg-{j}" for j in range(1, 41) for _ in range(j)]
    random.Random(7).shuffle(plan)
    batches = [plan[i : i + 20] for i in range(0, len(plan), 20)]
    halfway = threading.Event()

    def ingest() -> None:
        with httpx.Client(timeout=10) as client:
            for n, customers in enumerate(batches):
                body = {"events": [event(f"seg-{n}-{i}", customer_id=c)
                                   for i, c in enumerate(customers)]}  # fmt: skip
                answer = client.post(f"{pair.a.url}/v1/events", json=body, headers=pair.a.ingest())
                assert answer.status_code == 200
                if n == len(batches) // 3:
                    halfway.set()
                time.sleep(0.01)

    thread = threading.Thread(target=ingest)
    thread.start()
    thresholds = (5, 12, 20, 27, 33)
    with httpx.Client(timeout=30) as client:
        assert halfway.wait(30)
        for threshold in thresholds:  # each built from the log while A keeps appending
            put = client.put(
                f"{pair.b.url}/v1/segments/at-least-{threshold}",
                json={"event": "product_viewed", "min_count": threshold},
                headers=pair.b.admin(),
            )
            assert put.status_code in (200, 201), put.text
        thread.join()
        for threshold in thresholds:
            expected = sorted(f"seg-{j}" for j in range(threshold, 41))
            for server in (pair.a, pair.b):
                url = f"{server.url}/v1/segments/at-least-{threshold}/members"
                deadline = time.monotonic() + 10  # the definition reaches the other within 1 s
                while True:
                    members = client.get(url, headers=server.admin())
                    if members.status_code != 404 or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                assert members.status_code == 200, members.text
                assert sorted(members.json()["members"]) == expected, (server.url, threshold)


def test_a_decision_makes_at_most_three_redis_round_trips(pair: Pair) -> None:
    """Counted by the worker itself (``retailor_redis_round_trips_total``): the feed's
    head, and for an offer with limits the ledger's read and its award."""
    import re

    def trips(server: LiveServer) -> dict[str, float]:
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
        pattern = r'retailor_redis_round_trips_total\{call="([^"]+)"\} ([0-9.e+]+)'
        return {call: float(n) for call, n in re.findall(pattern, text)}

    with httpx.Client(timeout=10) as client:
        limited = {"kind": "percent_off", "value": 5, "max_redemptions": 1000,
                   "frequency_cap": {"per_day": 100}}  # fmt: skip
        assert client.put(
            f"{pair.b.url}/v1/offers/limited", json=limited, headers=pair.b.admin()
        ).is_success
        body = {"placement": "cart", "customer_id": "trips", "offers": 1}
        first = client.post(f"{pair.b.url}/v1/decisions", json=body, headers=pair.b.admin())
        assert [o["offer_id"] for o in first.json()["offers"]] == ["limited"]
        before = trips(pair.b)
        for _ in range(20):
            answer = client.post(f"{pair.b.url}/v1/decisions", json=body, headers=pair.b.admin())
            assert [o["offer_id"] for o in answer.json()["offers"]] == ["limited"]
        after = trips(pair.b)
    on_the_path = {
        call: after.get(call, 0) - before.get(call, 0)
        for call in (
            "RedisEventFeed.head_async",
            "RedisOfferLedger._allowed_in_redis",
            "RedisOfferLedger._award_in_redis",
            "RedisHotCache.get",
        )
    }
    assert on_the_path["RedisEventFeed.head_async"] == 20  # one look at the feed per decision
    assert sum(on_the_path.values()) <= 3 * 20, on_the_path


def test_a_catalog_change_on_one_worker_is_honoured_by_the_other(pair: Pair) -> None:
    """An item put out of stock through one worker leaves the other's decisions within a
    deadline (the followers poll every 0.5 s: within a second)."""
    items = [{"item_id": f"cat-{n}", "name": f"Item {n}", "price": 5.0 + n, "stock": 10}
             for n in range(3)]  # fmt: skip
    arrivals = {
        "sources": [{"source": "new_arrivals"}],
        "rules": [{"kind": "exclude_out_of_stock"}],
        "k": 3,
    }
    with httpx.Client(timeout=10) as client:
        assert client.put(f"{pair.a.url}/v1/catalog/items", json={"items": items},
                          headers=pair.a.admin()).is_success  # fmt: skip
        assert client.put(f"{pair.a.url}/v1/placements/arrivals", json=arrivals,
                          headers=pair.a.admin()).is_success  # fmt: skip

        def shown_by_b() -> set[str]:
            answer = client.post(
                f"{pair.b.url}/v1/decisions",
                json={"placement": "arrivals", "customer_id": "cat-c"},
                headers=pair.b.admin(),
            )
            if answer.status_code != 200:
                return set()
            return {item["item_id"] for item in answer.json()["items"]}

        deadline = time.monotonic() + 10
        while shown_by_b() != {"cat-0", "cat-1", "cat-2"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert shown_by_b() == {"cat-0", "cat-1", "cat-2"}
        gone = {"items": [{"item_id": "cat-1", "stock": 0}]}
        assert client.put(f"{pair.a.url}/v1/catalog/items", json=gone,
                          headers=pair.a.admin()).is_success  # fmt: skip
        deadline = time.monotonic() + 10
        while "cat-1" in shown_by_b() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert shown_by_b() == {"cat-0", "cat-2"}
