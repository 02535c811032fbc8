"""Health, metrics and the OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from retailor import __version__
from retailor.api.context import AppContext
from retailor.api.endpoints import endpoint
from retailor.api.http import json_response
from retailor.api.schemas import Health

_HEALTH = json_response(Health(status="ok", version=__version__)).body


@endpoint("GET", "/healthz", summary="Liveness", tag="system", scope=None, response=Health)
async def healthz(request: Request, ctx: AppContext) -> Response:
    """Answers 200 while the server runs."""
    return Response(_HEALTH, media_type="application/json")


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
