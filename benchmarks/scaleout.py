"""Scale-out: one worker on PostgreSQL + Redis next to the embedded (DuckDB) server, in
one run, and the per-unit figures of a capacity model.

    .venv/bin/python benchmarks/scaleout.py [--seconds N] [--events 1000000] [--json out.json]
        [--quick]

Makes a fresh schema ``bench_<random>`` in the PostgreSQL database ``test`` on
127.0.0.1:5432 (user postgres; the DSN sets ``search_path`` to it) and a fresh Redis
namespace ``bench_<random>`` on 127.0.0.1:6379/0, and removes both at the end. Starts two
servers: ``retailor serve`` embedded (DuckDB) and one worker on PostgreSQL + Redis
(``RETAILOR_STORAGE``, ``RETAILOR_STATE``, ``RETAILOR_IDENTITY_SALT``), and loads the same
shop into each through the API (``benchmarks/decisions.py``: 2,000 items, 5,000 customers,
about 100,000 events, the default models trained, 4 offers). Every figure below is
measured on both in the same run, one right after the other, and given as a ratio of the
worker to the embedded server, since these shared machines are noisy. Before each
measurement the script waits (at most 90 s) until the machine is 80 % idle, so that one
server's background work after loading (model lists, refreshes) does not land on the
other's phase:

1. Decisions. Open loop at ``--rate`` (default 1,000 req/s) for ``--seconds`` after 2 s of
   warm-up, with ``decisions.py``'s own generator (latency from each request's due time,
   no coordinated omission), then closed loop with wrk (one thread, 64 connections).
   Targets: the worker's p99 <= 10 ms at 1,000 req/s; its throughput >= 0.6 x embedded.
2. Ingest through HTTP (``benchmarks/ingest.py``'s wrk scripts): single events (64
   connections) and batches of 1,000 (8 connections), for ``--seconds`` each. Target:
   batches into PostgreSQL >= 30,000 events/s.
3. Redis round trips per decision on the worker, quiet otherwise: sequential decisions,
   counted by the worker itself (``retailor_redis_round_trips_total{call}`` of /metrics,
   one per command, script or pipeline), minus the same count over an idle window just
   before (the worker polls the feed in the background); those on the request path are
   the target, those made behind the answers (decisions put in the shared cache in
   batches) are shown apart. Beside them, the commands Redis processed (``INFO
   commandstats``, a script's own commands included, so more than the round trips).
   The best of three repeats is kept. Target: <= 3 round trips on the request path.
4. A new worker's start with ``--events`` (default 1,000,000) events in the log, written
   straight through the PostgreSQL event log adapter in batches (another fresh schema and
   namespace; 20 events per customer on average, a tenth of sessions anonymous, a third of
   customers with a device id too; views, cart adds and orders over the last 90 days):
   seconds from the process's start to the first 200 of GET /healthz, (a) with no
   snapshot (it folds the whole log) and (b) after a snapshot of the projections was saved
   (``Services.snapshot()`` in a process of its own: no worker takes snapshots by itself
   yet), and their ratio. The worker's own log line gives the part spent on the
   projections; the rest is the process's start and fitting the live models (popularity,
   trending) on the log, which both starts do (and, after a snapshot, reading it: the
   worker's log times only the folding of the appends after it).
5. Capacity: PostgreSQL bytes per stored event (``pg_total_relation_size`` of the events
   partitions and of ``event_ids``, over the count, in the log of 4) and per logged
   decision (``decisions``, after the decision phases), Redis bytes per decision held in
   the shared cache (``MEMORY USAGE``, a sample), Redis bytes per feed
   payload held (``MEMORY USAGE`` of the feed's payload keys, per key and per event, after
   each ingest phase; payloads expire after ``feed_hold_seconds``), and the servers'
   resident memory (VmRSS from /proc) empty, with the shop, and with the log of 4.

Prints the tables and writes every figure to ``--json``. ``--quick`` (100,000 events,
5 s phases) is for trying the script; the defaults take 6 to 10 minutes on 2 cores.
Needs wrk, a PostgreSQL and a Redis on this machine. Run by hand; never a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pyarrow as pa
import redis
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _open_loop import open_loop, raw_requests
from _server import Server, Usage, env_note, need_wrk, start_server, write_json, wrk
from decisions import OPEN_CONNECTIONS, WARMUP_S, WRK_CONNECTIONS, Shop, load, rotating
from ingest import batches, single_events
from retailor.storage.schema import EVENT_SCHEMA

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
SALT = "one-salt-for-every-worker"
THROUGHPUT_TARGET = 0.6
P99_TARGET_MS = 10.0
BATCH_TARGET = 30_000
ROUND_TRIP_TARGET = 3.0
WRITE_BATCH = 20_000
#: ``retailor serve`` that logs how long the projections took
LOGGED_SERVER = Path(__file__).resolve().parent / "_logged_server.py"
PROJECTIONS_LINE = re.compile(
    r"projections (.+?), then folded up to position (\d+), in ([0-9.]+) s"
)


# --- the places this run keeps its data ------------------------------------------------


class Place:
    """A fresh PostgreSQL schema and Redis namespace; ``drop()`` removes both."""

    def __init__(self, tag: str) -> None:
        self.name = f"bench_{tag}"
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {self.name}")
        self.dsn = f"{POSTGRES}?options={quote(f'-csearch_path={self.name}')}"
        self.state = f"{REDIS}?namespace={self.name}"
        self.env = {
            "RETAILOR_STORAGE": self.dsn,
            "RETAILOR_STATE": self.state,
            "RETAILOR_IDENTITY_SALT": SALT,
        }

    def keys(self, client: redis.Redis, pattern: str = "*") -> Iterator[bytes]:
        return client.scan_iter(match=f"{self.name}:{pattern}", count=1_000)

    def drop(self, client: redis.Redis) -> None:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        doomed = list(self.keys(client))
        for i in range(0, len(doomed), 1_000):
            client.delete(*doomed[i : i + 1_000])


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` (VmRSS), in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


# --- 1 and 2: the same measurement on both servers ----------------------------------------


def both(console: Console, label: str, servers: dict[str, Server], measure: Any) -> dict[str, Any]:
    """``measure(server)`` on the embedded server, then on the worker, each with the
    server's CPU over the phase."""
    out: dict[str, Any] = {}
    for name, server in servers.items():
        with console.status(f"{label}: {name} (waiting for a quiet machine)"):
            quiet = settle()
        with console.status(f"{label}: {name}"), Usage(server.process.pid) as used:
            out[name] = measure(server)
        out[name]["cpu"] = used.figures
        out[name]["settle"] = quiet
    return out


