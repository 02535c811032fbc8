"""Data quality, ``/dashboard/quality``: events accepted and input rejected per hour or
day of the period and the rejections by reason (``analytics.ingest_quality``, what
``GET /v1/quarantine/summary`` answers), the newest rejected payloads of each reason
(``QuarantineStore.list``, what ``GET /v1/quarantine?reason=…`` answers; to admin
sessions only, as that endpoint is), and what this server process counted since it
started (duplicates are counted nowhere durable).

Rejected payloads are hostile by nature: they are shown as text (autoescaped),
truncated to :data:`PAYLOAD_CHARS` characters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.ingest_quality import IngestQuality, ingest_quality
from retailor.dashboard.context import DashboardContext
from retailor.dashboard.periods import CHOICES, Period, read_period
from retailor.dashboard.registry import page
from retailor.dashboard.rendering import chart, render, when
from retailor.dashboard.sessions import Session
from retailor.domain.access import Scope
from retailor.domain.quarantine import Rejection

#: The reasons listed (most rejections first), and the samples shown of each.
MAX_REASONS = 20
SAMPLES_PER_REASON = 3
#: A payload is shown up to this many characters.
PAYLOAD_CHARS = 300


@dataclass(frozen=True)
class ReasonView:
    reason: str
    rejected: int
    #: the newest rejections with this reason (None: samples are not shown to this session)
    samples: list[Rejection] | None


@dataclass(frozen=True)
class QualityView:
    quality: IngestQuality
    reasons: list[ReasonView]
    this_process: dict[str, int] | None


def read_quality(ctx: DashboardContext, period: Period, samples: bool) -> QualityView:
    """The page's figures; the samples of each reason when ``samples``."""
    store = ctx.storage.quarantine
    quality = ingest_quality(ctx.storage.events, store, period.start, period.end, period.interval)
    reasons = [
        ReasonView(
            r.reason,
            r.rejected,
            store.list(limit=SAMPLES_PER_REASON, reason=r.reason) if samples else None,
        )
        for r in quality.reasons[:MAX_REASONS]
    ]
    counts = ctx.ingest_counts() if ctx.ingest_counts is not None else None
    return QualityView(quality, reasons, counts)


def truncated(text: str, limit: int = PAYLOAD_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with ``…`` when it was longer."""
    return text if len(text) <= limit else text[:limit] + "…"


def rates_chart(view: QualityView, interval: str) -> dict[str, Any]:
    rows = view.quality.rows
    return chart(
        "line",
        [when(r["period"], interval) for r in rows],
        [("accepted", [r["accepted"] for r in rows]), ("rejected", [r["rejected"] for r in rows])],
        title=f"Events accepted and rejected per {interval}",
    )


@page("/quality")
async def quality(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """The data quality page."""
    period = read_period(dict(request.query_params))
    admin = session.scope == Scope.ADMIN.value
    view = await asyncio.to_thread(read_quality, ctx, period, admin)
    totals = view.quality.totals
    seen = totals["accepted"] + totals["rejected"]
    return render(
        request,
        "quality.html",
        title="Quality",
        period=period,
        choices=CHOICES,
        view=view,
        rejected_share=totals["rejected"] / seen if seen else None,
        admin=admin,
        truncated=truncated,
        payload_chars=PAYLOAD_CHARS,
        charts={"chart-rates": rates_chart(view, period.interval)},
    )
