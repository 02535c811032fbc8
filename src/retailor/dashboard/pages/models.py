"""Models, ``/dashboard/models``: every model with its versions (the active one marked),
the holdout metrics recorded when each was trained, drawn across versions (a line per
metric), and the active version's freshness: when it was trained, how long ago, and the
events received since. All from ``models.summaries.summarize``, what ``GET /v1/models``
answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from retailor.dashboard.context import DashboardContext
from retailor.dashboard.registry import page
from retailor.dashboard.rendering import chart, render
from retailor.dashboard.sessions import Session
from retailor.models.summaries import ModelSummary, summarize


def metric_names(summary: ModelSummary) -> list[str]:
    """The holdout metrics any version of the model recorded, sorted."""
    return sorted({name for v in summary.versions for name in v.holdout})


def metrics_chart(summary: ModelSummary) -> dict[str, Any]:
    """The holdout metrics across the model's versions, a line per metric (a gap where a
    version did not record it)."""
    return chart(
        "line",
        [f"v{v.version}" for v in summary.versions],
        [(name, [v.holdout.get(name) for v in summary.versions]) for name in metric_names(summary)],
        title=f"Holdout metrics of {summary.name} by version",
    )


def age(seconds: float | None) -> str:
    """``3 d 4 h``, ``5 h 12 min``, ``40 min`` (``-`` for none)."""
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


@page("/models")
async def models(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """The models page."""
    now = datetime.now(UTC)
    summaries = await asyncio.to_thread(summarize, ctx.storage.models, ctx.storage.events, now)
    return render(
        request,
        "models.html",
        title="Models",
        as_of=now,
        models=summaries,
        metric_names=metric_names,
        age=age,
        charts={
            f"chart-model-{n}": metrics_chart(s) for n, s in enumerate(summaries) if metric_names(s)
        },
    )