def settle(idle_share: float = 0.8, most_seconds: float = 90.0) -> dict[str, float]:
    """Wait until the machine is idle for ``idle_share`` of a second (what the last phase
    left in flight, a server's background work after loading, is done), at most
    ``most_seconds``; how long it took and the idle share of the last second."""
    started = time.perf_counter()
    while True:
        with Usage(os.getpid()) as used:
            time.sleep(1)
        waited = time.perf_counter() - started
        if used.figures["idle"] >= idle_share or waited >= most_seconds:
            return {"waited_s": round(waited, 1), "idle": used.figures["idle"]}


def preflight(server: Server, bodies: list[bytes]) -> dict[str, Any]:
    """Every body once (warms the caches); the statuses."""
    statuses: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for body in bodies:
            code = str(client.post("/v1/decisions", content=body).status_code)
            statuses[code] = statuses.get(code, 0) + 1
    return {"statuses": statuses}


# --- 3: Redis commands per decision ------------------------------------------------------


def _commands(client: redis.Redis) -> tuple[dict[str, int], int]:
    stats = client.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    return calls, int(client.info("stats")["total_commands_processed"])


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {
        k: v - before.get(k, 0) for k, v in after.items() if k != "info" and v != before.get(k, 0)
    }


#: Round trips the worker makes off the request path (batched behind the answers).
OFF_PATH = ("RedisHotCache.put_many", "RedisEventFeed.announce")
_TRIPS = re.compile(r'retailor_redis_round_trips_total\{call="([^"]+)"\} ([0-9.e+]+)')


def _trips(http: httpx.Client) -> dict[str, float]:
    """The worker's own count of its round trips to Redis, by call (from /metrics)."""
    return {call: float(n) for call, n in _TRIPS.findall(http.get("/metrics").text)}


