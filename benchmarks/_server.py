"""Shared by the benchmark scripts: a Retailor server in its own process, and wrk."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"


def retailor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    data: Path
    key: str
    process: subprocess.Popen[bytes]
    #: seconds from the process's start to the first 200 of GET /healthz
    ready_s: float = 0.0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(
    scope: str = "admin",
    env: dict[str, str] | None = None,
    script: Path | None = None,
    *,
    wait_seconds: float = 30.0,
    log: Path | None = None,
) -> Server:
    """A server on a fresh data directory, with a key of ``scope``; ``env`` adds settings
    (the key is made with them too, so it lands in the database ``RETAILOR_STORAGE``
    names); ``script`` runs that file (which ends in ``retailor serve``) instead of the CLI;
    ``log`` receives the server's standard error. Waits up to ``wait_seconds`` for it to
    answer, and records how long that took (``Server.ready_s``)."""
    data = Path(tempfile.mkdtemp(prefix="retailor-bench-"))
    key = retailor("keys", "create", "--data", str(data), "--scope", scope, env=env).stdout.strip()
    port = free_port()
    started = time.perf_counter()
    with open(log or os.devnull, "ab") as stderr:  # the child keeps its own copy
        process = subprocess.Popen(
            [
                sys.executable,
                *(["-m", "retailor", "serve"] if script is None else [str(script)]),
                "--data",
                str(data),
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = started + wait_seconds
    while time.perf_counter() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, data, key, process, time.perf_counter() - started)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")


def need_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("these benchmarks use wrk as the load generator: apt-get install wrk")
    return found


_LATENCY = re.compile(r"^LATENCY (\S+) (\S+) (\S+) (\d+) (\d+)$", re.M)


def wrk(url: str, script: str, seconds: int, connections: int, workdir: Path) -> dict[str, float]:
    """Run wrk with a Lua ``script`` (its ``done`` prints LATENCY p50 p99 rps requests errors)."""
    lua = workdir / f"s{abs(hash(script))}.lua"
    lua.write_text(script + DONE)
    out = subprocess.run(
        [
            need_wrk(),
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(lua),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = _LATENCY.search(out)
    if not match:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    p50, p99, rps, requests, errors = match.groups()
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "p50_ms": float(p50) / 1000,
        "p99_ms": float(p99) / 1000,
        "requests_per_s": float(rps),
        "requests": int(requests),
        "errors": int(errors) + (int(non2xx.group(1)) if non2xx else 0),
    }


DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("LATENCY %d %d %.1f %d %d\\n", latency:percentile(50),
    latency:percentile(99), summary.requests / (summary.duration / 1e6), summary.requests, errors))
end
"""


def write_json(path: str | None, figures: object) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2))


def env_note() -> str:
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"


class Usage:
    """The server process's CPU (in cores) and the machine's split (user, system, idle,
    steal: time the hypervisor gave to someone else) over one phase."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")
        self.figures: dict[str, float] = {}

    def _machine(self) -> list[int]:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]

    def _process(self) -> int:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def __enter__(self) -> Usage:
        self.start = (time.perf_counter(), self._machine(), self._process())
        return self

    def __exit__(self, *exc: object) -> None:
        wall, machine, process = self.start
        wall = time.perf_counter() - wall
        ticks = [b - a for a, b in zip(machine, self._machine(), strict=False)]
        total = sum(ticks[:8]) or 1
        self.figures.update(
            server_cores=round((self._process() - process) / self.tick / wall, 2),
            user=round(ticks[0] / total, 3),
            system=round((ticks[2] + ticks[5] + ticks[6]) / total, 3),
            idle=round((ticks[3] + ticks[4]) / total, 3),
            steal=round(ticks[7] / total, 3),
        )
