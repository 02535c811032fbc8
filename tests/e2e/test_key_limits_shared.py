"""Key limits where many workers share one PostgreSQL database and one Redis: a key's rate
limit is one limit across the workers, and expiry and last use reach them all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from retailor.domain.access import RateLimit, Scope
from retailor.privacy.keys import create_key
from retailor.storage.factory import key_store
from tests.conftest import LiveServer, event, start_server, stop_server
from tests.e2e.test_key_limits import wait_for


@pytest.fixture
def workers(postgres_dsn: str, redis_dsn: str, tmp_path: Path) -> Iterator[list[LiveServer]]:
    env = {"RETAILOR_STATE": redis_dsn, "RETAILOR_IDENTITY_SALT": "one-salt-for-all-workers"}
    started = []
    try:
        for host in ("host-a", "host-b"):
            started.append(start_server(tmp_path / host, env=env, storage_dsn=postgres_dsn))
        yield started
    finally:
        for server in started:
            stop_server(server)


def test_a_rate_limit_is_shared_by_the_workers(
    workers: list[LiveServer], postgres_dsn: str, tmp_path: Path
) -> None:
    with key_store(postgres_dsn, tmp_path) as keys:
        # one request an hour after a burst of 5: no refill while the test runs
        _, secret = create_key(keys, Scope.INGEST, rate_limit=RateLimit.parse("1/h burst 5"))
    headers = {"Authorization": f"Bearer {secret}"}
    answers = []
    with httpx.Client(timeout=10) as client:
        for n in range(20):
            server = workers[n % 2]  # spread over the two workers
            answers.append(
                client.post(f"{server.url}/v1/events", json=event(f"shared-{n}"), headers=headers)
            )
    assert sum(1 for a in answers if a.status_code == 200) == 5
    refused = [a for a in answers if a.status_code != 200]
    assert len(refused) == 15 and all(a.status_code == 429 for a in refused)
    assert {a.url.port for a in refused} == {httpx.URL(w.url).port for w in workers}
    for answer in refused:
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert int(answer.headers["retry-after"]) >= 1


def test_expiry_and_last_use_reach_every_worker(
    workers: list[LiveServer], postgres_dsn: str, tmp_path: Path
) -> None:
    with key_store(postgres_dsn, tmp_path) as keys:
        key, secret = create_key(keys, Scope.INGEST)
    headers = {"Authorization": f"Bearer {secret}"}
    before = datetime.now(UTC)
    for n, server in enumerate(workers):
        sent = httpx.post(f"{server.url}/v1/events", json=event(f"used-{n}"), headers=headers)
        assert sent.status_code == 200, sent.text

    def last_used() -> datetime | None:
        with key_store(postgres_dsn, tmp_path) as keys:
            return next(k.last_used_at for k in keys.all() if k.key_id == key.key_id)

    assert wait_for(lambda: (last_used() or before - timedelta(days=1)) >= before)

    with key_store(postgres_dsn, tmp_path) as keys:
        assert keys.expire(key.key_id, datetime.now(UTC) - timedelta(seconds=1))
    for n, server in enumerate(workers):

        def expired(server: LiveServer = server, n: int = n) -> bool:
            answer = httpx.post(
                f"{server.url}/v1/events", json=event(f"late-{n}"), headers=headers, timeout=10
            )
            return answer.status_code == 401 and answer.json()["title"] == "API key expired"

        assert wait_for(expired)