def redis_per_decision(
    client: redis.Redis, server: Server, bodies: list[bytes], count: int, repeats: int = 3
) -> dict[str, Any]:
    """Commands Redis processed per decision (see the module docstring, 3.)."""
    headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
    runs = []
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        for _ in range(repeats):
            idle_before, total_0 = _commands(client)
            trips_0 = _trips(http)
            started = time.perf_counter()
            time.sleep(2.0)
            idle_after, total_1 = _commands(client)
            trips_1 = _trips(http)
            idle_s = time.perf_counter() - started
            started = time.perf_counter()
            for i in range(count):
                answer = http.post("/v1/decisions", content=bodies[i % len(bodies)])
                if answer.status_code != 200:
                    raise SystemExit(f"decision refused: {answer.status_code} {answer.text}")
            busy_s = time.perf_counter() - started
            busy_after, total_2 = _commands(client)
            trips_2 = _trips(http)
            idle = _delta(idle_after, idle_before)
            busy = _delta(busy_after, idle_after)
            scale = busy_s / idle_s
            trips = {
                call: (trips_2.get(call, 0) - trips_1.get(call, 0))
                - (trips_1.get(call, 0) - trips_0.get(call, 0)) * scale
                for call in trips_2
            }
            on_path = {c: n / count for c, n in trips.items() if c not in OFF_PATH}
            off_path = {c: n / count for c, n in trips.items() if c in OFF_PATH}
            background = sum(idle.values()) * scale
            runs.append(
                {
                    "decisions": count,
                    "seconds": round(busy_s, 2),
                    "commands": sum(busy.values()),
                    "idle_commands_per_s": round(sum(idle.values()) / idle_s, 2),
                    "round_trips_per_decision": round(sum(on_path.values()), 3),
                    "round_trips_by_call": {c: round(n, 3) for c, n in sorted(on_path.items())},
                    "off_path_per_decision": {c: round(n, 3) for c, n in sorted(off_path.items())},
                    "per_decision": round((sum(busy.values()) - background) / count, 3),
                    "per_decision_raw": round(sum(busy.values()) / count, 3),
                    "total_commands_processed_per_decision": round(
                        ((total_2 - total_1) - (total_1 - total_0) * scale) / count, 3
                    ),
                    "by_command": {
                        k: round((v - idle.get(k, 0) * scale) / count, 3)
                        for k, v in sorted(busy.items())
                    },
                }
            )
    best = min(runs, key=lambda run: run["round_trips_per_decision"])
    return {**best, "repeats": [run["round_trips_per_decision"] for run in runs]}


# --- 2 and 5: ingest, and what the feed holds ---------------------------------------------


def feed_held(client: redis.Redis, place: Place, after: int) -> dict[str, Any]:
    """The feed's payload keys for positions after ``after``: memory and events held."""
    from retailor.runtime.feeding import decode_events

    keys = [k for k in place.keys(client, "feed:append:*") if int(k.rsplit(b":", 1)[1]) > after]
    if not keys:
        return {"payloads": 0}
    sample = keys if len(keys) <= 2_000 else random.Random(5).sample(keys, 2_000)
    pipe = client.pipeline(transaction=False)
    for key in sample:
        pipe.memory_usage(key, samples=0)
        pipe.get(key)
    answers = pipe.execute()
    memory = [m for m in answers[0::2] if m is not None]
    events = sum(len(decode_events(p)) for p in answers[1::2] if p is not None)
    payload = sum(len(p) for p in answers[1::2] if p is not None)
    held = len(memory)
    return {
        "payloads": len(keys),
        "sampled": held,
        "bytes_per_payload": round(sum(memory) / held, 1),
        "events_per_payload": round(events / held, 2),
        "bytes_per_event": round(sum(memory) / max(1, events), 1),
        "payload_bytes_per_event": round(payload / max(1, events), 1),
        "total_mb_estimate": round(sum(memory) / held * len(keys) / 1e6, 2),
    }


def feed_head(client: redis.Redis, place: Place) -> int:
    value = client.get(f"{place.name}:feed:head")
    return int(value) if value is not None else 0


# --- 4: a large log, and a new worker's start ---------------------------------------------


