"""Hostile input against a running Retailor server: how many inputs it was sent, what it
answered, how many answers were server errors (5xx: target 0), and how many events it
acknowledged that the event log does not hold (target 0).

    .venv/bin/python benchmarks/hostile.py [--examples 25] [--batches 300] [--slow 8]
        [--seed 7] [--postgres postgresql://postgres@127.0.0.1:5432/test] [--json PATH]

Starts `retailor serve` on a fresh data directory (embedded DuckDB, or a fresh schema of
PostgreSQL with ``--postgres``) with a 256 KiB body limit and a body timeout of 3 s, then:

1. **schemathesis**, fuzzing and stateful phases over every operation the server's OpenAPI
   document lists (so new endpoints are covered without a change here), with the
   repository's ``schemathesis.toml`` and every check (``--checks all``);
2. **mixed batches**: native batches to ``POST /v1/events`` and Segment batches and single
   messages to ``/v1/batch``, ``/v1/track``, ``/v1/identify``, ``/v1/page``; a sixth of
   the items of a batch and a third of the single messages broken in one of 21 ways (bad
   ids, NaN, 1e309, deep nesting, lone surrogates, invalid UTF-8, times out of range,
   wrong types, ...), some bodies broken whole (cut short, bad compression, unknown
   encoding, not JSON), some items sent twice;
3. **slow and oversized**: clients trickling their bodies past the body timeout while
   others send events, bodies over the limit (declared, and chunked without a length),
   a 1 MB header and a 300 kB URL.

Every answer to an event request says what it accepted (a 200: every item; a 422: every
item it does not list as rejected). After the server stops, the event log is opened and
every acknowledged event id is looked for: **acknowledged events lost** counts those
missing. The server's log is searched for tracebacks. Exits non-zero when there was a 5xx,
a lost event, a traceback or an answer whose counts do not add up. Run by hand (minutes
at the default size); ``tests/e2e/test_hostile_benchmark.py`` runs a tiny configuration.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from base64 import b64encode
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _hostile_inputs import Acknowledged, Inputs, Sent
from _hostile_wire import oversized, slow_clients
from _server import REPO, Server, env_note, start_server, write_json

SETTINGS = {
    "RETAILOR_MAX_BODY_BYTES": str(256 * 1024),
    "RETAILOR_BODY_TIMEOUT_SECONDS": "3",
    "RETAILOR_BODY_STALL_TIMEOUT_SECONDS": "2",
    "RETAILOR_HEADER_TIMEOUT_SECONDS": "2",
}


def schemathesis_phase(server: Server, examples: int, seed: int) -> tuple[Counter[int], list[str]]:
    """Fuzzing and stateful phases over every operation; the statuses and the failures of
    the checks (operation, check, how to reproduce)."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import Status, events

    config = SchemathesisConfig.from_path(REPO / "schemathesis.toml")
    project = config.projects.override
    project.update(headers={"Authorization": f"Bearer {server.key}"})
    project.phases.update(phases=["fuzzing", "stateful"])
    project.checks.update(included_check_names=["all"])
    project.generation.update(max_examples=examples)
    config._seed = seed  # schemathesis sets it from ``--seed``; the API has no setter
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            statuses.update(
                i.response.status_code
                for i in recorder.interactions.values()
                if i.response is not None
            )
            for nodes in recorder.checks.values():
                for node in nodes:
                    if node.status == Status.FAILURE and node.failure_info is not None:
                        failure = node.failure_info.failure
                        failures.append(f"{recorder.label}: {failure.title}")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error: {event}")
    return statuses, failures


def batches_phase(
    server: Server, count: int, seed: int, acknowledged: Acknowledged, progress: Progress
) -> Counter[int]:
    """``count`` requests of mixed valid and broken events; what they acknowledged goes
    into ``acknowledged``."""
    segment_auth = {"Authorization": "Basic " + b64encode(f"{server.key}:".encode()).decode()}
    inputs = Inputs(seed, {"Authorization": f"Bearer {server.key}"}, segment_auth)
    statuses: Counter[int] = Counter()
    task = progress.add_task("mixed batches", total=count)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for _ in range(count):
            now = datetime.now(UTC)
            roll = inputs.random.random()
            if roll < 0.45:
                sent = inputs.batch(now, segment=False, size=inputs.random.randrange(1, 60))
            elif roll < 0.7:
                sent = inputs.batch(now, segment=True, size=inputs.random.randrange(1, 60))
            elif roll < 0.85:
                sent = inputs.single_segment(now)
            else:
                sent = inputs.broken_body(now)
            statuses[send(client, sent, acknowledged)] += 1
            progress.advance(task)
    return statuses


def send(client: httpx.Client, sent: Sent, acknowledged: Acknowledged) -> int:
    r = client.post(sent.path, content=sent.body, headers=sent.headers)
    try:
        answer: Any = r.json()
    except ValueError:
        answer = None
    acknowledged.record(sent, r.status_code, answer)
    return r.status_code


