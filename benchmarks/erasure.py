"""Erasure: what erasing people costs, next to peers measured in the same run.

    .venv/bin/python benchmarks/erasure.py [--events 200000] [--batch 10] [--train]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--json figures.json]

Builds a synthetic shop history straight through the storage ports: --events events of
about one customer per 20 events (each with an email, some browsing on a device before
logging in, views, cart adds, orders), a catalog of one item per 100 events and
--decisions logged decisions. Then, in this process, builds the services the way a
one-shot command does (``runtime.command.command_services``) and times:

  the peers  storing the history (bulk load); a start (the services built: projections
             rebuilt, the decision log replayed); rebuilding the projections alone
             (profiles, identities, online features, from the log, as every start
             does); scanning the log alone; a plain copy of the database file synced
             to disk (the I/O ceiling of rewriting it; median of three); with --train,
             training the models in the first place;
  one        erasure of one person by email (``Eraser.erase_now``), step by step as the
             eraser counts them: delete (every store), rederive (projections rebuilt,
             trained models retrained, other versions deleted), reclaim (the database
             file rewritten into a fresh one);
  a batch    of --batch people in one round (requested, then ``run_pending``), which
             shares one rederive and one reclaim: the cost per person.

Every step is shown in seconds and as ratios to the rebuild, to the file copy and to the
bulk load of the same run (the machine is noisy: compare ratios, not seconds). Retraining
dominates when models are trained, so training is off unless --train is given. With
--postgres the same history goes into a schema of its own in that database (dropped at
the end), and the erasure there (its reclaim is VACUUM FULL of every table) is compared
with the bulk load and with a full scan (SELECT count(*) of every table, read row by
row, not from an index). Run by hand; a tiny run is tested.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from retailor.domain.catalog import CatalogPatch
from retailor.domain.decisions import DecisionRecord
from retailor.models.families import DEFAULT_MODELS
from retailor.runtime.command import command_services
from retailor.runtime.services import Services
from retailor.settings import Settings
from retailor.storage.factory import Storage, open_storage
from retailor.storage.privacy import SpaceReclaimer
from retailor.storage.schema import EVENT_SCHEMA

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 180
EVENTS_PER_CUSTOMER = 20
EVENTS_PER_ITEM = 100
CHUNK = 200_000
#: rows per append, as ``retailor import`` writes them
APPEND_ROWS = 50_000
STEPS = ("delete", "rederive", "reclaim")


def email(customer: int) -> str:
    return f"shopper{customer}@mail.example"


def history(n: int, seed: int = 11) -> Iterator[pa.Table]:
    """``n`` events of ``EVENT_SCHEMA``, oldest first, in tables of at most ``CHUNK``.

    Customer ``c`` first identifies (customer id ``c<c>``, device ``d<c>``, an email in
    its traits); then views (a third of them on the device only, before stitching),
    cart adds and orders of one to three lines, in sessions of a day."""
    rng = np.random.default_rng(seed)
    customers = max(n // EVENTS_PER_CUSTOMER, 1)
    items = max(n // EVENTS_PER_ITEM, 20)
    at_us = np.sort(rng.integers(0, DAYS * 86_400_000_000, n))
    who = rng.integers(0, customers, n)
    first = min(customers, n)
    who[:first] = np.arange(first)  # the oldest events: everyone identifies first
    kind = rng.choice(3, n, p=[0.72, 0.16, 0.12])  # view, cart add, order
    device_only = rng.random(n) < 0.33
    item = rng.integers(0, items, (n, 3))
    lines = rng.integers(1, 4, n)
    base = np.datetime64(T0.replace(tzinfo=None), "us")
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        ids, types, customer, anonymous, sessions, props = [], [], [], [], [], []
        for i in range(lo, hi):
            c = int(who[i])
            ids.append(f"e{i}")
            sessions.append(f"s{c}-{int(at_us[i]) // 86_400_000_000}")
            if i < first:
                types.append("identify")
                customer.append(f"c{c}")
                anonymous.append(f"d{c}")
                props.append(f'{{"traits":{{"email":"{email(c)}","tier":"gold"}}}}')
                continue
            k = int(kind[i])
            if k == 0:
                types.append("product_viewed")
                props.append(f'{{"item_id":"sku-{item[i, 0]}"}}')
            elif k == 1:
                types.append("product_added")
                props.append(f'{{"item_id":"sku-{item[i, 0]}","quantity":1}}')
            else:
                types.append("order_completed")
                body = ",".join(
                    f'{{"item_id":"sku-{item[i, j]}","quantity":1,"price":{9.5 + j}}}'
                    for j in range(int(lines[i]))
                )
                props.append(f'{{"order_id":"o{i}","lines":[{body}]}}')
            anon = k == 0 and bool(device_only[i])
            customer.append(None if anon else f"c{c}")
            anonymous.append(f"d{c}" if anon else None)
        at = pa.array(base + at_us[lo:hi].astype("timedelta64[us]"), EVENT_SCHEMA.field(2).type)
        m = hi - lo
        yield pa.table(
            {
                "event_id": ids, "type": types, "timestamp": at, "received_at": at,
                "customer_id": customer, "anonymous_id": anonymous, "channel": ["web"] * m,
                "store_id": pa.nulls(m, pa.string()), "session_id": sessions,
                "decision_id": pa.nulls(m, pa.string()), "properties": props,
                "context": ["{}"] * m,
            },
            schema=EVENT_SCHEMA,
        )  # fmt: skip


def catalog(n: int) -> list[CatalogPatch]:
    categories = ["shoes", "shirts", "bags", "hats", "socks", "coats"]
    return [
        CatalogPatch(item_id=f"sku-{i}", name=f"Item {i}", category=[categories[i % 6]],
                     brand=f"brand{i % 40}", price=9.5 + i % 50)
        for i in range(max(n // EVENTS_PER_ITEM, 20))
    ]  # fmt: skip


def decisions(n: int, customers: int, seed: int = 13) -> Iterator[list[DecisionRecord]]:
    """``n`` logged decisions for random customers, in lists of at most 50,000."""
    rng = np.random.default_rng(seed)
    items = max(customers * EVENTS_PER_CUSTOMER // EVENTS_PER_ITEM, 20)
    for lo in range(0, n, 50_000):
        out = []
        for i in range(lo, min(n, lo + 50_000)):
            c = int(rng.integers(0, customers))
            out.append(
                DecisionRecord(
                    decision_id=f"dec{i}",
                    at=T0 + timedelta(seconds=i * 10),
                    placement="home",
                    customer=f"c{c}",
                    anonymous_id=None,
                    context={"channel": "web"},
                    items=[f"sku-{int(j)}" for j in rng.integers(0, items, 4)],
                    sources=["popularity"],
                    offers=[],
                    model_versions={"popularity": 1},
                    personalized=True,
                    fallback=None,
                    latency_ms=3.0,
                )
            )
        yield out


class Reclaimed(SpaceReclaimer):
    """The store's reclaimer, keeping the bytes it reports (the eraser only logs them)."""

    def __init__(self, inner: SpaceReclaimer) -> None:
        self.inner = inner
        self.sizes = (0, 0)

    def reclaim(self) -> tuple[int, int]:
        self.sizes = self.inner.reclaim()
        return self.sizes


