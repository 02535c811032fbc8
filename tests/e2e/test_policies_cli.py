"""``retailor policies evaluate``: on a synthetic log with a known answer, and on the
decision log of a real server (through the server, then directly)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np

from retailor.client import Client
from retailor.decision.logged import ChoiceRow
from tests.conftest import start_server, stop_server

RATES = {"vip": {"o1": 0.1, "o2": 0.5, "o3": 0.2}, "new": {"o1": 0.3, "o2": 0.1, "o3": 0.2}}


def retailor(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_estimates_on_a_synthetic_log_contain_the_true_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    lines = []
    for n in range(12_000):
        segment = "vip" if n % 3 else "new"
        chosen = ["o1", "o2", "o3"][int(rng.integers(3))]
        row = ChoiceRow(
            decision_id=f"d{n}", at=start + timedelta(seconds=n), placement="home",
            features={"segments": segment}, eligible=["o1", "o2", "o3"], chosen=chosen,
            propensity=1 / 3, reward=float(rng.random() < RATES[segment][chosen]),
        )  # fmt: skip
        lines.append(msgspec.json.encode(row))
    log = tmp_path / "choices.ndjson"
    log.write_bytes(b"\n".join(lines))
    done = retailor("policies", "evaluate", "--log", log, "--policy", "always:o2", "--policy", "greedy",
                    "--policy", "uniform", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    truths = {
        "always:o2": (2 / 3) * 0.5 + (1 / 3) * 0.1,
        "greedy": (2 / 3) * 0.5 + (1 / 3) * 0.3,  # learns vip -> o2, new -> o1
        "uniform": (2 / 3) * 0.8 / 3 + (1 / 3) * 0.6 / 3,
    }
    for name, truth in truths.items():
        for estimator in ("ips", "snips", "dr"):
            est = report["policies"][name][estimator]
            assert abs(est["value"] - truth) < 0.03, (name, estimator, est, truth)
            assert est["ci95"][0] - 0.01 <= truth <= est["ci95"][1] + 0.01
    assert report["evaluated_on"] == 6000
    for wrong in ("always:nope", "always:"):
        refused = retailor("policies", "evaluate", "--log", log, "--policy", wrong)
        assert refused.returncode == 2 and "never eligible" in refused.stderr + refused.stdout
        assert "Traceback" not in refused.stderr


def test_a_data_directory_that_cannot_be_made_is_a_message_not_a_traceback() -> None:
    for args in (("keys", "create", "--scope", "admin"), ("policies", "evaluate")):
        done = retailor(*args, "--data", "/proc/retailor-cannot-be-here")
        assert done.returncode == 2, done
        assert "cannot use /proc/retailor-cannot-be-here" in done.stdout + done.stderr
        assert "Traceback" not in done.stderr


def test_policies_evaluate_reads_a_live_servers_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "retailor.toml").write_text('offer_policy = "uniform"\n')
    server = start_server(data)
    try:
        client = Client(server.url, server.admin_key)
        client.put_offer("o1", {"kind": "percent_off", "value": 10})
        client.put_offer("o2", {"kind": "free_shipping"})
        redeemed = 0
        for n in range(60):
            decision = client.decide("home", customer_id=f"c{n}", offers=1)
            offer = decision["offers"][0]
            assert offer["probability"] == 0.5
            if offer["offer_id"] == "o2" and n % 2 == 0:
                client.feedback(decision["decision_id"], "redeemed", offer_id="o2")
                redeemed += 1
        done = retailor("policies", "evaluate", "--data", data, "--policy", "always:o2", "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["choices"] == 60
    finally:
        stop_server(server)
    done = retailor(
        "policies",
        "evaluate",
        "--data",
        data,
        "--policy",
        "always:o1",
        "--train-share",
        "0.1",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["choices"] == 60
    assert report["policies"]["always:o1"]["ips"]["value"] == 0.0  # o1 was never redeemed
    empty = tmp_path / "empty"
    done = retailor("policies", "evaluate", "--data", empty)
    assert done.returncode == 2 and "at least 10" in done.stderr