def history(count: int, seed: int = 7) -> Iterator[pa.Table]:
    """``count`` events in tables of ``WRITE_BATCH``: sessions of 3-8 events by ``count /
    20`` customers (a third of them with a device id too) and anonymous visitors (a tenth
    of sessions), views, cart adds and orders over the last 90 days, Zipf-like items."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    customers = max(1, count // 20)
    items = [f"sku-{i:05d}" for i in range(20_000)]
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(items))]
    popular = rng.choices(items, weights, k=200_000)  # drawn once, picked from below
    columns: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    made = session = 0
    received = int(now.timestamp() * 1e6)
    while made < count:
        session += 1
        size = min(count - made, rng.randint(3, 8))
        anonymous = rng.random() < 0.1
        c = rng.randrange(customers)
        customer = None if anonymous else f"c{c}"
        device = f"anon-{session}" if anonymous else (f"dev-{c}" if c % 3 == 0 else None)
        start = received - int(rng.uniform(60, 90 * 86_400) * 1e6)
        channel = "web" if rng.random() < 0.7 else "app"
        carted: list[str] = []
        for k in range(size):
            item = popular[rng.randrange(len(popular))]
            if k == size - 1 and customer and (carted or rng.random() < 0.2):
                lines = ",".join(
                    f'{{"item_id":"{i}","quantity":1,"price":{9.5 + len(i) % 7}}}'
                    for i in dict.fromkeys(carted or [item])
                )
                kind, props = (
                    "order_completed",
                    f'{{"order_id":"o-{session}","lines":[{lines}]}}',
                )
            elif rng.random() < 0.15:
                carted.append(item)
                kind, props = "product_added", f'{{"item_id":"{item}","quantity":1}}'
            else:
                kind, props = "product_viewed", f'{{"item_id":"{item}"}}'
            columns["event_id"].append(f"h{session}-{k}")
            columns["type"].append(kind)
            columns["timestamp"].append(start + 70_000_000 * k)
            columns["received_at"].append(received)
            columns["customer_id"].append(customer)
            columns["anonymous_id"].append(device)
            columns["channel"].append(channel)
            columns["store_id"].append(None)
            columns["session_id"].append(f"s{session}")
            columns["decision_id"].append(None)
            columns["properties"].append(props)
            columns["context"].append("{}")
            made += 1
            if len(columns["event_id"]) == WRITE_BATCH:
                yield _table(columns)
                columns = {name: [] for name in EVENT_SCHEMA.names}
    if columns["event_id"]:
        yield _table(columns)


def _table(columns: dict[str, list[Any]]) -> pa.Table:
    arrays = []
    for field in EVENT_SCHEMA:
        if field.name in ("timestamp", "received_at"):
            arrays.append(pa.array(columns[field.name], pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(columns[field.name], field.type))
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def write_history(place: Place, count: int, data: Path) -> dict[str, Any]:
    """``count`` events into ``place``'s log through the PostgreSQL adapter."""
    from retailor.storage.factory import open_storage

    storage = open_storage(place.dsn, data)
    try:
        started = time.perf_counter()
        accepted = sum(storage.events.append(table).accepted for table in history(count))
        seconds = time.perf_counter() - started
        position = storage.events.position()
    finally:
        storage.close()
    return {
        "events": accepted,
        "appends": position,
        "seconds": round(seconds, 1),
        "events_per_s": round(accepted / seconds),
    }


def save_snapshot(dsn: str, state: str, data: str) -> dict[str, Any]:
    """In a process of its own: the services over the shared log (folding all of it),
    then ``Services.snapshot()``."""
    from retailor.runtime.services import build_services, open_shared
    from retailor.settings import Settings
    from retailor.storage.factory import open_storage

    Path(data).mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=Path(data), storage=dsn, state=state, identity_salt=SALT)
    storage = open_storage(dsn, settings.data_dir)
    shared = open_shared(settings)
    assert shared is not None
    try:
        started = time.perf_counter()
        services = build_services(settings, storage, background=False, shared=shared)
        built = time.perf_counter() - started
        started = time.perf_counter()
        position = services.snapshot()
        saved = time.perf_counter() - started
        services.close()
    finally:
        shared.close()
        storage.close()
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT bytes FROM snapshots ORDER BY position DESC LIMIT 1").fetchone()
    return {
        "position": position,
        "fold_s": round(built, 1),
        "save_s": round(saved, 1),
        "snapshot_mb": round((row[0] if row else 0) / 1e6, 1),
    }


def new_worker(place: Place, logs: Path, name: str) -> dict[str, Any]:
    """Start a worker on ``place``, time it to ready, note its memory, stop it."""
    log = logs / f"{name}.log"
    server = start_server("admin", place.env, LOGGED_SERVER, wait_seconds=1_800, log=log)
    try:
        rss = rss_mb(server.process.pid)
    finally:
        server.stop()
    found = PROJECTIONS_LINE.search(log.read_text(errors="replace"))
    return {
        "ready_s": round(server.ready_s, 2),
        "rss_mb": rss,
        "projections": found.group(1) if found else None,
        "projections_s": float(found.group(3)) if found else None,
    }