@dataclass
class Round:
    """One erasure round: seconds per step, rows removed, bytes before and after."""

    people: int
    costs: dict[str, float]
    wall: float
    receipt: dict[str, int]
    bytes_before: int
    bytes_after: int
    events_left: int

    def figures(self) -> dict[str, Any]:
        return {
            "people": self.people, "seconds": self.costs, "wall_s": self.wall,
            "per_person_s": self.wall / self.people, "receipt": self.receipt,
            "bytes_before": self.bytes_before, "bytes_after": self.bytes_after,
            "events_left": self.events_left,
        }  # fmt: skip


@dataclass
class Run:
    """What one backend measured."""

    backend: str
    sizes: dict[str, int]
    peers: dict[str, float] = field(default_factory=dict)
    rounds: dict[str, Round] = field(default_factory=dict)
    #: where the data was (a PostgreSQL schema, dropped at the end)
    where: str = ""

    def figures(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "where": self.where, "sizes": self.sizes,
            "peers_s": self.peers, "rounds": {k: r.figures() for k, r in self.rounds.items()},
        }  # fmt: skip


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def load(storage: Storage, args: argparse.Namespace, progress: Progress) -> float:
    """The catalog, the events and the decisions into ``storage``; seconds of the events."""
    storage.catalog.upsert(catalog(args.events), T0)
    task = progress.add_task("events", total=args.events)
    seconds = 0.0
    for table in history(args.events):
        for lo in range(0, table.num_rows, APPEND_ROWS):
            part = table.slice(lo, APPEND_ROWS)
            seconds += timed(lambda part=part: storage.events.append(part))
            progress.advance(task, part.num_rows)
    task = progress.add_task("decisions", total=args.decisions)
    for records in decisions(args.decisions, max(args.events // EVENTS_PER_CUSTOMER, 1)):
        storage.decisions.append(records)
        progress.advance(task, len(records))
    return seconds


def rebuild(services: Services) -> float:
    """The projections rebuilt from the log as a start rebuilds them; seconds."""
    storage, features = services.storage, services.decisions.features
    features.import_state({"subjects": {}, "items": {}, "newest": 0.0, "pruned_at": 0.0})
    batches = (
        storage.events.scan()
        if services.feed is None
        else storage.events.read_after(None, storage.events.position())
    )
    return timed(lambda: services.profiles.rebuild(batches, also=features.apply))


def victims(args: argparse.Namespace) -> list[int]:
    """Who is erased: one person, then the batch (distinct customers)."""
    customers = max(args.events // EVENTS_PER_CUSTOMER, 1)
    rng = np.random.default_rng(17)
    return [int(c) for c in rng.choice(customers, min(customers, args.batch + 1), replace=False)]


def identifier(n: int, customer: int) -> str:
    """How the ``n``-th person of a round is named: by email, by customer id, in turn."""
    return f"email:{email(customer)}" if n % 2 == 0 else f"c{customer}"


def erase(services: Services, reclaimed: Reclaimed, people: list[int]) -> Round:
    """Erase ``people`` in one round (one: ``erase_now``; more: requested, then run)."""
    eraser, storage = services.eraser, services.storage
    identifiers = [identifier(n, c) for n, c in enumerate(people)]
    started = time.perf_counter()
    if len(identifiers) == 1:
        records = [eraser.erase_now(identifiers[0])]
    else:
        ids = [eraser.request(i).erasure_id for i in identifiers]
        assert eraser.run_pending() == len(ids)
        records = [r for r in (storage.privacy.get_erasure(i) for i in ids) if r is not None]
    wall = time.perf_counter() - started
    assert len(records) == len(people), "an erasure went missing"
    assert all(r.status == "done" for r in records), [r.error for r in records]
    receipt: Counter[str] = Counter()  # rows per store summed; what the round derived once
    for record in records:
        for k, v in record.receipt.items():
            receipt[k] = (
                max(receipt[k], int(v)) if k.startswith("derived.") else receipt[k] + int(v)
            )
    names = [f"{prefix}{c}" for c in people for prefix in ("c", "d")]
    left = len(storage.events.timeline(names, 1000))
    before, after = reclaimed.sizes
    return Round(len(people), dict(eraser.last_costs), wall, dict(receipt), before, after, left)


def measure(services: Services, args: argparse.Namespace, run: Run, console: Console) -> None:
    """The peers in the services, then one erasure and a batch."""
    with console.status("rebuilding the projections from the log (the peer)"):
        run.peers["rebuild"] = rebuild(services)
        run.peers["scan log"] = timed(
            lambda: sum(b.num_rows for b in services.storage.events.scan())
        )
    if args.train:
        with console.status(f"training {len(args.train)} models (the peer of retraining)"):
            run.peers["train"] = timed(lambda: services.models.train(args.train, force=True))
    reclaimed = Reclaimed(services.eraser.stores.reclaimer)
    services.eraser.stores.reclaimer = reclaimed
    people = victims(args)
    with console.status("erasing one person"):
        run.rounds["one"] = erase(services, reclaimed, people[:1])
    if len(people) > 1:
        with console.status(f"erasing {len(people) - 1} people in one round"):
            run.rounds["batch"] = erase(services, reclaimed, people[1:])


def copy_synced(source: Path, target: Path) -> None:
    """A plain copy of ``source``, on disk when it returns (as a rewrite's checkpoint is)."""
    shutil.copyfile(source, target)
    with target.open("rb+") as copied:
        os.fsync(copied.fileno())


def embedded(args: argparse.Namespace, console: Console, work: Path) -> Run:
    data = work / "duckdb"
    settings = Settings(data_dir=data)
    path = data / "retailor.duckdb"
    data.mkdir()
    storage = open_storage(settings.storage_dsn, data)
    with Progress(console=console, transient=True) as progress:
        loaded = load(storage, args, progress)
    storage.close()
    size = path.stat().st_size
    run = Run("DuckDB (embedded)", {"events": args.events, "decisions": args.decisions,
                                    "file_bytes": size})  # fmt: skip
    run.peers["bulk load"] = loaded
    with console.status("copying the database file (the I/O ceiling)"):
        copies = [timed(lambda: copy_synced(path, work / "copy.duckdb")) for _ in range(3)]
        (work / "copy.duckdb").unlink()
    run.peers["file copy"] = statistics.median(copies)
    with ExitStack() as stack:
        with console.status("starting: the services over the data, projections rebuilt"):
            started = time.perf_counter()
            storage = open_storage(settings.storage_dsn, data)
            stack.callback(storage.close)
            services = stack.enter_context(command_services(settings, storage))
            run.peers["start"] = time.perf_counter() - started
        measure(services, args, run, console)
    return run


def with_search_path(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}options={quote(f'-csearch_path={schema}')}"


#: the relations that hold rows, as the PostgreSQL reclaimer rewrites them
RELATIONS = (
    "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
    "AND c.relkind IN ('r', 'm') ORDER BY c.relname"
)


#: a count that reads every row of a table, not an index (as VACUUM FULL does)
SEQUENTIAL = (
    "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off"
)


def postgres(args: argparse.Namespace, console: Console, work: Path) -> Run:
    import psycopg
    from psycopg import sql

    schema = f"bench_erasure_{os.getpid()}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    scoped = with_search_path(args.postgres, schema)
    data = work / "postgres"
    data.mkdir()
    try:
        settings = Settings(data_dir=data, storage=scoped)
        storage = open_storage(scoped, data)
        try:
            with Progress(console=console, transient=True) as progress:
                loaded = load(storage, args, progress)

            def count_all() -> int:
                with psycopg.connect(scoped) as conn:
                    conn.execute(SEQUENTIAL)
                    names = [r[0] for r in conn.execute(RELATIONS).fetchall()]
                    return sum(
                        conn.execute(
                            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(n))
                        ).fetchall()[0][0]
                        for n in names
                    )

            with psycopg.connect(scoped, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            count_all()  # warm the cache, as the reclaim finds it
            sizes = {"events": args.events, "decisions": args.decisions}
            run = Run("PostgreSQL", sizes, where=schema)
            run.peers["bulk load"] = loaded
            run.peers["full scan"] = statistics.median(timed(count_all) for _ in range(3))
            with ExitStack() as stack:
                with console.status("starting: the services over the data"):
                    started = time.perf_counter()
                    services = stack.enter_context(command_services(settings, storage))
                    run.peers["start"] = time.perf_counter() - started
                measure(services, args, run, console)
        finally:
            storage.close()
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    run.sizes["bytes"] = run.rounds["one"].bytes_before
    return run


def show(run: Run, console: Console, ceiling: str) -> None:
    peers = {"rebuild": run.peers["rebuild"], ceiling: run.peers[ceiling],
             "bulk load": run.peers["bulk load"]}  # fmt: skip
    table = Table(
        "step", "seconds", "per person", *(f"/ {name}" for name in peers),
        title=f"{run.backend}: {run.sizes['events']:,} events, {run.sizes['decisions']:,} decisions",
    )  # fmt: skip

    def row(name: str, seconds: float, people: int | None = None) -> None:
        per = f"{seconds / people:.3f}" if people else ""
        ratios = (f"{seconds / peer:.2f}" for peer in peers.values())
        table.add_row(name, f"{seconds:.3f}", per, *ratios)

    for name, seconds in run.peers.items():
        row(f"peer: {name}", seconds)
    for label, r in run.rounds.items():
        title = "one erasure" if label == "one" else f"{r.people} erasures, one round"
        for step in STEPS:
            row(f"{title}: {step}", r.costs[step], r.people)
        row(f"{title}: whole round", r.wall, r.people)
    console.print(table)
    for label, r in run.rounds.items():
        rows = {k: v for k, v in r.receipt.items() if v and not k.startswith("derived.")}
        console.print(
            f"{label}: {r.people} {'person' if r.people == 1 else 'people'}, rows removed {rows}, "
            f"{r.bytes_before / 1e6:,.1f} MB before the reclaim, {r.bytes_after / 1e6:,.1f} MB "
            f"after; events of theirs left: {r.events_left}"
        )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000,
                        help="events in the synthetic history (default 200,000)")  # fmt: skip
    parser.add_argument("--decisions", type=int, default=None,
                        help="logged decisions (default: a tenth of --events)")  # fmt: skip
    parser.add_argument("--batch", type=int, default=10,
                        help="people erased together in the second round (default 10; 0: skip)")  # fmt: skip
    parser.add_argument(
        "--train", nargs="?", const=",".join(DEFAULT_MODELS), default="",
        metavar="MODELS",
        help="train models before erasing, so that each erasure retrains them: the default "
        "set, or the comma-separated names given (e.g. popularity,item_item); default: none",
    )  # fmt: skip
    parser.add_argument("--postgres", metavar="DSN", default="",
                        help="also measure PostgreSQL at this DSN (a schema of its own is made "
                        "and dropped), e.g. postgresql://postgres@127.0.0.1:5432/test")  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.events < 100:
        parser.error("--events must be at least 100")
    if args.batch < 0:
        parser.error("--batch must not be negative")
    if args.decisions is None:
        args.decisions = args.events // 10
    args.train = [n.strip() for n in args.train.split(",") if n.strip()]
    unknown = sorted(set(args.train) - set(DEFAULT_MODELS) - {"bpr", "most_bought"})
    if unknown:
        parser.error(f"--train names no model: {', '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    console = Console(width=120)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="retailor-bench-erasure-") as tmp:
        runs.append(embedded(args, console, Path(tmp)))
        show(runs[-1], console, "file copy")
        if args.postgres:
            runs.append(postgres(args, console, Path(tmp)))
            show(runs[-1], console, "full scan")
    if args.json:
        figures = {"train": args.train, "batch": args.batch,
                   "runs": [r.figures() for r in runs]}  # fmt: skip
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
