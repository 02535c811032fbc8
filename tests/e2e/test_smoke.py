import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import LiveServer, event, free_port


def test_live_server_accepts_an_event(live_server: LiveServer) -> None:
    r = httpx.post(
        f"{live_server.url}/v1/events", json=event("smoke-1"), headers=live_server.ingest()
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": []}


def test_a_second_server_on_the_same_port_or_data_is_refused(
    live_server: LiveServer, tmp_path: Path
) -> None:
    port = live_server.url.rsplit(":", 1)[1]
    for data, fragment in (
        (tmp_path / "other", "already in use"),
        (live_server.data_dir, "already served"),
    ):
        args = [
            "serve",
            "--data",
            str(data),
            "--port",
            port if "use" in fragment else str(free_port()),
        ]
        done = subprocess.run(
            [sys.executable, "-m", "retailor", *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode != 0 and fragment in done.stderr, done
        assert "Traceback" not in done.stderr
