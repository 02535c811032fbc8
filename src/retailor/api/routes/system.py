"""Health, metrics and the OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from retailor import __version__
from retailor.api.context import AppContext
from retailor.api.endpoints import endpoint
from retailor.api.http import json_response
from retailor.api.schemas import MAX_BATCH_ITEMS, Health, Limits


@endpoint(
    "GET",
    "/healthz",
    summary="Liveness and request limits",
    tag="system",
    scope=None,
    response=Health,
)
async def healthz(request: Request, ctx: AppContext) -> Response:
    """Answers 200 while the server runs, with the limits of one request: its body's bytes
    (``max_body_bytes``), events in a batch (``max_batch_events``), and catalog items or
    quarantine records in a batch (``max_batch_items``). Bulk clients size their batches
    by them. ``background`` says whether this process runs the background jobs (it holds
    the background lease)."""
    limits = Limits(
        max_body_bytes=ctx.settings.max_body_bytes,
        max_batch_events=ctx.settings.max_batch_events,
        max_batch_items=MAX_BATCH_ITEMS,
    )
    return json_response(
        Health(status="ok", version=__version__, limits=limits, background=ctx.background())
    )


@endpoint(
    "GET",
    "/metrics",
    summary="Prometheus metrics",
    tag="system",
    scope=None,
    media_type="text/plain",
)
async def metrics(request: Request, ctx: AppContext) -> Response:
    """Metrics in the Prometheus text format."""
    return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4")


@endpoint("GET", "/openapi.json", summary="This API's OpenAPI document", tag="system", scope=None)
async def openapi(request: Request, ctx: AppContext) -> Response:
    """The OpenAPI 3.1 document of every endpoint."""
    return Response(request.app.state.openapi, media_type="application/json")
