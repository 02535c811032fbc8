"""`retailor demo` loads the shipped sample through a real server and explains what to try."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port


def test_demo_loads_and_explains(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "retailor",
            "demo",
            "--data",
            str(data),
            "--port",
            str(free_port()),
            "--exit",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Retailor is running at http://127.0.0.1:" in result.stdout
    assert "curl -s -X POST" in result.stdout
    for line in (
        "catalog:",
        "order history:",
        "web browsing:",
        "Segment-compatible endpoint:",
        "bad input: 3",
    ):
        assert line in result.stderr, result.stderr
    assert not (data / "run" / "server.json").exists()  # the server stopped cleanly