def storage_bytes(place: Place) -> dict[str, Any]:
    """What the events take in PostgreSQL: partitions with their indexes and TOAST, and
    the ids' table."""
    with psycopg.connect(place.dsn) as conn:
        events = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
            "WHERE inhparent = 'events'::regclass"
        ).fetchone()
        ids = conn.execute("SELECT pg_total_relation_size('event_ids')").fetchone()
        count = conn.execute("SELECT count(*) FROM event_ids").fetchone()
    assert events and ids and count
    n = max(1, int(count[0]))
    return {
        "events": int(count[0]),
        "events_mb": round(int(events[0]) / 1e6, 1),
        "event_ids_mb": round(int(ids[0]) / 1e6, 1),
        "bytes_per_event": round((int(events[0]) + int(ids[0])) / n, 1),
    }


def decision_bytes(place: Place, client: redis.Redis) -> dict[str, Any]:
    """What a logged decision takes: in PostgreSQL (``decisions`` with its indexes and
    TOAST, over its rows) and in Redis while it is shared (``MEMORY USAGE`` of the cache's
    decision keys, a sample of up to 500)."""
    with psycopg.connect(place.dsn) as conn:
        size = conn.execute("SELECT pg_total_relation_size('decisions')").fetchone()
        count = conn.execute("SELECT count(*) FROM decisions").fetchone()
    assert size and count
    keys = []
    for key in place.keys(client, "cache:decision:*"):
        keys.append(key)
        if len(keys) >= 500:
            break
    used = [int(client.memory_usage(k) or 0) for k in keys]
    return {
        "decisions": int(count[0]),
        "postgres_bytes_per_decision": round(int(size[0]) / max(1, int(count[0])), 1),
        "redis_sampled": len(used),
        "redis_bytes_per_decision": round(sum(used) / len(used), 1) if used else None,
    }


# --- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace, console: Console, figures: dict[str, Any]) -> None:
    shop_place = Place(secrets.token_hex(4))
    cold_place = Place(secrets.token_hex(4))
    client = redis.Redis.from_url(REDIS)
    work = Path(tempfile.mkdtemp(prefix="retailor-scaleout-"))
    servers: dict[str, Server] = {}
    spawn = multiprocessing.get_context("spawn")
    try:
        # the shop, in both
        with console.status("starting both servers"):
            servers["embedded"] = start_server("admin", log=work / "embedded.log")
            servers["worker"] = start_server(
                "admin", shop_place.env, wait_seconds=120, log=work / "worker.log"
            )
        memory: dict[str, Any] = {
            name: {"empty_mb": rss_mb(s.process.pid)} for name, s in servers.items()
        }
        figures["capacity"] = {"rss": memory}
        figures["shop"] = {}
        for name, server in servers.items():
            figures["shop"][name] = load(server, Shop(), console)
            memory[name]["with_shop_mb"] = rss_mb(server.process.pid)
        bodies = Shop().bodies()
        figures["preflight"] = both(
            console, "every body once", servers, lambda s: preflight(s, bodies)
        )

        # 1. decisions
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as generator:
            generator.submit(int, 0).result()  # start the process before measuring
            figures["open_loop"] = both(
                console,
                f"open loop at {args.rate:,.0f} req/s",
                servers,
                lambda s: generator.submit(
                    open_loop,
                    s.url,
                    raw_requests(s.url, "POST", "/v1/decisions", s.key, bodies),
                    args.rate,
                    args.seconds,
                    WARMUP_S,
                    OPEN_CONNECTIONS,
                ).result(),
            )
        figures["closed_loop"] = both(
            console,
            f"wrk, {WRK_CONNECTIONS} connections, decisions",
            servers,
            lambda s: wrk(s.url, rotating(s.key, bodies), args.seconds, WRK_CONNECTIONS, work),
        )

        # 3. Redis per decision, on the worker alone
        with console.status("Redis commands per decision (waiting for a quiet machine)"):
            settle()
        with console.status("Redis commands per decision"):
            figures["redis_per_decision"] = redis_per_decision(
                client, servers["worker"], bodies, args.counted
            )
        figures["capacity"]["decisions"] = decision_bytes(shop_place, client)

        # 2. ingest, and what the feed holds after each phase
        head = feed_head(client, shop_place)
        figures["ingest_single"] = both(
            console,
            "single events, 64 connections",
            servers,
            lambda s: wrk(s.url, single_events(s.key), args.seconds, 64, work),
        )
        feed: dict[str, Any] = {"single": feed_held(client, shop_place, head)}
        head = feed_head(client, shop_place)
        figures["ingest_batches"] = both(
            console,
            "batches of 1,000, 8 connections",
            servers,
            lambda s: wrk(s.url, batches(s.key, 1_000), args.seconds, 8, work),
        )
        feed["batches"] = feed_held(client, shop_place, head)
        figures["capacity"]["redis_feed"] = feed
        for server in servers.values():
            server.stop()
        servers.clear()

        # 4. a new worker's start, with and without a snapshot
        with console.status(f"writing {args.events:,} events into PostgreSQL"):
            figures["history"] = write_history(cold_place, args.events, work)
        figures["capacity"]["postgres"] = storage_bytes(cold_place)
        start: dict[str, Any] = {}
        with console.status("a new worker, no snapshot"):
            start["no_snapshot"] = new_worker(cold_place, work, "cold")
        with (
            console.status("a snapshot of the projections"),
            ProcessPoolExecutor(max_workers=1, mp_context=spawn) as snapshotter,
        ):
            start["snapshot"] = snapshotter.submit(
                save_snapshot, cold_place.dsn, cold_place.state, str(work / "snapshotter")
            ).result()
        with console.status("a new worker, after the snapshot"):
            start["with_snapshot"] = new_worker(cold_place, work, "warm")
        start["ratio"] = round(
            start["with_snapshot"]["ready_s"] / start["no_snapshot"]["ready_s"], 3
        )
        figures["new_worker"] = start
        memory["worker"]["with_history_mb"] = start["no_snapshot"]["rss_mb"]
        memory["worker"]["with_history_from_snapshot_mb"] = start["with_snapshot"]["rss_mb"]
    finally:
        for server in servers.values():
            server.stop()
        for place in (shop_place, cold_place):
            place.drop(client)
        client.close()
        shutil.rmtree(work, ignore_errors=True)


