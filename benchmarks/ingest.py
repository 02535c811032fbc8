"""Ingestion throughput of a running Retailor server, next to its trivial endpoint.

    .venv/bin/python benchmarks/ingest.py [--seconds 10] [--json figures.json]

Starts `retailor serve` on a fresh data directory and drives it with wrk on loopback:
GET /healthz (the ceiling), POST /v1/events with one event per request (64 and 256
connections), and batches of 1,000 events (8 and 32 connections). Then times
`retailor import transactions` of the Online Retail file in ../shared/datasets (541,909
order lines), and imports it again to show that nothing is added twice. Targets (design
document): >= 5,000 single events/s, >= 50,000 events/s in batches, >= 500,000 rows/s
bulk import. Run by hand; never a test.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import DATASETS, env_note, need_wrk, start_server, write_json, wrk

HEALTH = 'wrk.method = "GET"\nwrk.path = "/healthz"\n'


def single_events(key: str) -> str:
    """Lua for one new event per request. wrk seeds Lua's random generator the same way on
    every run, so the id prefix comes from Python: no run re-sends another run's ids."""
    prefix = secrets.token_hex(6)
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
local prefix = "{prefix}"
local n = 0
request = function()
  n = n + 1
  local body = '{{"event_id":"s' .. prefix .. '-' .. n .. '","type":"product_viewed","customer_id":"c'
    .. (n % 10000) .. '","properties":{{"item_id":"sku-' .. (n % 5000) .. '","price":9.99}}}}'
  return wrk.format(nil, "/v1/events", nil, body)
end
"""


def batches(key: str, size: int) -> str:
    """Lua for batches of ``size`` new events per request (ids prefixed as above)."""
    prefix = secrets.token_hex(6)
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
local prefix = "{prefix}"
local n = 0
request = function()
  n = n + 1
  local parts = {{}}
  for i = 1, {size} do
    parts[i] = '{{"event_id":"b' .. prefix .. '-' .. n .. '-' .. i .. '","type":"product_viewed","customer_id":"c'
      .. ((n * {size} + i) % 10000) .. '","properties":{{"item_id":"sku-' .. (i % 5000) .. '","price":9.99}}}}'
  end
  return wrk.format(nil, "/v1/events", nil, '{{"events":[' .. table.concat(parts, ",") .. ']}}')
end
"""


def _import(path: Path, data: Path) -> tuple[float, dict[str, int], float]:
    """One import: wall time, its JSON summary, and the pipeline time it reports."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "retailor", "import", "transactions", str(path), "--data", str(data), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    pipeline = re.search(r"rows in ([0-9.]+) s", done.stderr)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, summary, float(pipeline.group(1)) if pipeline else wall


def bulk_import(repeats: int = 3) -> dict[str, float] | None:
    """Median of ``repeats`` imports into fresh data directories, then a re-import."""
    path = DATASETS / "online-retail" / "online_retail.csv.gz"
    if not path.exists():
        return None
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "retailor", "--help"], capture_output=True, check=True)
    startup = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        data = Path(tempfile.mkdtemp(prefix="retailor-bench-import-"))
        runs.append(_import(path, data))
    wall, first, seconds = sorted(runs, key=lambda run: run[2])[repeats // 2]
    read_only = []
    for _ in range(repeats):  # the ceiling: only parsing the file, in this same run
        start = time.perf_counter()
        pacsv.read_csv(path)
        read_only.append(time.perf_counter() - start)
    _, again, _ = _import(path, data)
    rows = 541_909
    return {
        "rows": rows,
        "repeats": repeats,
        "wall_s": wall,
        "startup_s": startup,
        "pipeline_s": seconds,
        "read_only_s": sorted(read_only)[repeats // 2],
        "rows_per_s": rows / seconds,
        "rows_per_s_command": rows / (wall - startup),
        "events": first["accepted"],
        "rejected": first["rejected"],
        "second_run_accepted": again["accepted"],
        "second_run_duplicates": again["duplicates"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="duration of each HTTP phase")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    need_wrk()
    console = Console(width=130)
    server = start_server(scope="ingest")
    work = Path(tempfile.mkdtemp(prefix="retailor-wrk-"))
    figures: dict[str, object] = {"machine": env_note()}
    try:
        with console.status("GET /healthz (ceiling)"):
            ceiling = wrk(server.url, HEALTH, args.seconds, 64, work)
        figures["healthz"] = ceiling
        for connections in (64, 256):
            with console.status(f"single events, {connections} connections"):
                figures[f"single_c{connections}"] = wrk(
                    server.url, single_events(server.key), args.seconds, connections, work
                )
        for connections in (8, 32):
            with console.status(f"batches of 1,000, {connections} connections"):
                figures[f"batch_c{connections}"] = wrk(
                    server.url, batches(server.key, 1000), args.seconds, connections, work
                )
    finally:
        server.stop()
    with console.status("bulk import of the Online Retail file"):
        figures["bulk_import"] = bulk_import()

    table = Table(
        "phase",
        "result",
        "target",
        "p50 / p99 ms",
        "vs ceiling",
        title=f"Ingestion ({figures['machine']})",
    )
    base = ceiling["requests_per_s"]
    table.add_row(
        "GET /healthz (ceiling)",
        f"{base:,.0f} req/s",
        "",
        f"{ceiling['p50_ms']:.2f} / {ceiling['p99_ms']:.2f}",
        "1.00",
    )
    errors = 0
    for name, label, per, target in (
        ("single_c64", "single events, 64 conn.", 1, 5_000),
        ("single_c256", "single events, 256 conn.", 1, 5_000),
        ("batch_c8", "batches of 1,000, 8 conn.", 1000, 50_000),
        ("batch_c32", "batches of 1,000, 32 conn.", 1000, 50_000),
    ):
        f = figures[name]
        assert isinstance(f, dict)
        errors += f["errors"]
        table.add_row(
            label, f"{f['requests_per_s'] * per:,.0f} events/s", f">= {target:,}",
            f"{f['p50_ms']:.2f} / {f['p99_ms']:.2f}", f"{f['requests_per_s'] / base:.3f}",
        )  # fmt: skip
    bulk = figures["bulk_import"]
    if isinstance(bulk, dict):
        table.add_row(
            "bulk import (Online Retail, median of 3): read, validate, store",
            f"{bulk['rows_per_s']:,.0f} rows/s",
            ">= 500,000",
            f"{bulk['pipeline_s']:.2f} s",
            f"{bulk['read_only_s'] / bulk['pipeline_s']:.2f} of parsing alone",
        )
        table.add_row(
            "  the whole command, less Python start-up",
            f"{bulk['rows_per_s_command']:,.0f} rows/s",
            "",
            f"{bulk['wall_s']:.2f} s wall, {bulk['startup_s']:.2f} s start-up",
            "",
        )
        table.add_row(
            "  re-import",
            f"{bulk['second_run_accepted']} new, {bulk['second_run_duplicates']:,} duplicates",
            "0 new",
            "",
            "",
        )
    else:
        table.add_row("bulk import", "skipped: ../shared/datasets not found", "", "", "")
    console.print(table)
    write_json(args.json, figures)
    if errors:
        console.print(f"[bold red]{errors} requests failed or got a non-2xx answer[/]")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
