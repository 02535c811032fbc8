"""Where a simulation runs: against a server over HTTP, or in this process through the
same app and the same HTTP API without sockets (full speed, for research)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from retailor.client import AsyncClient
from retailor.simulator.driver import Outcome, Progress, Simulator
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
    data_dir: Path | None = None
    export: Path | None = None
    offline: bool = False


def simulate(plan: RunPlan, progress: Progress | None = None) -> dict[str, Any]:
    """Run the plan and return the report (see ``report.build_report``)."""
    world = create_world(plan.scale, plan.seed)
    started = time.perf_counter()
    if plan.offline:
        outcome, mode = _run(world, None, plan, progress), "export"
    elif plan.url:
        outcome, mode = _over_http(world, plan, progress), "http"
    else:
        outcome, mode = _in_process(world, plan, progress), "in-process"
    return build_report(world, outcome, time.perf_counter() - started, mode)


def _run(
    world: World, client: AsyncClient | None, plan: RunPlan, progress: Progress | None
) -> Outcome:
    simulator = Simulator(
        world,
        client,
        concurrency=plan.concurrency,
        retrain_days=plan.retrain_days,
        export=plan.export,
        progress=progress,
    )
    return asyncio.run(simulator.run())


def _over_http(world: World, plan: RunPlan, progress: Progress | None) -> Outcome:
    url, key = plan.url, plan.api_key
    assert url and key

    async def main() -> Outcome:
        async with AsyncClient(url, key, timeout=600, max_connections=plan.concurrency * 2) as client:  # fmt: skip
            await client.health()
            simulator = Simulator(
                world, client, concurrency=plan.concurrency, retrain_days=plan.retrain_days,
                export=plan.export, progress=progress,
            )  # fmt: skip
            return await simulator.run()

    return asyncio.run(main())


def _in_process(world: World, plan: RunPlan, progress: Progress | None) -> Outcome:
    from retailor.api.app import create_app
    from retailor.domain.access import Scope
    from retailor.privacy.keys import create_key
    from retailor.settings import load_settings

    assert plan.data_dir is not None
    settings = load_settings(
        overrides={"data_dir": plan.data_dir, "policy_seed": plan.seed, **SIMULATION_SETTINGS}
    )
    app = create_app(settings)
    try:
        _, key = create_key(app.state.ctx.storage.keys, Scope.ADMIN, "simulator")

        async def main() -> Outcome:
            transport = httpx.ASGITransport(app=app)
            async with AsyncClient("http://retailor.local", key, timeout=600, transport=transport) as client:  # fmt: skip
                simulator = Simulator(
                    world, client, concurrency=plan.concurrency, retrain_days=plan.retrain_days,
                    export=plan.export, progress=progress,
                )  # fmt: skip
                return await simulator.run()

        return asyncio.run(main())
    finally:
        app.state.shutdown()
