"""Scale-out on PostgreSQL: serving processes on separate data directories share what any
of them changes — a model version trained through one is used by the others' decisions,
a catalog item put through one is known to the others' decisions — and of them all one
holds the background lease, which another takes over when the holder is killed.
``retailor serve --workers N`` runs N processes on one port; the embedded store refuses
it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer, free_port, start_server, stop_server
from tests.e2e.test_training_jobs import ended, history


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def runs_background(server: LiveServer) -> bool:
    try:
        return bool(httpx.get(f"{server.url}/healthz", timeout=5).json()["background"])
    except httpx.HTTPError:
        return False


def decide(server: LiveServer, placement: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{server.url}/v1/decisions",
        json={"placement": placement, "customer_id": "c1"},
        headers=server.admin(),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def lease_status(data_dir: Path, dsn: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "retailor", "worker", "--status", "--data", str(data_dir)],
        env={**os.environ, "RETAILOR_STORAGE": dsn},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_servers_share_models_catalog_and_the_background_lease(
    postgres_dsn: str, tmp_path: Path
) -> None:
    first = start_server(tmp_path / "host-a", storage_dsn=postgres_dsn)
    second = start_server(tmp_path / "host-b", storage_dsn=postgres_dsn)
    try:
        items, events = history(datetime.now(UTC))
        with httpx.Client(base_url=first.url, timeout=30) as client:
            put = client.put("/v1/catalog/items", json={"items": items}, headers=first.admin())
            assert put.is_success, put.text
            sent = client.post("/v1/events", json={"events": events}, headers=first.ingest())
            assert sent.json()["accepted"] == len(events)

        # a version trained through the first server is used by the second's decisions
        started = httpx.post(
            f"{first.url}/v1/models/popularity/train", headers=first.admin(), timeout=10
        )
        assert started.status_code == 202, started.text
        job = ended(first, started.headers["location"])
        assert job["status"] == "succeeded", job
        (made,) = job["result"]["models"]
        assert made["activated"]
        assert wait_for(
            lambda: decide(second, "home")["model_versions"].get("popularity") == made["version"],
            seconds=10,
        )

        # an item put through the first server is among the second's new arrivals
        arrivals = {"sources": [{"source": "new_arrivals"}], "k": 3}
        put = httpx.put(
            f"{second.url}/v1/placements/arrivals", json=arrivals, headers=second.admin()
        )
        assert put.status_code == 200, put.text
        assert "sku-fresh" not in [i["item_id"] for i in decide(second, "arrivals")["items"]]
        fresh = {"items": [{"item_id": "sku-fresh", "name": "Fresh", "price": 9.0, "stock": 5}]}
        put = httpx.put(f"{first.url}/v1/catalog/items", json=fresh, headers=first.admin())
        assert put.is_success, put.text
        assert wait_for(
            lambda: "sku-fresh" in [i["item_id"] for i in decide(second, "arrivals")["items"]],
            seconds=10,
        )

        # one of them runs the background jobs; killed, the other takes them over
        assert wait_for(lambda: runs_background(first) or runs_background(second), seconds=30)
        holder, other = (first, second) if runs_background(first) else (second, first)
        assert not runs_background(other)
        assert f":{holder.process.pid}:" in lease_status(tmp_path / "cli", postgres_dsn)
        holder.process.send_signal(signal.SIGKILL)
        holder.process.wait(10)
        assert wait_for(lambda: runs_background(other), seconds=60)
        assert f":{other.process.pid}:" in lease_status(tmp_path / "cli", postgres_dsn)
    finally:
        stop_server(first)
        stop_server(second)


def test_serve_workers_share_one_port(postgres_dsn: str, redis_dsn: str, tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "retailor", "serve", "--workers", "2",
         "--data", str(tmp_path / "data"), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "RETAILOR_STORAGE": postgres_dsn, "RETAILOR_STATE": redis_dsn,
             "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/healthz"
    seen: set[bool] = set()

    def answered_by_both() -> bool:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        # a new connection each time: the kernel picks a worker for each
        with contextlib.suppress(httpx.HTTPError):
            seen.add(bool(httpx.get(url, timeout=2).json()["background"]))
        return seen == {True, False}

    try:
        # one worker holds the background lease, the other does not: two processes answer
        assert wait_for(answered_by_both, seconds=90)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0


def test_the_embedded_store_has_one_process(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "retailor", "serve", "--workers", "2", "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "--workers 2 needs shared storage" in refused.stderr + refused.stdout
    worker = subprocess.run(
        [sys.executable, "-m", "retailor", "worker", "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert worker.returncode != 0
    assert "needs shared storage" in worker.stderr + worker.stdout