def stored_ids(dsn: str, data: Path) -> set[str]:
    """Every event id in the event log (the server has stopped)."""
    from retailor.storage.factory import open_storage

    storage = open_storage(dsn, data)
    try:
        found: set[str] = set()
        for batch in storage.events.scan():
            found.update(batch.column("event_id").to_pylist())
        return found
    finally:
        storage.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=25,
                        help="schemathesis examples per operation and phase")  # fmt: skip
    parser.add_argument("--batches", type=int, default=300, help="mixed event requests")
    parser.add_argument("--slow", type=int, default=8, help="slow clients at once")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", help="run on a fresh schema of this PostgreSQL database")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    console = Console(width=120)
    os.chdir(REPO)  # schemathesis.toml names its hooks file from the repository root
    schema_name = None
    env = dict(SETTINGS)
    if args.postgres:
        import psycopg

        schema_name = f"hostile_{secrets.token_hex(4)}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema_name}")
        separator = "&" if "?" in args.postgres else "?"
        env["RETAILOR_STORAGE"] = (
            f"{args.postgres}{separator}options={quote(f'-csearch_path={schema_name}')}"
        )
    log = Path(tempfile.mkdtemp(prefix="retailor-hostile-")) / "server.log"
    server = start_server("admin", env, log=log, wait_seconds=90)
    dsn = env.get("RETAILOR_STORAGE") or f"duckdb://{(server.data / 'retailor.duckdb').resolve()}"
    phases: dict[str, Counter[int]] = {}
    acknowledged = Acknowledged()
    started = time.perf_counter()
    try:
        with console.status("schemathesis: fuzzing and stateful phases over every operation"):
            phases["schemathesis"], failures = schemathesis_phase(server, args.examples, args.seed)
        with Progress(console=console, transient=True) as progress:
            phases["mixed batches"] = batches_phase(
                server, args.batches, args.seed, acknowledged, progress
            )
        with console.status("slow and oversized requests"):
            phases["slow clients"], brisk = slow_clients(server, args.slow, acknowledged)
            phases["answered meanwhile"] = brisk
            phases["oversized"] = oversized(server)
    finally:
        server.stop()
    seconds = time.perf_counter() - started
    in_log = stored_ids(dsn, server.data)
    lost = sorted(acknowledged.ids - in_log)
    if schema_name is not None:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema_name} CASCADE")
    tracebacks = log.read_text(errors="replace").count("Traceback") if log.exists() else 0
    figures = report(console, phases, failures, acknowledged, lost, tracebacks, seconds, args)
    write_json(args.json, figures)
    bad = figures["5xx"] or figures["acknowledged_events_lost"] or tracebacks
    return 1 if bad or acknowledged.inconsistent else 0


def report(
    console: Console,
    phases: dict[str, Counter[int]],
    failures: list[str],
    acknowledged: Acknowledged,
    lost: list[str],
    tracebacks: int,
    seconds: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Print the table and return the figures."""
    table = Table(title=f"Hostile input ({'PostgreSQL' if args.postgres else 'DuckDB'}, "
                  f"{env_note()}, {seconds:.0f} s)")  # fmt: skip
    for column in ("phase", "inputs", "2xx", "4xx", "5xx", "closed, no answer"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    total: Counter[int] = Counter()
    for name, statuses in phases.items():
        total.update(statuses)
        table.add_row(name, *_row(statuses))
    table.add_row("[bold]all[/]", *_row(total))
    console.print(table)
    five = sum(n for status, n in total.items() if status >= 500)
    console.print(
        f"acknowledged events: {len(acknowledged.ids):,}; "
        f"[{'red' if lost else 'green'}]acknowledged events lost: {len(lost)}[/]; "
        f"[{'red' if five else 'green'}]5xx: {five}[/]; server tracebacks: {tracebacks}; "
        f"answers whose counts do not add up: {len(acknowledged.inconsistent)}"
    )
    for line in acknowledged.inconsistent[:5] + lost[:5]:
        console.print(f"  {line}")
    if failures:
        console.print(f"schemathesis check failures (not 5xx): {len(failures)}")
        for line in sorted(set(failures))[:10]:
            console.print(f"  {line}")
    return {
        "storage": "postgres" if args.postgres else "duckdb",
        "examples": args.examples,
        "batches": args.batches,
        "seed": args.seed,
        "seconds": round(seconds, 1),
        "inputs_tried": sum(total.values()),
        "statuses": {str(k): v for k, v in sorted(total.items())},
        "phases": {
            name: {str(k): v for k, v in sorted(statuses.items())}
            for name, statuses in phases.items()
        },
        "5xx": five,
        "acknowledged_events": len(acknowledged.ids),
        "acknowledged_events_lost": len(lost),
        "lost_ids": lost[:100],
        "inconsistent_answers": acknowledged.inconsistent[:100],
        "server_tracebacks": tracebacks,
        "schemathesis_check_failures": sorted(set(failures))[:100],
    }


def _row(statuses: Counter[int]) -> list[str]:
    def band(low: int, high: int) -> int:
        return sum(n for status, n in statuses.items() if low <= status < high)

    return [f"{sum(statuses.values()):,}", f"{band(200, 300):,}", f"{band(400, 500):,}",
            f"{band(500, 600):,}", f"{statuses.get(0, 0):,}"]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
