"""Profiles: read latency in the server, their cost on the ingest path, and a full rebuild.

    .venv/bin/python benchmarks/profiles.py [--seconds 8] [--events 1000000] [--json figures.json]

1. Loads a base of 20,000 customers (~200,000 events) into a running server and drives
   GET /v1/customers/{id} over random known customers with wrk, next to GET /healthz in
   the same run (target: p99 <= 2 ms in the server; wrk's figure includes loopback).
2. Ingests single events (64 connections) and batches of 1,000 (8 connections) into two
   fresh servers, one with profile updates on the ingest path and one without
   (RETAILOR_PROFILES_IN_INGEST=false): the ratio is the cost of keeping profiles current.
3. Rebuilds every profile from 1,000,000 events in a DuckDB event log, in process, next to
   the time of only scanning the log (target: <= 30 s on 2 cores); peak memory.
Run by hand; never a test.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import Server, need_wrk, start_server, write_json, wrk
from ingest import HEALTH, batches, single_events
from retailor.profiles.service import ProfileService
from retailor.storage.factory import open_storage
from retailor.storage.schema import EVENT_SCHEMA

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def start(env: dict[str, str]) -> Server:
    return start_server("admin", env)


def customer_events(customers: int, per_customer: int, seed: int = 5) -> list[dict[str, object]]:
    """Native events: browsing (some anonymous, then a login), carts and orders."""
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    for c in range(customers):
        who = f"c{c}"
        anon = f"a{c}" if rng.random() < 0.3 else None
        for k in range(per_customer):
            at = (T0 + timedelta(minutes=c * 7 + k * 90)).isoformat()
            base = {"event_id": f"p{c}-{k}", "timestamp": at, "customer_id": who}
            roll = rng.random()
            if anon and k == 0:
                out.append(
                    {
                        **base,
                        "type": "identify",
                        "anonymous_id": anon,
                        "properties": {"traits": {"tier": "gold"}},
                    }
                )
            elif roll < 0.6:
                out.append(
                    {
                        **base,
                        "type": "product_viewed",
                        "properties": {"item_id": f"sku-{rng.randrange(5000)}"},
                    }
                )
            elif roll < 0.8:
                out.append(
                    {
                        **base,
                        "type": "product_added",
                        "properties": {"item_id": f"sku-{rng.randrange(5000)}"},
                    }
                )
            else:
                lines = [
                    {
                        "item_id": f"sku-{rng.randrange(5000)}",
                        "quantity": rng.randint(1, 3),
                        "price": 9.5,
                    }
                    for _ in range(rng.randint(1, 4))
                ]
                out.append(
                    {
                        **base,
                        "type": "order_completed",
                        "properties": {"order_id": f"o{c}-{k}", "lines": lines},
                    }
                )
    return out


def read_latency(seconds: int, work: Path) -> dict[str, object]:
    server = start({})
    try:
        events = customer_events(20_000, 10)
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.key}"}, timeout=60
        ) as client:
            for i in range(0, len(events), 1000):
                client.post("/v1/events", json={"events": events[i : i + 1000]}).raise_for_status()
        ids = ", ".join(f'"c{random.randrange(20_000)}"' for _ in range(2000))
        script = f"""
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer {server.key}"
local ids = {{{ids}}}
request = function()
  return wrk.format(nil, "/v1/customers/" .. ids[math.random(#ids)])
end
"""
        return {
            "events_loaded": len(events),
            "healthz": wrk(server.url, HEALTH, seconds, 16, work),
            "profile_c4": wrk(server.url, script, seconds, 4, work),
            "profile_c32": wrk(server.url, script, seconds, 32, work),
        }
    finally:
        server.stop()


def ingest_cost(seconds: int, work: Path) -> dict[str, object]:
    figures: dict[str, object] = {}
    for label, env in (
        ("with_profiles", {}),
        ("without_profiles", {"RETAILOR_PROFILES_IN_INGEST": "false"}),
    ):
        server = start(env)
        try:
            figures[label] = {
                "single_c64": wrk(server.url, single_events(server.key), seconds, 64, work),
                "batch_c8": wrk(server.url, batches(server.key, 1000), seconds, 8, work),
            }
        finally:
            server.stop()
    return figures


def synthetic_log(n: int, seed: int = 7) -> pa.Table:
    """``n`` events of ~n/10 customers as an Arrow table of the stored schema."""
    rng = random.Random(seed)
    customers = max(1, n // 10)
    columns: dict[str, list[object]] = {name: [] for name in EVENT_SCHEMA.names}
    for i in range(n):
        c = rng.randrange(customers)
        roll = rng.random()
        at = T0 + timedelta(seconds=i * 3)
        if roll < 0.6:
            kind, props = "product_viewed", f'{{"item_id":"sku-{rng.randrange(20000)}"}}'
        elif roll < 0.8:
            kind, props = (
                "product_added",
                f'{{"item_id":"sku-{rng.randrange(20000)}","quantity":1}}',
            )
        elif roll < 0.95:
            kind = "order_completed"
            props = f'{{"order_id":"o{i}","lines":[{{"item_id":"sku-{rng.randrange(20000)}","quantity":2,"price":9.5}}]}}'
        else:
            kind, props = "identify", '{"traits":{"tier":"gold"}}'
        anonymous = f"a{c}" if roll > 0.9 else None
        row = (f"e{i}", kind, at, at, f"c{c}", anonymous, "web", None, None, None, props, "{}")
        for name, value in zip(EVENT_SCHEMA.names, row, strict=True):
            columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=EVENT_SCHEMA)


def rebuild(n: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="retailor-bench-rebuild-"))
    storage = open_storage(f"duckdb://{folder / 'r.duckdb'}", folder)
    try:
        table = synthetic_log(n)
        for start in range(0, n, 200_000):
            storage.events.append(table.slice(start, 200_000))
        del table
        begun = time.perf_counter()
        for _ in storage.events.scan():
            pass
        scan = time.perf_counter() - begun
        service = ProfileService("bench")
        begun = time.perf_counter()
        folded = service.rebuild(storage.events.scan())
        seconds = time.perf_counter() - begun
        return {
            "events": folded,
            "profiles": len(service.states),
            "rebuild_s": seconds,
            "scan_only_s": scan,
            "events_per_s": folded / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the rebuild test")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    need_wrk()
    console = Console(width=130)
    work = Path(tempfile.mkdtemp(prefix="retailor-wrk-"))
    with console.status("profile reads"):
        reads = read_latency(args.seconds, work)
    with console.status("ingest with and without profile updates"):
        cost = ingest_cost(args.seconds, work)
    with console.status(f"rebuild from {args.events:,} events"):
        rebuilt = rebuild(args.events)
    figures = {"reads": reads, "ingest": cost, "rebuild": rebuilt}
    table = Table("measure", "result", "target", "vs ceiling", title="Profiles (2 cores)")
    health = reads["healthz"]
    assert isinstance(health, dict)
    for name in ("profile_c4", "profile_c32"):
        f = reads[name]
        assert isinstance(f, dict)
        table.add_row(f"GET /v1/customers/{{id}}, {name[-2:].strip('c')} conn.",
                      f"{f['requests_per_s']:,.0f} req/s, p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms",
                      "p99 <= 2 ms", f"{f['requests_per_s'] / health['requests_per_s']:.2f} of /healthz")  # fmt: skip
    with_p, without_p = cost["with_profiles"], cost["without_profiles"]
    assert isinstance(with_p, dict) and isinstance(without_p, dict)
    for name, label, per in (
        ("single_c64", "single events, 64 conn.", 1),
        ("batch_c8", "batches of 1,000, 8 conn.", 1000),
    ):
        a, b = with_p[name]["requests_per_s"] * per, without_p[name]["requests_per_s"] * per
        table.add_row(
            f"ingest {label}",
            f"{a:,.0f} events/s with profiles, {b:,.0f} without",
            "",
            f"{a / b:.2f} of without",
        )
    table.add_row(f"rebuild from {rebuilt['events']:,.0f} events",
                  f"{rebuilt['rebuild_s']:.1f} s ({rebuilt['events_per_s']:,.0f} events/s), {rebuilt['profiles']:,.0f} profiles, "
                  f"peak {rebuilt['peak_rss_mb']:,.0f} MB", "<= 30 s",
                  f"scan alone {rebuilt['scan_only_s']:.1f} s")  # fmt: skip
    console.print(table)
    write_json(args.json, figures)
    print(json.dumps(rebuilt))


if __name__ == "__main__":
    main()
