"""The benchmark scripts explain themselves: ``--help`` works without any server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize(
    ("script", "option"),
    [
        ("scaleout.py", "--events"),
        ("decisions.py", "--rate"),
        ("ingest.py", "--seconds"),
        ("hostile.py", "--examples"),
        ("erasure.py", "--batch"),
    ],
)
def test_help_names_the_options(script: str, option: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert option in done.stdout
    assert "usage:" in done.stdout
