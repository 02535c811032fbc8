"""Report latency over 1M decisions: the budget is a 30-day report in at most 1 s embedded.

Loads synthetic facts straight through the ``FactStore`` port's bulk path — decisions
over 30 days (placements, channels, campaigns, segments, model versions, offers, an
experiment), their exposures (items and offers, some viewed, clicked, added), order lines
attributed to a share of them and their orders — into a DuckDB file (the embedded store)
and into PostgreSQL (a schema of its own, dropped at the end), then times reports:
by placement and day, by campaign, by segment, the totals, and the CSV of the first.
Each figure is the median of ``--repeat`` runs after one warm-up run (the first run is
shown too), with its ratio to the 1 s ceiling.

    python benchmarks/reports.py [--decisions 1000000] [--postgres postgresql://…/test]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from retailor.analytics.reports import ReportRequest, build_report
from retailor.storage.fact_sql import SCHEMAS
from retailor.storage.facts import FactStore

CEILING_SECONDS = 1.0
DAYS = 30
PLACEMENTS = ["home", "product", "cart", "search", "email", "receipt"]
CHANNELS = ["web", "app", "store", "email"]
CAMPAIGNS = ["spring", "summer", "loyalty", "clearance", "welcome"]
SEGMENTS = ["vip", "new", "lapsed", "frequent", "bargain", "mobile"]
MODELS = ["als:3", "als:4", "cooccurrence:2", "popularity:1"]
OFFERS = [f"offer{i}" for i in range(12)]


def _pick(rng: np.random.Generator, values: list[str], n: int) -> pa.Array:
    return pa.array(np.array(values, dtype=object)[rng.integers(0, len(values), n)])


def _lists(rng: np.random.Generator, values: list[str], n: int, most: int) -> pa.Array:
    """A list of 0..most distinct values per row."""
    sizes = rng.integers(0, most + 1, n)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    flat = np.array(values, dtype=object)[rng.integers(0, len(values), int(offsets[-1]))]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, pa.string()))


def synthetic(start: datetime, n: int, seed: int = 7) -> dict[str, list[pa.Table]]:
    """Fact rows for ``n`` decisions over ``DAYS`` days, in chunks of at most 250k."""
    rng = np.random.default_rng(seed)
    chunks: dict[str, list[pa.Table]] = {t: [] for t in SCHEMAS}
    base = np.datetime64(start.replace(tzinfo=None), "us")
    span_us = DAYS * 86_400 * 1_000_000
    times = np.sort(rng.integers(0, span_us, n))
    for lo in range(0, n, 250_000):
        hi = min(n, lo + 250_000)
        m = hi - lo
        at = pa.array(base + times[lo:hi].astype("timedelta64[us]"), pa.timestamp("us", tz="UTC"))
        day = pa.compute.cast(pa.compute.cast(at, pa.timestamp("us")), pa.date32())
        ids = pa.array([f"d{i:08d}" for i in range(lo, hi)])
        customers = pa.array([f"c{int(c)}" for c in rng.integers(0, 200_000, m)])
        items = pa.ListArray.from_arrays(
            pa.array(np.arange(0, 3 * m + 1, 3, dtype=np.int32)),
            pa.array([f"i{int(i)}" for i in rng.integers(0, 20_000, 3 * m)]),
        )
        has_offer = rng.random(m) < 0.2
        offer_offsets = np.concatenate([[0], np.cumsum(has_offer)]).astype(np.int32)
        offer_ids = pa.ListArray.from_arrays(
            pa.array(offer_offsets), _pick(rng, OFFERS, int(offer_offsets[-1]))
        )
        offer_costs = pa.ListArray.from_arrays(
            pa.array(offer_offsets), pa.array(np.full(int(offer_offsets[-1]), 2.5))
        )
        in_experiment = rng.random(m) < 0.3
        viewed = rng.integers(0, 4, m).astype(np.int32)
        clicked = np.minimum(viewed, rng.binomial(1, 0.08, m)).astype(np.int32)
        redeemed = (has_offer & (rng.random(m) < 0.1)).astype(np.int32)
        decisions = pa.table(
            {
                "decision_id": ids, "at": at, "day": day,
                "placement": _pick(rng, PLACEMENTS, m), "channel": _pick(rng, CHANNELS, m),
                "customer": customers, "anonymous_id": pa.nulls(m, pa.string()),
                "person": customers, "model_versions": _lists(rng, MODELS, m, 2),
                "items": items, "offer_ids": offer_ids, "offer_costs": offer_costs,
                "campaigns": _lists(rng, CAMPAIGNS, m, 2), "segments": _lists(rng, SEGMENTS, m, 3),
                "experiment_id": pa.array(np.where(in_experiment, "hero", None), pa.string()),
                "variant": pa.array(
                    np.where(in_experiment, np.where(rng.random(m) < 0.5, "a", "b"), None),
                    pa.string(),
                ),
                "holdout": pa.array(np.where(in_experiment, False, None), pa.bool_()),
                "impressions": viewed, "clicks": clicked,
                "add_to_carts": (clicked & rng.binomial(1, 0.3, m)).astype(np.int32),
                "redemptions": redeemed, "budget_spent": redeemed * 2.5,
            }
        )  # fmt: skip
        chunks["decisions"].append(decisions.cast(SCHEMAS["decisions"]))
        # one exposure per item slot
        slot_decision = np.repeat(np.arange(m), 3)
        exposures = pa.table(
            {
                "decision_id": pa.compute.take(ids, pa.array(slot_decision)),
                "at": pa.compute.take(at, pa.array(slot_decision)),
                "day": pa.compute.take(day, pa.array(slot_decision)),
                "position": pa.array(np.tile(np.arange(3, dtype=np.int32), m)),
                "item_id": items.flatten(), "offer_id": pa.nulls(3 * m, pa.string()),
                "cost": np.zeros(3 * m),
                "viewed_at": pa.compute.take(at, pa.array(slot_decision)),
                "clicked_at": pa.nulls(3 * m, pa.timestamp("us", tz="UTC")),
                "added_at": pa.nulls(3 * m, pa.timestamp("us", tz="UTC")),
                "redeemed_at": pa.nulls(3 * m, pa.timestamp("us", tz="UTC")),
                "redeemed_order": pa.nulls(3 * m, pa.string()),
            }
        )  # fmt: skip
        chunks["exposures"].append(exposures.cast(SCHEMAS["exposures"]))
        # a twentieth of the decisions earn an order of one or two lines (one attributed)
        won = np.flatnonzero(rng.random(m) < 0.05)
        k = len(won)
        order_ids = pa.array([f"x{lo + int(i)}" for i in won])
        order_at = pa.compute.add(
            pa.compute.take(at, pa.array(won)), pa.scalar(timedelta(minutes=20))
        )
        price = np.round(rng.uniform(5, 80, k), 2)
        extra = np.round(rng.uniform(0, 40, k), 2)
        refunded = rng.random(k) < 0.03
        revenue = np.where(refunded, 0.0, price)
        lines = pa.table(
            {
                "order_id": order_ids, "line": np.zeros(k, np.int32),
                "item_id": pa.compute.list_element(pa.compute.take(items, pa.array(won)), 0),
                "at": order_at, "day": pa.compute.take(day, pa.array(won)),
                "quantity": np.ones(k), "price": price, "unit_cost": price * 0.6,
                "revenue": revenue, "margin": revenue * 0.4,
                "decision_id": pa.compute.take(ids, pa.array(won)),
                "decision_at": pa.compute.take(at, pa.array(won)),
                "placement": pa.compute.take(decisions["placement"], pa.array(won)),
                "reason": pa.array(np.where(rng.random(k) < 0.6, "shown", "clicked"), pa.string()),
                "refunded": refunded,
            }
        )  # fmt: skip
        chunks["lines"].append(lines.cast(SCHEMAS["lines"]))
        orders = pa.table(
            {
                "order_id": order_ids, "at": order_at, "day": pa.compute.take(day, pa.array(won)),
                "customer_id": pa.compute.take(customers, pa.array(won)),
                "anonymous_id": pa.nulls(k, pa.string()),
                "person": pa.compute.take(customers, pa.array(won)),
                "revenue": np.where(refunded, extra, price + extra), "engaged": ~refunded,
                "attributed_revenue": revenue, "settled": np.ones(k, bool),
            }
        )  # fmt: skip
        chunks["orders"].append(orders.cast(SCHEMAS["orders"]))
    return chunks


def load(store: FactStore, chunks: dict[str, list[pa.Table]]) -> float:
    started = time.perf_counter()
    for table, parts in chunks.items():
        for part in parts:
            store.bulk_load(table, part)
    return time.perf_counter() - started


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(first run, median of ``repeat`` runs after it), in seconds."""
    started = time.perf_counter()
    run()
    first = time.perf_counter() - started
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        runs.append(time.perf_counter() - started)
    return first, statistics.median(runs)


