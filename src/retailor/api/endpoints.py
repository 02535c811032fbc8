"""One table of endpoints: it builds the routes and the OpenAPI document, so both agree.

A handler is ``async def handler(request, ctx) -> Response``; the wrapper checks the
caller's scope before calling it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailor.api.context import AppContext
from retailor.api.slashes import restore_slashes
from retailor.domain.access import Scope

Handler = Callable[[Request, AppContext], Awaitable[Response]]


@dataclass(frozen=True)
class QueryParam:
    """A documented query parameter."""

    name: str
    description: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    scope: Scope | None
    body: Any = None
    response: Any = None
    query: tuple[QueryParam, ...] = ()
    description: str = ""
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"
    yaml_body: bool = False
    #: the status of success: 200, or 202 for work that goes on after the answer
    status: int = 200
    #: the type whose fields a 422 still carries when the valid part of the request was
    #: kept (what was accepted and what was refused)
    partial: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


ENDPOINTS: list[Endpoint] = []


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    scope: Scope | None,
    body: Any = None,
    response: Any = None,
    query: tuple[QueryParam, ...] = (),
    errors: tuple[int, ...] = (),
    media_type: str = "application/json",
    yaml_body: bool = False,
    partial: Any = None,
    status: int = 200,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the operation ``method path``; its docstring describes it."""

    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(
            Endpoint(
                method=method,
                path=path,
                handler=handler,
                summary=summary,
                tag=tag,
                scope=scope,
                body=body,
                response=response,
                query=query,
                description=(handler.__doc__ or "").strip(),
                errors=errors,
                media_type=media_type,
                yaml_body=yaml_body,
                partial=partial,
                status=status,
            )
        )
        return handler

    return register


def build_routes(endpoints: list[Endpoint]) -> list[Route]:
    """Starlette routes for ``endpoints``, grouped by path."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for ep in endpoints:
        by_path.setdefault(ep.path, {})[ep.method] = ep
    routes = []
    for path, methods in by_path.items():
        routes.append(Route(path, _dispatcher(methods), methods=list(methods)))
    return routes


def _dispatcher(methods: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        ep = methods[request.method if request.method in methods else "GET"]
        ctx: AppContext = request.app.state.ctx
        restore_slashes(request.path_params)
        if ep.scope is not None:
            ctx.auth.require(request, ep.scope)
        return await ep.handler(request, ctx)

    return dispatch
