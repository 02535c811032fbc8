"""The decision engine alone: time per decision, called in process, without HTTP.

    .venv/bin/python benchmarks/decision_engine.py [--rounds 5] [--profile cumulative]

Builds the same shop as benchmarks/decisions.py (2,000 items, 5,000 customers, ~104,000
events, the default models trained, 4 offers) through the API of an in-process app, then
calls ``DecisionEngine.decide`` on the same 3,000 decision requests: once to warm up,
then ``--rounds`` times, timed in CPU time of the process (its background threads, such
as the decision log's writer, included; another program's load does not count). The time
per decision is the engine's share of the
decision request's cost; benchmarks/decisions.py measures the whole request path (and
its ceiling without the engine) over HTTP. ``--profile KEY`` runs one more round under
cProfile and prints the top functions sorted by KEY (tottime, cumulative). ``--shared``
runs the engine of a worker on PostgreSQL + Redis instead (a fresh schema and Redis
namespace, as ``benchmarks/scaleout.py`` makes them), each decision preceded by the look
at the shared log a worker makes before deciding; the figure then includes the time this
process spends waiting for Redis (wall clock, not CPU). Run by hand; never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec
from rich.console import Console
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import env_note
from decisions import OFFERS, Shop
from retailor.domain.decisions import DecisionRequest
from retailor.runtime.server import build_server
from retailor.settings import Settings
from scaleout import REDIS, Place

TOKEN = "bench"


async def load(app: Starlette, shop: Shop) -> None:
    """Catalog, events, trained models and offers, through the API."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://retailor", headers=headers, timeout=1_800
    ) as client:
        (await client.put("/v1/catalog/items", json={"items": shop.items})).raise_for_status()
        events = shop.events()
        for i in range(0, len(events), 5_000):
            (
                await client.post("/v1/events", json={"events": events[i : i + 5_000]})
            ).raise_for_status()
        started = await client.post("/v1/models/train")
        started.raise_for_status()
        job = started.json()
        while job["status"] not in ("succeeded", "failed"):  # a job: follow it
            await asyncio.sleep(0.5)
            job = (await client.get(started.headers["location"])).json()
        if job["status"] != "succeeded":
            raise SystemExit(f"training failed: {job['error']}")
        for offer_id, offer in OFFERS.items():
            (await client.put(f"/v1/offers/{offer_id}", json=offer)).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the requests")
    parser.add_argument("--profile", help="one more pass under cProfile, sorted by this key")
    parser.add_argument(
        "--shared", action="store_true", help="a worker on PostgreSQL + Redis, not embedded"
    )
    args = parser.parse_args()
    console = Console()
    shop = Shop()
    decode = msgspec.json.Decoder(DecisionRequest).decode
    requests = [decode(body) for body in shop.bodies()]
    data = Path(tempfile.mkdtemp(prefix="retailor-engine-"))
    place = Place(secrets.token_hex(4)) if args.shared else None
    settings = Settings(data_dir=data)
    if place is not None:
        settings = Settings(data_dir=data, storage=place.dsn, state=place.state, identity_salt="b")
    clock = time.perf_counter if args.shared else time.process_time
    app = build_server(settings, control_token=TOKEN, background=False)
    try:
        with console.status("loading the shop and training"):
            asyncio.run(load(app, shop))
        engine = app.state.ctx.decisions.engine
        feed = app.state.services.feed  # a worker's look at the shared log (None embedded)

        def decide(request: DecisionRequest) -> None:
            if feed is not None:
                feed.catch_up()
            engine.decide(request)

        for request in requests:
            decide(request)
        per_round = []
        for _ in range(args.rounds):
            started = clock()
            for request in requests:
                decide(request)
            per_round.append((clock() - started) / len(requests) * 1e6)
        per_round.sort()
        console.print(
            f"engine.decide ({env_note()}): {len(requests):,} requests x {args.rounds} rounds; "
            f"{'wall clock, worker on PostgreSQL + Redis' if args.shared else 'CPU'} "
            f"µs per decision: best {per_round[0]:.1f}, median "
            f"{per_round[len(per_round) // 2]:.1f}, worst {per_round[-1]:.1f}"
        )
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for request in requests:
                decide(request)
            profile.disable()
            pstats.Stats(profile).sort_stats(args.profile).print_stats(40)
    finally:
        app.state.shutdown()
        if place is not None:
            import redis

            place.drop(redis.Redis.from_url(REDIS))


if __name__ == "__main__":
    main()
