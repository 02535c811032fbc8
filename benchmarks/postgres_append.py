"""Appending events to the event log: PostgreSQL next to DuckDB, on the same events.

    .venv/bin/python benchmarks/postgres_append.py [--events 100000] [--batch 1000]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Builds ``--events`` events (a year of timestamps, so appends spread over monthly
partitions), then appends them in batches of ``--batch`` to a fresh DuckDB file and to a
fresh schema of the PostgreSQL database (dropped afterwards), timing each; then appends
the first batches again to time the path that finds every id a duplicate, and scans the
whole log back. Target (scale-out design): >= 30,000 events/s into PostgreSQL in batches
of 1,000. Run by hand; never a test.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from retailor.domain.events import Event, EventType
from retailor.storage.factory import Storage, open_storage
from retailor.storage.schema import events_to_table

START = datetime(2025, 1, 1, tzinfo=UTC)


def make_batches(count: int, size: int) -> list[pa.Table]:
    """``count`` product views of 10,000 customers over a year, in tables of ``size``."""
    prefix = secrets.token_hex(4)
    events = [
        Event(
            event_id=f"{prefix}-{n}",
            type=EventType.PRODUCT_VIEWED,
            timestamp=START + timedelta(seconds=(n * 7919) % (365 * 86400)),
            received_at=START + timedelta(days=366),
            customer_id=f"c{n % 10_000}",
            session_id=f"s{n // 20}",
            properties={"item_id": f"sku-{n % 5_000}", "price": 9.99},
            context={"user_agent": "benchmark"},
        )
        for n in range(count)
    ]
    return [events_to_table(events[i : i + size]) for i in range(0, count, size)]


def timed(action: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    done = action()
    return done, time.perf_counter() - started


def measure(storage: Storage, batches: list[pa.Table]) -> dict[str, float]:
    """Events per second appending new events, appending known ones, and scanning."""

    def append_all() -> int:
        return sum(storage.events.append(batch).accepted for batch in batches)

    def append_again() -> int:
        return sum(len(storage.events.append(batch).duplicates) for batch in batches[:20])

    def scan() -> int:
        return sum(batch.num_rows for batch in storage.events.scan())

    accepted, append_seconds = timed(append_all)
    duplicates, again_seconds = timed(append_again)
    scanned, scan_seconds = timed(scan)
    assert accepted == scanned == sum(b.num_rows for b in batches), (accepted, scanned)
    return {
        "append": accepted / append_seconds,
        "duplicates": duplicates / again_seconds,
        "scan": scanned / scan_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    console = Console()
    batches = make_batches(args.events, args.batch)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        duck = open_storage(f"duckdb://{Path(tmp) / 'bench.duckdb'}", Path(tmp))
        try:
            results["DuckDB"] = measure(duck, batches)
        finally:
            duck.close()
        schema = f"bench_{secrets.token_hex(4)}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
            try:
                separator = "&" if "?" in args.postgres else "?"
                dsn = f"{args.postgres}{separator}options={quote(f'-csearch_path={schema}')}"
                pg = open_storage(dsn, Path(tmp))
                try:
                    results["PostgreSQL"] = measure(pg, batches)
                finally:
                    pg.close()
            finally:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    table = Table(
        f"{args.events:,} events, batches of {args.batch:,}",
        "append new (events/s)",
        "append known (events/s)",
        "scan (events/s)",
    )
    for name, figures in results.items():
        table.add_row(
            name,
            f"{figures['append']:,.0f}",
            f"{figures['duplicates']:,.0f}",
            f"{figures['scan']:,.0f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
