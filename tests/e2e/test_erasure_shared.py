"""Erasure to the byte on shared stores: two servers on one PostgreSQL database and one
Redis. The person is erased through one of them; a scan of PostgreSQL (every text column
of every table, and the files of every table, index and TOAST), of Redis (every key,
by type and as DUMP) and of both data directories finds their identifiers before and
none after; both servers forget them, refuse their events and answer them as strangers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import LiveServer, start_server, stop_server
from tests.e2e.test_erasure import (
    CARD,
    CUSTOMER,
    DEVICE,
    EMAIL,
    IDENTIFIERS,
    PHONE,
    erase,
    fill,
    get,
    post,
)
from tests.privacy_scan import scan_data_dir, scan_postgres, scan_redis


@pytest.fixture
def servers(postgres_dsn: str, redis_dsn: str, tmp_path: Path) -> Iterator[list[LiveServer]]:
    env = {"RETAILOR_STATE": redis_dsn, "RETAILOR_IDENTITY_SALT": "one-salt-for-all-workers"}
    first = start_server(tmp_path / "a", env=env, storage_dsn=postgres_dsn)
    second = None
    try:
        second = start_server(tmp_path / "b", env=env, storage_dsn=postgres_dsn)
        yield [first, second]
    finally:
        stop_server(first)
        if second is not None:
            stop_server(second)


def scan_all(servers: list[LiveServer], postgres_dsn: str, redis_dsn: str) -> list[str]:
    found = scan_postgres(postgres_dsn, IDENTIFIERS) + scan_redis(redis_dsn, IDENTIFIERS)
    for server in servers:
        found += scan_data_dir(server.data_dir, IDENTIFIERS)
    return found


def gone_everywhere(servers: list[LiveServer]) -> bool:
    asked = [CUSTOMER, DEVICE, "email:" + EMAIL, "phone:" + PHONE, "loyalty_card:" + CARD]
    return all(
        get(s, f"/v1/customers/{quote(i, safe='')}").status_code == 404
        for s in servers
        for i in asked
    )


def test_an_erased_person_leaves_no_byte_in_postgres_or_redis(
    servers: list[LiveServer], postgres_dsn: str, redis_dsn: str
) -> None:
    first, second = servers
    fill(first)
    for _ in range(100):  # the second server follows the shared log
        if get(second, f"/v1/customers/{quote('email:' + EMAIL, safe='')}").status_code == 200:
            break
        time.sleep(0.1)
    before = scan_all(servers, postgres_dsn, redis_dsn)
    assert {f.rsplit(": ", 1)[1] for f in before} == set(IDENTIFIERS), before

    done = erase(second, "email:" + EMAIL)
    assert done["receipt"]["event_log"] == 8, done  # type: ignore[index]
    for _ in range(100):  # the process that did not run it forgets within a second or so
        if gone_everywhere(servers):
            break
        time.sleep(0.1)
    assert gone_everywhere(servers)
    late = {"event_id": "zed-late", "type": "product_viewed", "customer_id": CUSTOMER,
            "properties": {"item_id": "sku-2"}}  # fmt: skip
    assert post(first, "/v1/events", {"events": [late]}).status_code == 200
    assert (
        post(second, "/v1/events", {"events": [late | {"event_id": "zed-late-2"}]}).status_code
        == 200
    )
    time.sleep(0.5)
    assert gone_everywhere(servers)
    for server in servers:
        cold = post(server, "/v1/decisions", {"placement": "home", "customer_id": CUSTOMER})
        stranger = post(server, "/v1/decisions", {"placement": "home", "customer_id": "nobody-y"})
        assert cold.status_code == 200
        assert [i["item_id"] for i in cold.json()["items"]] == [
            i["item_id"] for i in stranger.json()["items"]
        ]
    again = erase(first, CUSTOMER)
    assert set(again["receipt"].values()) == {0}, again  # type: ignore[union-attr]
    after = scan_all(servers, postgres_dsn, redis_dsn)
    assert after == [], "\n".join(after)
