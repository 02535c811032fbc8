"""Outages of the servers behind Retailor, without stopping the shared ones: a TCP proxy
in the test stands between Retailor and PostgreSQL (or Redis) and is cut, then restored.

While PostgreSQL is cut, a server answers what needs the database with a 503 problem
(``Retry-After``, naming the database, never a 500: every operation of the API is called
once while it is cut), acknowledges no event, keeps
answering what it holds in memory (decisions, profiles), and says "degraded" on
``/healthz``; once the database is back it stores events again by itself, and writes
the decisions it made meanwhile to the decision log.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from retailor.storage.errors import StorageUnavailableError
from retailor.storage.redis.connection import open_state
from tests.conftest import event, free_port, start_server, stop_server


class CuttableProxy:
    """Forwards TCP connections from a local port to ``upstream``; ``cut()`` drops every
    connection open and refuses new ones (closed at once) until ``restore()``."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source)
            self._drop(target)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            live = list(self._open)
        for sock in live:
            self._drop(sock)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()


def through(proxy: CuttableProxy, dsn: str) -> str:
    """``dsn`` with its host and port replaced by the proxy's."""
    parts = urlsplit(dsn)
    netloc = parts.netloc.rsplit("@", 1)
    where = f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=f"{netloc[0]}@{where}" if len(netloc) == 2 else where).geturl()


def upstream_of(dsn: str) -> tuple[str, int]:
    parts = urlsplit(dsn)
    return parts.hostname or "127.0.0.1", parts.port or 5432


@pytest.fixture
def postgres_proxy(postgres_dsn: str) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(upstream_of(postgres_dsn))
    yield proxy
    proxy.close()


def assert_unavailable(answer: httpx.Response, where: str) -> None:
    """A 503 problem naming the database, with Retry-After and no traceback."""
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["retry-after"]) > 0
    problem = answer.json()
    assert problem["status"] == 503 and problem["title"] == "Storage unavailable"
    assert f"PostgreSQL at postgres@{where}" in problem["detail"]
    assert "unreachable" in problem["detail"]
    assert "Traceback" not in answer.text


