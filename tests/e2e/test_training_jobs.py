"""Training through a running server is a job: started at once (202), followed by its
status and progress, ended with the versions made or the reason it failed; the CLI and
the Python client follow it, so no request is held open for the training itself."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from retailor.client import Client, RetailorError
from tests.conftest import LiveServer, start_server, stop_server
from tests.e2e.test_recommendations import history, retailor


def ended(server: LiveServer, location: str) -> dict[str, Any]:
    """The job at ``location`` once it has ended (looked at every 0.2 s, for at most 2 min)."""
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = httpx.get(server.url + location, headers=server.admin()).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        assert job["status"] in ("queued", "running"), job
        time.sleep(0.2)


def test_training_through_a_running_server_is_a_job(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        client = Client(server.url, server.admin_key)
        items, events = history(datetime.now(UTC))
        client.upsert_items(items)
        assert client.send_events(events)["accepted"] == len(events)

        r = httpx.post(f"{server.url}/v1/models/train", params={"models": "popularity,item_item"},
                       headers=server.admin())  # fmt: skip
        assert r.status_code == 202, r.text
        started = r.json()
        assert r.headers["location"] == f"/v1/jobs/{started['job_id']}"
        assert started["status"] in ("queued", "running") and started["progress"]["total"] == 2
        job = ended(server, r.headers["location"])
        assert job["status"] == "succeeded" and job["error"] is None, job
        assert job["progress"]["done"] == job["progress"]["total"] == 2
        made = {m["name"]: m for m in job["result"]["models"]}
        assert set(made) == {"popularity", "item_item"}
        assert made["popularity"]["version"] == 1 and made["popularity"]["activated"]
        assert job["started_at"] and job["finished_at"]

        missing = httpx.get(f"{server.url}/v1/jobs/nope", headers=server.admin())
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

        # the CLI starts jobs and follows them; --json keeps one line per version
        trained = retailor("train", "--data", server.data_dir, "--models", "popularity,item_item,clv", "--json")  # fmt: skip
        assert trained.returncode == 0, trained.stderr
        assert "going through the server" in trained.stderr
        lines = [json.loads(line) for line in trained.stdout.splitlines()]
        assert [line["name"] for line in lines] == ["popularity", "item_item", "clv"]
        assert set(lines[0]) == {"name", "version", "activated", "gate", "metrics"}
        assert lines[0]["version"] == 2
        assert {"params", "created_at", "activated", "gate"} <= set(lines[2])

        # the Python client's train_models starts a job and waits for its result
        again = client.train_models(["popularity"])
        assert [(m["name"], m["version"]) for m in again["models"]] == [("popularity", 3)]
    finally:
        stop_server(server)


def test_a_failing_training_job_reports_its_error(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")  # no events: nothing to learn lifetime value from
    try:
        r = httpx.post(f"{server.url}/v1/models/clv/train", headers=server.admin())
        assert r.status_code == 202, r.text
        job = ended(server, r.headers["location"])
        assert job["status"] == "failed" and "no events yet" in job["error"], job
        assert job["result"] == {"models": []}

        cli = retailor("train", "--data", server.data_dir, "--models", "clv")
        assert cli.returncode == 1 and "clv not trained: no events yet" in cli.stderr, cli.stderr
        assert "Traceback" not in cli.stderr

        with Client(server.url, server.admin_key) as client, pytest.raises(RetailorError) as err:
            client.train("clv")
        assert "no events yet" in str(err.value)

        unknown = httpx.post(f"{server.url}/v1/models/train?models=nope", headers=server.admin())
        assert unknown.status_code == 404
    finally:
        stop_server(server)
