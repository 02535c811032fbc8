"""Running a simulation against a server: over HTTP, or through an ASGI transport to an
app in this process (the same HTTP API without sockets, at full speed, for research;
``retailor simulate`` builds that app)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from retailor.client import AsyncClient
from retailor.simulator.driver import Progress, Simulator
from retailor.simulator.outcome import Outcome
from retailor.simulator.report import build_report
from retailor.simulator.world import Scale, World, create_world

#: Settings a server needs for a simulation that packs a day into seconds: choices
#: without a redemption teach the bandit a zero after a few seconds (not an hour), and
#: models are retrained when the simulation says so (each simulated week), not hourly.
SIMULATION_SETTINGS: dict[str, Any] = {"reward_window_seconds": 3.0, "retrain_minutes": 0.0}
#: The demo's server keeps running afterwards, so it keeps its hourly retraining.
DEMO_SERVER_SETTINGS: dict[str, Any] = {"reward_window_seconds": 3.0}


@dataclass
class RunPlan:
    scale: Scale
    seed: int = 7
    concurrency: int = 8
    retrain_days: int = 7
    url: str | None = None
    api_key: str | None = None
    export: Path | None = None
    offline: bool = False
    #: the day the run ends (midnight UTC); default today
    end: datetime | None = None


def simulate(
    plan: RunPlan,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """Run the plan and return the report (see ``report.build_report``): without
    Retailor when ``plan.offline``, else through ``transport`` (an app in this process)
    or over HTTP to ``plan.url``, with ``plan.api_key``."""
    world = create_world(plan.scale, plan.seed, plan.end)
    started = time.perf_counter()

    async def main() -> Outcome:
        if plan.offline:
            return await _simulator(world, None, plan, progress).run()
        if not plan.api_key or not (plan.url or transport):
            raise ValueError("a simulation needs a server (url or transport) and an admin key")
        async with AsyncClient(
            plan.url or "http://retailor.local",
            plan.api_key,
            timeout=600,
            transport=transport,
            max_connections=plan.concurrency * 2,
        ) as client:
            await client.health()
            return await _simulator(world, client, plan, progress).run()

    outcome = asyncio.run(main())
    mode = "export" if plan.offline else "in-process" if transport else "http"
    return build_report(world, outcome, time.perf_counter() - started, mode)


def _simulator(
    world: World, client: AsyncClient | None, plan: RunPlan, progress: Progress | None
) -> Simulator:
    return Simulator(
        world,
        client,
        concurrency=plan.concurrency,
        retrain_days=plan.retrain_days,
        export=plan.export,
        progress=progress,
    )
