"""API keys that expire, rotate, record their last use, allow web origins and carry rate
limits, against a real embedded server and the ``retailor keys`` commands."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from retailor.privacy.keys import hash_secret
from retailor.storage.factory import key_store
from tests.conftest import LiveServer, event, start_server, stop_server

SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        Path(tmp_path_factory.mktemp("keys")) / "data",
        env={"RETAILOR_RATE_LIMIT_VIEW": "1/h burst 2"},
    )
    yield live
    stop_server(live)


def keys_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "retailor", "keys", *args, "--data", str(data_dir)],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout.strip()


def listed(data_dir: Path, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    lines = keys_cli(data_dir, "list", "--json", env=env).splitlines()
    return {row["key_id"]: row for row in map(json.loads, lines)}


def id_of(data_dir: Path, secret: str, storage_dsn: str = "") -> str:
    """The id of the key with ``secret``."""
    with key_store(storage_dsn, data_dir) as keys:
        found = keys.find(hash_secret(secret))
    assert found is not None
    return found.key_id


def send(server: LiveServer, key: str, n: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/events", json=event(n), timeout=10,
        headers={"Authorization": f"Bearer {key}", **headers},
    )  # fmt: skip


def wait_for(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_rotated_key_works_through_the_overlap_then_expires(server: LiveServer) -> None:
    data = server.data_dir
    old = keys_cli(data, "create", "--scope", "ingest", "--name", "app", "--rate-limit", "100/s")
    old_id = id_of(data, old)
    assert send(server, old, "rot-1").status_code == 200
    new = keys_cli(data, "rotate", old_id, "--overlap", "2s")
    assert new.startswith("rk_ingest_") and new != old
    assert send(server, old, "rot-2").status_code == 200  # both work meanwhile
    assert send(server, new, "rot-3").status_code == 200
    rows = listed(data)
    [new_row] = [r for r in rows.values() if r.get("rotated_from") == old_id]
    assert new_row["name"] == "app" and new_row["scope"] == "ingest"
    assert new_row["rate_limit"] == {"per_second": 100.0, "burst": 100}
    assert rows[old_id]["expires_at"] is not None

    assert wait_for(lambda: send(server, old, "rot-4").status_code == 401)
    refused = send(server, old, "rot-5")
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["title"] == "API key expired"
    assert old_id in problem["detail"] and "retailor keys rotate" in problem["detail"]
    assert send(server, new, "rot-6").status_code == 200


def test_a_key_whose_time_has_passed_is_refused(server: LiveServer) -> None:
    secret = keys_cli(server.data_dir, "create", "--scope", "serve", "--expires-in", "90d")
    key_id = id_of(server.data_dir, secret)
    row = listed(server.data_dir)[key_id]
    expires = datetime.fromisoformat(row["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    headers = {"Authorization": f"Bearer {secret}"}
    asked = {"placement": "home", "customer_id": "c1"}
    decided = httpx.post(f"{server.url}/v1/decisions", json=asked, headers=headers, timeout=10)
    assert decided.status_code == 200, decided.text
    with key_store("", server.data_dir) as keys:
        assert keys.expire(key_id, datetime.now(UTC) - timedelta(minutes=1))

    def refused() -> bool:
        answer = httpx.post(f"{server.url}/v1/decisions", json=asked, headers=headers, timeout=10)
        return answer.status_code == 401 and answer.json()["title"] == "API key expired"

    assert wait_for(refused)


def test_the_last_use_of_a_key_is_recorded(server: LiveServer) -> None:
    secret = keys_cli(server.data_dir, "create", "--scope", "ingest")
    key_id = id_of(server.data_dir, secret)
    assert listed(server.data_dir)[key_id]["last_used_at"] is None
    before = datetime.now(UTC)
    assert send(server, secret, "used-1").status_code == 200

    def recorded() -> bool:
        at = listed(server.data_dir)[key_id]["last_used_at"]
        return at is not None and datetime.fromisoformat(at) >= before - timedelta(seconds=1)

    assert wait_for(recorded)
    assert key_id in keys_cli(server.data_dir, "list")  # the table shows it too


def test_an_ingest_key_answers_the_origins_it_allows(server: LiveServer) -> None:
    data = server.data_dir
    web = keys_cli(data, "create", "--scope", "ingest", "--origin", SHOP,
                   "--origin", "http://localhost:3000")  # fmt: skip
    assert listed(data)[id_of(data, web)]["allowed_origins"] == [SHOP, "http://localhost:3000"]

    allowed = send(server, web, "cors-ok", Origin=SHOP)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in allowed.headers["vary"]

    other = send(server, web, "cors-other", Origin="https://evil.example")
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("application/problem+json")
    assert "access-control-allow-origin" not in other.headers
    assert "evil.example" in other.json()["detail"]

    server_side = send(server, server.ingest_key, "cors-server", Origin=SHOP)
    assert (
        server_side.status_code == 403 and "access-control-allow-origin" not in server_side.headers
    )
    assert "--origin" in server_side.json()["detail"]
    admin = send(server, server.admin_key, "cors-admin", Origin=SHOP)
    assert admin.status_code == 403 and "access-control-allow-origin" not in admin.headers
    same_origin = send(server, server.ingest_key, "cors-same", Origin=server.url)
    assert (
        same_origin.status_code == 200 and "access-control-allow-origin" not in same_origin.headers
    )

    # a Segment library in the page, its write key as the Basic user name
    basic = base64.b64encode(f"{web}:".encode()).decode()
    tracked = httpx.post(
        f"{server.url}/v1/track", timeout=10,
        json={"type": "track", "event": "Product Viewed", "userId": "u1",
              "properties": {"product_id": "sku-1"}, "messageId": "cors-segment"},
        headers={"Authorization": f"Basic {basic}", "Origin": SHOP},
    )  # fmt: skip
    assert tracked.status_code == 200, tracked.text
    assert tracked.headers["access-control-allow-origin"] == SHOP

    timeline = httpx.get(f"{server.url}/v1/customers/c1/events?limit=1000",
                         headers=server.admin(), timeout=10).json()  # fmt: skip
    stored = {e["event_id"] for e in timeline["events"]}
    assert {"cors-ok", "cors-same"} <= stored
    assert not {"cors-other", "cors-server", "cors-admin"} & stored


def test_a_preflight_allows_only_the_origins_of_ingest_keys(server: LiveServer) -> None:
    keys_cli(server.data_dir, "create", "--scope", "ingest", "--origin", "https://pre.example")
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
    for path in ("/v1/events", "/v1/track", "/v1/identify", "/v1/page", "/v1/screen",
                 "/v1/alias", "/v1/batch"):  # fmt: skip
        allowed = httpx.options(f"{server.url}{path}", timeout=10,
                                headers={**ask, "Origin": "https://pre.example"})  # fmt: skip
        assert allowed.status_code == 204, path
        assert allowed.headers["access-control-allow-origin"] == "https://pre.example"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        other = httpx.options(f"{server.url}{path}", timeout=10,
                              headers={**ask, "Origin": "https://evil.example"})  # fmt: skip
        assert other.status_code == 204
        assert "access-control-allow-origin" not in other.headers
        assert "POST" in other.headers["access-control-allow-methods"]
    # nothing but the ingest endpoints speaks CORS
    decided = httpx.post(
        f"{server.url}/v1/decisions", json={"placement": "home", "customer_id": "c1"},
        headers={**server.admin(), "Origin": "https://pre.example"}, timeout=10,
    )  # fmt: skip
    assert decided.status_code == 200 and "access-control-allow-origin" not in decided.headers
    preflight = httpx.options(f"{server.url}/v1/decisions", timeout=10,
                              headers={**ask, "Origin": "https://pre.example"})  # fmt: skip
    assert preflight.status_code == 405 and "access-control-allow-origin" not in preflight.headers


def test_a_key_past_its_rate_limit_is_told_when_to_retry(server: LiveServer) -> None:
    limited = keys_cli(server.data_dir, "create", "--scope", "ingest",
                       "--rate-limit", "1/h", "--burst", "3")  # fmt: skip
    answers = [send(server, limited, f"rl-{n}") for n in range(6)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429, 429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    assert "1/h burst 3" in refused.json()["detail"]
    # a view key takes the server's default for its scope (1/h burst 2)
    viewer = keys_cli(server.data_dir, "create", "--scope", "view")
    read = [
        httpx.get(f"{server.url}/v1/reports", timeout=10,
                  headers={"Authorization": f"Bearer {viewer}"}).status_code
        for _ in range(3)
    ]  # fmt: skip
    assert all(status < 500 and status != 429 for status in read[:2]) and read[2] == 429


def test_the_keys_commands_refuse_what_cannot_be(server: LiveServer) -> None:
    def refused(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "retailor", "keys", *args, "--data", str(server.data_dir)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode != 0
        return done.stderr + done.stdout

    assert "only ingest keys" in refused("create", "--scope", "serve", "--origin", SHOP)
    assert "without a path" in refused("create", "--scope", "ingest", "--origin", SHOP + "/")
    assert "90d" in refused("create", "--scope", "ingest", "--expires-in", "soon")
    assert "not in the future" in refused(
        "create", "--scope", "ingest", "--expires-at", "2001-01-01T00:00:00Z"
    )
    assert "100/s" in refused("create", "--scope", "ingest", "--rate-limit", "fast")
    assert "no key" in refused("rotate", "key_ingest_00000000")