def stored_ids(dsn: str, table: str, column: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {row[0] for row in conn.execute(f"SELECT {column} FROM {table}")}


def eventually(check: Any, seconds: float = 60.0) -> Any:
    """Call ``check`` until it returns something true (or the deadline passes)."""
    deadline = time.monotonic() + seconds
    while True:
        outcome = check()
        if outcome or time.monotonic() > deadline:
            return outcome
        time.sleep(0.2)


def test_a_server_survives_a_postgres_outage(
    postgres_dsn: str, postgres_proxy: CuttableProxy, tmp_path: Path
) -> None:
    proxied = through(postgres_proxy, postgres_dsn)
    where = f"127.0.0.1:{postgres_proxy.port}/test"
    server = start_server(tmp_path / "data", storage_dsn=proxied)
    statuses: list[int] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:

            def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
                try:
                    answer = client.request(method, path, **kwargs)
                except httpx.TimeoutException:
                    raise AssertionError(f"{method} {path} got no answer in time") from None
                statuses.append(answer.status_code)
                return answer

            # before: the keys are met once (the server then holds them), data stored
            before = call("POST", "/v1/events", json=event("e-before"), headers=server.ingest())
            assert before.json()["accepted"] == 1
            items = {"items": [{"item_id": "sku-1", "name": "Mug", "price": 4.5}]}
            assert call("PUT", "/v1/catalog/items", json=items, headers=server.admin()).is_success
            assert call("GET", "/healthz").json()["status"] == "ok"
            document = call("GET", "/openapi.json").json()

            postgres_proxy.cut()

            # events: 503, never acknowledged
            down = call(
                "POST", "/v1/events", json={"events": [event("e-down-1"), event("e-down-2")]},
                headers=server.ingest(),
            )  # fmt: skip
            assert_unavailable(down, where)
            assert "send them again" in down.json()["detail"]
            again = call("POST", "/v1/events", json=event("e-down-3"), headers=server.ingest())
            assert_unavailable(again, where)

            health = call("GET", "/healthz")
            assert health.status_code == 503 and health.headers["retry-after"]
            assert health.json()["status"] == "degraded"
            assert any("PostgreSQL at" in why for why in health.json()["unavailable"])
            assert "limits" in health.json()

            # reads of the stores: 503; what is held in memory: answered
            assert_unavailable(call("GET", "/v1/catalog/items/sku-1", headers=server.admin()),
                               where)  # fmt: skip
            assert_unavailable(call("GET", "/v1/customers/c1/events", headers=server.admin()),
                               where)  # fmt: skip
            profile = call("GET", "/v1/customers/c1", headers=server.admin())
            assert profile.status_code == 200, profile.text
            decided = call(
                "POST", "/v1/decisions", json={"placement": "home", "customer_id": "c1"},
                headers=server.admin(),
            )  # fmt: skip
            assert decided.status_code == 200, decided.text
            decision_id = decided.json()["decision_id"]
            # kept for the decision log, and counted while it waits
            assert eventually(
                lambda: "retailor_decisions_unwritten 1.0" in call("GET", "/metrics").text
            ), "the decision waiting for the log is not counted"
            # a key never met cannot be checked while the key table is out of reach
            unknown = call("GET", "/v1/customers/c1", headers={"Authorization": "Bearer nope"})
            assert_unavailable(unknown, where)

            # every operation of the API, with an admin key and a body of nothing much:
            # whatever it answers, never a 500
            for path, operations in document["paths"].items():
                concrete = re.sub(r"\{[^}]+\}", "x1", path)
                for method in operations:
                    body = {} if method in ("put", "post", "patch") else None
                    # while the database is away an operation may wait for it a while
                    # (a flush of the decision log, a reconnection): never a 500
                    answer = call(method.upper(), concrete, json=body, headers=server.admin(),
                                  timeout=90)  # fmt: skip
                    if answer.status_code >= 500:
                        assert answer.status_code == 503, (method, path, answer.text)
                        assert "Traceback" not in answer.text

            postgres_proxy.restore()

            def accepted() -> bool:
                answer = call("POST", "/v1/events", json=event("e-after"), headers=server.ingest())
                return answer.status_code == 200

            assert eventually(accepted), "events were not accepted again after the outage"
            assert call("GET", "/healthz").json()["status"] == "ok"
            assert call("GET", "/v1/catalog/items/sku-1", headers=server.admin()).is_success

            stored = stored_ids(postgres_dsn, "events", "event_id")
            assert {"e-before", "e-after"} <= stored
            assert not stored & {"e-down-1", "e-down-2", "e-down-3"}
            # what was refused is stored when sent again
            resent = call(
                "POST", "/v1/events", json={"events": [event("e-down-1"), event("e-down-2")]},
                headers=server.ingest(),
            )  # fmt: skip
            assert resent.json()["accepted"] == 2
            # the decision made during the outage reaches the decision log
            assert eventually(
                lambda: decision_id in stored_ids(postgres_dsn, "decisions", "decision_id")
            ), "the decision made during the outage was not written"
            assert eventually(
                lambda: "retailor_decisions_unwritten 0.0" in call("GET", "/metrics").text
            )
            assert server.process.poll() is None
    finally:
        stop_server(server)
    assert 500 not in statuses, statuses


def test_redis_errors_become_storage_unavailable(redis_dsn: str) -> None:
    proxy = CuttableProxy(upstream_of(redis_dsn))
    try:
        state = open_state(through(proxy, redis_dsn))
        key = state.key("outage", "probe")
        with state.guard():
            state.client.set(key, "1")
        assert state.unavailable() is None

        proxy.cut()
        with pytest.raises(StorageUnavailableError) as caught, state.guard():
            state.client.get(key)
        assert f"Redis at 127.0.0.1:{proxy.port}/0 is unreachable" in str(caught.value)
        assert "Redis at" in (state.unavailable() or "")

        proxy.restore()

        def answers() -> bool:
            try:
                with state.guard():
                    return state.client.get(key) == b"1"
            except StorageUnavailableError:
                return False

        assert eventually(answers, 30), "the Redis client did not reconnect"
        state.close()
    finally:
        proxy.close()


def test_a_worker_configured_with_another_salt_refuses_to_start(
    postgres_dsn: str, tmp_path: Path
) -> None:
    first = start_server(tmp_path / "host-a", storage_dsn=postgres_dsn)
    stop_server(first)  # the database now holds the installation's salt
    refused = subprocess.run(
        [sys.executable, "-m", "retailor", "serve", "--data", str(tmp_path / "host-b"),
         "--port", str(free_port())],
        env={**os.environ, "RETAILOR_STORAGE": postgres_dsn,
             "RETAILOR_IDENTITY_SALT": "another-salt"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    said = refused.stdout + refused.stderr
    assert "identity_salt" in said and "Traceback" not in said


def test_a_worker_survives_a_redis_outage(
    postgres_dsn: str, redis_dsn: str, tmp_path: Path
) -> None:
    """Shared hot state cut: reads that must see every worker's events answer 503 naming
    Redis, events are still stored and acknowledged (they are durable in PostgreSQL), and
    once Redis is back the worker answers again by itself."""
    proxy = CuttableProxy(upstream_of(redis_dsn))
    server = start_server(
        tmp_path / "data",
        storage_dsn=postgres_dsn,
        env={"RETAILOR_STATE": through(proxy, redis_dsn)},
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            decide = {"placement": "home", "customer_id": "c1"}
            assert client.post("/v1/decisions", json=decide, headers=server.admin()).is_success
            proxy.cut()
            sent = client.post("/v1/events", json=event("r1"), headers=server.ingest())
            assert sent.status_code == 200 and sent.json()["accepted"] == 1
            for answer in (
                client.post("/v1/decisions", json=decide, headers=server.admin()),
                client.get("/v1/customers/c1", headers=server.admin()),
                client.get("/healthz"),
            ):
                assert answer.status_code == 503, answer.text
                assert "Traceback" not in answer.text
                assert "Redis at 127.0.0.1" in answer.text
            proxy.restore()
            back = eventually(
                lambda: (
                    client.post("/v1/decisions", json=decide, headers=server.admin()).status_code
                    == 200
                )
            )
            assert back
            profile = client.get("/v1/customers/c1", headers=server.admin())
            assert profile.status_code == 200 and profile.json()["traits"]["event_count"] == 1
        assert "r1" in stored_ids(postgres_dsn, "events", "event_id")
    finally:
        stop_server(server)
        proxy.close()
