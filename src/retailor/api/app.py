"""The ASGI application over parts built elsewhere: ``build_app(ctx, shutdown)``.

The routes, the middleware and the exception handlers. Nothing here opens storage or
builds a service: the server role (``retailor.runtime.server``) builds them and hands
them over in an ``AppContext``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from retailor.api import routes  # noqa: F401 - registers the endpoints
from retailor.api.context import AppContext
from retailor.api.cors import AllowedOrigins, CorsMiddleware
from retailor.api.endpoints import ENDPOINTS, browser_paths, build_routes
from retailor.api.limits import UrlLimitsMiddleware
from retailor.api.metrics import RequestMetricsMiddleware
from retailor.api.openapi import build_openapi
from retailor.api.problems import (
    ProblemError,
    handle_http,
    handle_problem,
    handle_unavailable,
    handle_unexpected,
)
from retailor.api.request_bodies import RequestBodyMiddleware
from retailor.api.slashes import EncodedSlashMiddleware
from retailor.storage.errors import StorageUnavailableError


def build_app(
    ctx: AppContext, shutdown: Callable[[], None], mounts: Sequence[BaseRoute] = ()
) -> Starlette:
    """The Retailor HTTP app answering from ``ctx``. ``shutdown`` runs when the app's
    lifespan ends; it is also ``app.state.shutdown`` for servers that run no lifespan.
    ``mounts`` are routes added after the API's own (the server role mounts the dashboard)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            shutdown()

    settings = ctx.settings
    app = Starlette(
        routes=[*build_routes(ENDPOINTS), *mounts],
        middleware=[
            Middleware(UrlLimitsMiddleware),
            Middleware(EncodedSlashMiddleware),
            Middleware(
                RequestBodyMiddleware,
                timeout_seconds=settings.body_timeout_seconds,
                stall_seconds=settings.body_stall_timeout_seconds,
            ),
            Middleware(RequestMetricsMiddleware, metrics=ctx.metrics),
            Middleware(
                CorsMiddleware,
                paths=browser_paths(ENDPOINTS),
                origins=AllowedOrigins(ctx.storage.keys),
            ),
        ],
        exception_handlers={
            ProblemError: handle_problem,
            HTTPException: handle_http,
            StorageUnavailableError: handle_unavailable,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.shutdown = shutdown
    app.state.openapi = msgspec.json.encode(build_openapi(ENDPOINTS))
    return app
