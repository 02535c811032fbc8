"""``benchmarks/hostile.py`` in a tiny configuration, so that it cannot rot: every phase
runs against a real server, and the figures it writes say no 5xx and no acknowledged
event lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "hostile.py"


@pytest.mark.timeout(280)
def test_the_hostile_input_report_runs_and_finds_nothing_wrong(tmp_path: Path) -> None:
    figures = tmp_path / "hostile.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--examples", "1", "--batches", "12", "--slow", "2",
         "--json", str(figures)],
        capture_output=True, text=True, timeout=260,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(figures.read_text())
    assert set(result["phases"]) == {
        "schemathesis", "mixed batches", "slow clients", "answered meanwhile", "oversized"
    }  # fmt: skip
    assert result["inputs_tried"] == sum(result["statuses"].values()) > 100
    assert result["5xx"] == 0 and result["server_tracebacks"] == 0
    assert result["acknowledged_events"] > 0
    assert result["acknowledged_events_lost"] == 0, result["lost_ids"]
    assert result["inconsistent_answers"] == []
    assert "acknowledged events lost: 0" in done.stdout
