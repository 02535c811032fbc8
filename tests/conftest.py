"""Shared fixtures: stores, an in-process app, and a real server process."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from starlette.testclient import TestClient

from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.runtime.server import build_server
from retailor.settings import Settings
from retailor.storage.factory import Storage, key_store, open_storage

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The PostgreSQL server the tests use (``make test`` starts it when it is down).
POSTGRES_DSN = os.environ.get("RETAILOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` with its connections working in ``schema``."""
    return f"{dsn}{'&' if '?' in dsn else '?'}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """A DSN of the test database whose connections work in a fresh schema, dropped after
    the test. Without a reachable server the test fails under CI (``CI=true``) and is
    skipped elsewhere."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {POSTGRES_DSN}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield with_search_path(POSTGRES_DSN, schema)
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


REDIS_DSN = os.environ.get("RETAILOR_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_dsn() -> Iterator[str]:
    """A DSN of the test Redis with a fresh namespace (``?namespace=t_…``) whose keys are
    deleted after the test. Without a reachable server the test fails under CI
    (``CI=true``) and is skipped elsewhere."""
    import redis

    client = redis.Redis.from_url(REDIS_DSN, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_DSN}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    namespace = f"t_{secrets.token_hex(6)}"
    try:
        yield f"{REDIS_DSN}?namespace={namespace}"
    finally:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()


@pytest.fixture(params=["memory", "duckdb", "postgres"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Every storage adapter, in turn."""
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
    else:
        dsn = "memory://" if request.param == "memory" else f"duckdb://{tmp_path / 'r.duckdb'}"
    opened = open_storage(dsn, tmp_path)
    yield opened
    opened.close()


@dataclass
class AppHarness:
    client: TestClient
    storage: Storage
    admin_key: str
    ingest_key: str
    settings: Settings

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def ingest(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ingest_key}"}

    def wait_idle(self) -> None:
        """Wait until the app's background threads have processed what came before."""
        assert self.client.app.state.services.wait_idle(60)  # type: ignore[attr-defined]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AppHarness]:
    """The app in-process over a DuckDB store in a temporary data directory."""
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    storage = open_storage(settings.storage_dsn, settings.data_dir)
    _, admin = create_key(storage.keys, Scope.ADMIN)
    _, ingest = create_key(storage.keys, Scope.INGEST)
    application = build_server(settings, storage)
    with TestClient(application, raise_server_exceptions=False) as client:
        yield AppHarness(client, storage, admin, ingest, settings)
    storage.close()


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    admin_key: str
    ingest_key: str
    process: subprocess.Popen[bytes]
    #: where the server's standard error goes (a file: a pipe nobody reads would stop a
    #: server that logs a lot)
    stderr_path: Path | None = None

    def stderr(self) -> str:
        """What the server wrote to its standard error so far."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path else ""

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def ingest(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ingest_key}"}


def start_server(
    data_dir: Path,
    port: int | None = None,
    env: dict[str, str] | None = None,
    storage_dsn: str | None = None,
) -> LiveServer:
    """Start ``retailor serve`` in its own process (with ``env`` added to its environment,
    e.g. ``RETAILOR_*`` settings, and on the database ``storage_dsn`` names when given) and
    wait until it answers."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    with key_store(storage_dsn or "", data_dir) as keys:
        _, admin = create_key(keys, Scope.ADMIN)
        _, ingest = create_key(keys, Scope.INGEST)
    if storage_dsn is not None:
        env = {**(env or {}), "RETAILOR_STORAGE": storage_dsn}
    stderr_path = data_dir.parent / f"{data_dir.name}-server-{port}.log"
    with stderr_path.open("wb") as stderr_file:  # the server keeps its own copy
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "retailor",
                "serve",
                "--data",
                str(data_dir),
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a large history takes a while to fold at start
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {stderr_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return LiveServer(url, data_dir, admin, ingest, process, stderr_path)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start within 90 s")


def stop_server(server: LiveServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server process on a free loopback port."""
    server = start_server(tmp_path / "live")
    yield server
    stop_server(server)


def event(event_id: str, kind: str = "product_viewed", **fields: object) -> dict[str, object]:
    """A valid native event for tests."""
    body: dict[str, object] = {"event_id": event_id, "type": kind, "customer_id": "c1"}
    if kind == "product_viewed":
        body["properties"] = {"item_id": "sku-1"}
    body.update(fields)
    return body
