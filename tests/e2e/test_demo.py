"""`retailor demo` runs the simulated retailer through a real server and explains what to
try; `--history` loads the shipped slice of a real retailer's history instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port


def run_demo(data: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", "demo", "--data", str(data), "--port",
         str(free_port()), "--exit", *options],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "RETAILOR_NO_PROGRESS": "1"},
    )  # fmt: skip


def test_demo_simulates_compares_and_explains(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = run_demo(data, "--scale", "tiny")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Recommendations: what each arm earned" in out
    assert "Retailor earns" in out and "popularity only" in out
    assert "Offers: Retailor's bandit against a random offer and an oracle" in out
    assert "The demo is loaded" in out and "retailor serve --data" in out  # --exit: it stops
    assert "within an hour" in out  # the window of the server started again
    assert "curl -s -X POST" in out and "C000001" in out
    assert "/dashboard" in out and "view key: rk_view_" in out  # the demo ends with these
    for line in ("Segment-compatible endpoint:", "bad input: 3", "simulation.png"):
        assert line in result.stderr, result.stderr
    report = json.loads((data / "simulation.json").read_text())
    assert report["mode"] == "http" and report["error_count"] == 0
    assert (data / "simulation.png").read_bytes()[:4] == b"\x89PNG"
    assert not (data / "run" / "server.json").exists()  # the server stopped cleanly
    assert (data / ".retailor-demo").exists()  # the next demo may replace this directory


def test_demo_loads_a_real_history(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = run_demo(data, "--history")
    assert result.returncode == 0, result.stderr
    assert "The demo is loaded" in result.stdout
    assert "3 s to be redeemed" not in result.stdout  # no simulation: the normal window
    assert "curl -s -X POST" in result.stdout
    for line in (
        "catalog:",
        "order history:",
        "web browsing:",
        "Segment-compatible endpoint:",
        "bad input: 3",
    ):
        assert line in result.stderr, result.stderr
    assert not (data / "run" / "server.json").exists()


def test_demo_never_deletes_a_directory_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("important")
    result = run_demo(precious, "--scale", "tiny")
    assert result.returncode != 0 and "not empty" in result.stdout + result.stderr
    assert (precious / "notes.txt").read_text() == "important"
