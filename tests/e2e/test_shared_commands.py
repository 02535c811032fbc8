"""Commands on the shared stores while a worker runs: with the worker's settings (and a
data directory of their own), ``retailor import``, ``keys``, ``segments``, ``train`` and
``recommend`` work on PostgreSQL + Redis, and the worker takes up what they did."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import start_server, stop_server


def _retailor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "retailor", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done


def _eventually(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_commands_work_on_the_shared_stores_while_a_worker_runs(
    postgres_dsn: str, redis_dsn: str, tmp_path: Path
) -> None:
    env = {"RETAILOR_STORAGE": postgres_dsn, "RETAILOR_STATE": redis_dsn}
    server = start_server(tmp_path / "worker", env={"RETAILOR_STATE": redis_dsn},
                          storage_dsn=postgres_dsn)  # fmt: skip
    cli = ["--data", str(tmp_path / "cli")]
    try:
        events = tmp_path / "events.jsonl"
        with events.open("w") as out:
            for n in range(600):
                customer = f"c{n % 30}"
                kind = "order_completed" if n % 5 == 0 else "product_viewed"
                props: dict[str, object] = {"item_id": f"sku-{n % 12}"}
                if kind == "order_completed":
                    props = {"order_id": f"o{n}", "lines": [
                        {"item_id": f"sku-{n % 12}", "quantity": 1, "price": 10.0}]}  # fmt: skip
                out.write(json.dumps({
                    "event_id": f"imp-{n}", "type": kind, "customer_id": customer,
                    "timestamp": f"2026-11-{1 + n % 28:02d}T10:00:00Z", "properties": props,
                }) + "\n")  # fmt: skip
        _retailor(env, "import", "events", str(events), *cli)

        key = _retailor(env, "keys", "create", "--scope", "admin", *cli).stdout.strip()
        admin = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, timeout=30, headers=admin) as client:
            # the import is folded by the running worker (and the new key works there)
            def imported() -> bool:
                answer = client.get("/v1/customers/c3")
                return answer.status_code == 200 and answer.json()["traits"]["event_count"] == 20

            assert _eventually(imported)

            definition = tmp_path / "buyers.json"
            definition.write_text(json.dumps({"event": "order_completed", "min_count": 1}))
            _retailor(env, "segments", "put", "buyers", str(definition), *cli)
            assert _eventually(lambda: client.get("/v1/segments/buyers").status_code == 200)
            exported = tmp_path / "buyers.csv"
            _retailor(env, "segments", "export", "buyers", "--output", str(exported), *cli)
            with exported.open() as handle:
                members = {row["customer_id"] for row in csv.DictReader(handle)}
            assert members == {f"c{n}" for n in range(0, 30, 5)}

            _retailor(env, "train", "--models", "popularity", *cli)

            def trained() -> bool:
                body = {"placement": "home", "customer_id": "c1"}
                answer = client.post("/v1/decisions", json=body)
                return "popularity" in answer.json().get("model_versions", {})

            assert _eventually(trained)

            lists = tmp_path / "lists.csv"
            _retailor(env, "recommend", "--all", "--k", "3", "--model", "popularity",
                      "--output", str(lists), *cli)  # fmt: skip
            with lists.open() as handle:
                rows = list(csv.DictReader(handle))
            assert {row["customer_id"] for row in rows} >= {f"c{n}" for n in range(30)}
    finally:
        stop_server(server)