# --- the report ---------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "[green]met[/]" if ok else "[bold red]NOT met[/]"


def derive(figures: dict[str, Any], rate: float) -> dict[str, Any]:
    """The ratios and whether each target is met."""
    closed, opened = figures["closed_loop"], figures["open_loop"]
    single, batch = figures["ingest_single"], figures["ingest_batches"]
    worker_open = opened["worker"]
    ratios = {
        "decisions_per_s": closed["worker"]["requests_per_s"]
        / closed["embedded"]["requests_per_s"],
        "p99_ms": worker_open["latency_ms"]["p99"] / opened["embedded"]["latency_ms"]["p99"],
        "single_events_per_s": single["worker"]["requests_per_s"]
        / single["embedded"]["requests_per_s"],
        "batch_events_per_s": batch["worker"]["requests_per_s"]
        / batch["embedded"]["requests_per_s"],
        "start_with_snapshot": figures["new_worker"]["ratio"],
    }
    events = figures["history"]["events"]
    memory = figures["capacity"]["rss"]["worker"]
    figures["capacity"]["rss"]["worker_mb_per_1000_events"] = round(
        (memory["with_history_mb"] - memory["empty_mb"]) / events * 1000, 3
    )
    figures["capacity"]["rss"]["worker_kb_per_customer"] = round(
        (memory["with_history_mb"] - memory["empty_mb"]) * 1024 / max(1, events // 20), 2
    )
    met = {
        "throughput": ratios["decisions_per_s"] >= THROUGHPUT_TARGET
        and closed["worker"]["errors"] == 0,
        "p99": worker_open["latency_ms"]["p99"] <= P99_TARGET_MS
        and worker_open["non_2xx"] == 0
        and worker_open["unfinished"] == 0
        and rate >= 1_000,
        "batches": batch["worker"]["requests_per_s"] * 1_000 >= BATCH_TARGET
        and batch["worker"]["errors"] == 0,
        "redis": figures["redis_per_decision"]["round_trips_per_decision"] <= ROUND_TRIP_TARGET,
    }
    return {"ratios": {k: round(v, 3) for k, v in ratios.items()}, "met": met}


def report(console: Console, figures: dict[str, Any], args: argparse.Namespace) -> int:
    """Print the tables; the number of failed or non-2xx requests."""
    derived = figures["derived"]
    ratios, met = derived["ratios"], derived["met"]
    table = Table(
        "measure",
        "embedded (DuckDB)",
        "worker (PostgreSQL + Redis)",
        "worker / embedded",
        "target",
        "",
        title=f"Scale-out: one worker next to the embedded server ({figures['machine']}, "
        f"{args.seconds} s phases)",
    )

    def cpu(f: dict[str, Any]) -> str:
        return f"; {f['cpu']['server_cores']:.2f} cores, steal {f['cpu']['steal']:.0%}"

    opened = figures["open_loop"]

    def latency(f: dict[str, Any]) -> str:
        p = f["latency_ms"]
        return (
            f"p50 {p['p50']:.2f} / p99 {p['p99']:.2f} / max {p['max']:.1f} ms, "
            f"{f['non_2xx']} non-2xx, {f['unfinished']} unanswered{cpu(f)}"
        )

    table.add_row(
        f"decisions, open loop {args.rate:,.0f} req/s",
        latency(opened["embedded"]),
        latency(opened["worker"]),
        f"p99 x {ratios['p99_ms']:.2f}",
        f"worker p99 <= {P99_TARGET_MS:.0f} ms",
        verdict(met["p99"]),
    )
    rows = (
        ("closed_loop", f"decisions, wrk {WRK_CONNECTIONS} conn.", 1, "decisions_per_s",
         f">= {THROUGHPUT_TARGET} x embedded", "throughput", "req/s"),
        ("ingest_single", "single events, wrk 64 conn.", 1, "single_events_per_s", "", None,
         "events/s"),
        ("ingest_batches", "batches of 1,000, wrk 8 conn.", 1_000, "batch_events_per_s",
         f"worker >= {BATCH_TARGET:,} events/s", "batches", "events/s"),
    )  # fmt: skip
    for key, label, per, ratio, target, goal, unit in rows:
        f = figures[key]

        def cell(g: dict[str, Any], per: int = per, unit: str = unit) -> str:
            return (
                f"{g['requests_per_s'] * per:,.0f} {unit}, p99 {g['p99_ms']:.1f} ms, "
                f"{g['errors']} errors{cpu(g)}"
            )

        table.add_row(
            label,
            cell(f["embedded"]),
            cell(f["worker"]),
            f"{ratios[ratio]:.3f}",
            target,
            verdict(met[goal]) if goal else "",
        )
    rt = figures["redis_per_decision"]
    table.add_row(
        f"Redis round trips per decision on the request path ({rt['decisions']:,} sequential)",
        "none",
        f"{rt['round_trips_per_decision']:.2f} ({rt['round_trips_by_call']}; repeats "
        f"{rt['repeats']}); behind the answers: {rt['off_path_per_decision']}",
        "",
        f"<= {ROUND_TRIP_TARGET:.0f}",
        verdict(met["redis"]),
    )
    table.add_row(
        "Redis commands per decision (scripts' own commands included)",
        "none",
        f"{rt['per_decision']:.2f} (raw {rt['per_decision_raw']:.2f}, background "
        f"{rt['idle_commands_per_s']:.1f}/s; {rt['by_command']})",
        "",
        "",
        "",
    )
    console.print(table)

    start = figures["new_worker"]
    history = figures["history"]
    cold = Table(
        "a new worker",
        "ready (s, process start to /healthz 200)",
        "of which projections",
        "RSS MB",
        title=f"Start with {history['events']:,} events in the log ({history['appends']:,} "
        f"appends written at {history['events_per_s']:,} events/s)",
    )
    for key, label in (("no_snapshot", "no snapshot"), ("with_snapshot", "after a snapshot")):
        f = start[key]
        if f["projections_s"] is None:
            part = "not logged"
        elif key == "no_snapshot":
            part = (
                f"{f['projections_s']:.1f} s ({f['projections']}); the rest "
                f"{f['ready_s'] - f['projections_s']:.1f} s"
            )
        else:  # the worker times only what it folds after the snapshot it loaded
            part = (
                f"{f['projections_s']:.1f} s folding after the snapshot; reading and "
                "unpickling the snapshot is in the rest"
            )
        cold.add_row(label, f"{f['ready_s']:.1f}", part, f"{f['rss_mb']:,.0f}")
    snap = start["snapshot"]
    cold.add_row(
        "with / without snapshot",
        f"{start['ratio']:.3f}",
        f"snapshot: {snap['snapshot_mb']} MB at position {snap['position']}, folded in "
        f"{snap['fold_s']} s, saved in {snap['save_s']} s",
        "",
    )
    console.print(cold)

    capacity = figures["capacity"]
    pg, rss, feed = capacity["postgres"], capacity["rss"], capacity["redis_feed"]
    units = Table("capacity", "per unit", "measured on", title="Capacity model")
    units.add_row(
        "PostgreSQL bytes per stored event",
        f"{pg['bytes_per_event']:,.0f}",
        f"{pg['events']:,} events: partitions {pg['events_mb']} MB + event_ids "
        f"{pg['event_ids_mb']} MB",
    )
    for phase, f in feed.items():
        if not f.get("payloads"):
            units.add_row(f"Redis feed ({phase})", "nothing held", "")
            continue
        units.add_row(
            f"Redis bytes per feed payload held ({phase})",
            f"{f['bytes_per_payload']:,.0f} ({f['bytes_per_event']:,.0f} per event)",
            f"{f['payloads']:,} payloads of {f['events_per_payload']:,.1f} events "
            f"(~{f['total_mb_estimate']} MB); msgpack {f['payload_bytes_per_event']:.0f} "
            "B/event",
        )
    d = figures["capacity"].get("decisions")
    if d:
        units.add_row(
            "bytes per logged decision: PostgreSQL / Redis while shared",
            f"{d['postgres_bytes_per_decision']:,.0f} / {d['redis_bytes_per_decision'] or 0:,.0f}",
            f"{d['decisions']:,} decisions in the log; {d['redis_sampled']} cache keys sampled",
        )
    for name in ("embedded", "worker"):
        m = rss[name]
        units.add_row(
            f"{name} RSS MB: empty / with the shop",
            f"{m['empty_mb']:,.0f} / {m['with_shop_mb']:,.0f}",
            "5,000 customers, ~100,000 events, trained models",
        )
    w = rss["worker"]
    units.add_row(
        "worker RSS MB with the large log (no snapshot / from snapshot)",
        f"{w['with_history_mb']:,.0f} / {w['with_history_from_snapshot_mb']:,.0f}",
        f"{history['events']:,} events, ~{history['events'] // 20:,} customers; "
        f"{rss['worker_mb_per_1000_events']} MB per 1,000 events, "
        f"{rss['worker_kb_per_customer']} KB per customer over the empty worker",
    )
    console.print(units)
    load = figures["load_average"]
    console.print(
        f"1-minute load average: {load['before']:.2f} before the run, {load['after']:.2f} at "
        "the end (this run's own processes included)"
    )
    steal = max(
        f[name]["cpu"]["steal"]
        for key in ("open_loop", "closed_loop", "ingest_single", "ingest_batches")
        for name, f in [("embedded", figures[key]), ("worker", figures[key])]
    )
    if steal > 0.05:
        console.print(
            f"[yellow]the hypervisor took up to {steal:.0%} of this machine's CPU during a "
            "phase (steal): figures are worse than on a quiet machine[/]"
        )
    failed = 0
    for name in ("embedded", "worker"):
        failed += figures["open_loop"][name]["non_2xx"]
        for key in ("closed_loop", "ingest_single", "ingest_batches"):
            failed += figures[key][name]["errors"]
        statuses = figures["preflight"][name]["statuses"]
        failed += sum(v for k, v in statuses.items() if k != "200")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, help="length of each phase (default 10; 5 quick)")
    parser.add_argument(
        "--events", type=int, help="events in the log a new worker starts on (default 1,000,000)"
    )
    parser.add_argument("--rate", type=float, default=1_000.0, help="open-loop requests/s")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--quick", action="store_true", help="100,000 events and 5 s phases, to try the script"
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (5 if args.quick else 10)
    args.events = args.events or (100_000 if args.quick else 1_000_000)
    args.counted = 300 if args.quick else 1_000  # decisions counted for the Redis figure
    need_wrk()
    console = Console(width=200)
    figures: dict[str, Any] = {
        "machine": env_note(),
        "arguments": {"seconds": args.seconds, "events": args.events, "rate": args.rate},
        "targets": {
            "throughput_ratio": THROUGHPUT_TARGET,
            "p99_ms": P99_TARGET_MS,
            "batch_events_per_s": BATCH_TARGET,
            "redis_commands_per_decision": ROUND_TRIP_TARGET,
        },
    }
    load_before = os.getloadavg()[0]
    run(args, console, figures)
    figures["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
    figures["derived"] = derive(figures, args.rate)
    write_json(args.json, figures)
    failed = report(console, figures, args)
    if failed:
        console.print(f"[bold red]{failed} requests failed or got a non-2xx answer[/]")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