def measure(store: FactStore, start: datetime, repeat: int) -> list[tuple[str, float, float, int]]:
    end = start + timedelta(days=DAYS)
    cases = [
        ("by placement, day", ReportRequest(start, end, "day", ("placement",)), False),
        ("by campaign", ReportRequest(start, end, None, ("campaign",)), False),
        ("by segment", ReportRequest(start, end, None, ("segment",)), False),
        ("by variant, offer", ReportRequest(start, end, None, ("variant", "offer")), False),
        ("totals", ReportRequest(start, end), False),
        ("CSV by placement, day", ReportRequest(start, end, "day", ("placement",)), True),
    ]
    results = []
    for name, request, as_csv in cases:
        rows = len(build_report(store, request).rows)

        def run(request: ReportRequest = request, as_csv: bool = as_csv) -> object:
            report = build_report(store, request)
            return report.to_csv() if as_csv else report.to_json()

        first, median = timed(run, repeat)
        results.append((name, first, median, rows))
    return results


def show(backend: str, loaded: float, results: list[tuple[str, float, float, int]]) -> None:
    print(f"\n{backend} (bulk load {loaded:.1f} s)")
    print(f"{'report':<24}{'rows':>6}{'first s':>10}{'median s':>10}{'/ 1 s':>8}")
    for name, first, median, rows in results:
        print(f"{name:<24}{rows:>6}{first:>10.3f}{median:>10.3f}{median / CEILING_SECONDS:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000, help="decision facts to load")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per report")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "RETAILOR_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL DSN (a schema of its own is made and dropped); 'none' to skip",
    )
    args = parser.parse_args()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    chunks = synthetic(start, args.decisions)
    counts = {t: sum(p.num_rows for p in parts) for t, parts in chunks.items()}
    print(f"synthetic facts in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{t} {n:,}" for t, n in counts.items()))  # fmt: skip

    from retailor.storage.duckdb.database import DuckDBDatabase
    from retailor.storage.duckdb.facts import DuckDBFactStore

    with tempfile.TemporaryDirectory() as tmp:
        db = DuckDBDatabase(Path(tmp) / "bench.duckdb")
        store = DuckDBFactStore(db)
        loaded = load(store, chunks)
        db.rows("CHECKPOINT")
        show("DuckDB file (embedded)", loaded, measure(store, start, args.repeat))
        db.close()
    if args.postgres != "none":
        _postgres(args.postgres, chunks, start, args.repeat)


def _postgres(dsn: str, chunks: dict[str, list[pa.Table]], start: datetime, repeat: int) -> None:
    import psycopg

    from retailor.storage.postgres.database import PostgresDatabase
    from retailor.storage.postgres.facts import PostgresFactStore

    schema = f"bench_reports_{os.getpid()}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in dsn else "?"
    scoped = f"{dsn}{joiner}options=-csearch_path%3D{schema}"
    try:
        db = PostgresDatabase(scoped)
        store = PostgresFactStore(db)
        loaded = load(store, chunks)
        with db.connection() as conn:
            conn.execute("VACUUM ANALYZE")
        show("PostgreSQL", loaded, measure(store, start, repeat))
        db.close()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    sys.exit(main())
