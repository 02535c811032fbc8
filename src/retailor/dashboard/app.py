"""The dashboard's ASGI app and the routes the server mounts it with.

``dashboard_routes(ctx)`` gives the server role what to add to the HTTP app: the
dashboard mounted at ``/dashboard`` (and ``/dashboard`` itself, the overview). Every
registered page (``dashboard.registry.page``) is served behind a session: without a valid
one, a 303 to the login page with ``next`` set to the page asked for.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from retailor.dashboard import pages  # noqa: F401 - registers the pages
from retailor.dashboard.access import DashboardKeys
from retailor.dashboard.assets import Assets
from retailor.dashboard.context import DashboardContext
from retailor.dashboard.login import login_form, login_submit, logout
from retailor.dashboard.registry import PAGES, Page
from retailor.dashboard.rendering import Renderer, render
from retailor.dashboard.security import LoginLimiter, SecurityHeadersMiddleware
from retailor.dashboard.sessions import PREFIX, SESSION_COOKIE, SessionSigner
from retailor.storage.errors import StorageUnavailableError


def _serve_page(page: Page) -> Route:
    """The route of a page: the session checked, then the handler."""

    async def endpoint(request: Request) -> Response:
        state = request.app.state
        signer: SessionSigner = state.signer
        session = signer.verify(request.cookies.get(SESSION_COOKIE))
        if session is None or not await state.keys.still_good(session.key_id, session.scope):
            path = PREFIX if request.url.path == PREFIX + "/" else request.url.path
            wanted = path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(
                f"{PREFIX}/login?{urlencode({'next': wanted})}", status_code=303
            )
            if session is not None:  # a revoked key: forget its cookie
                response.delete_cookie(
                    SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict"
                )
            return response
        request.state.session = session
        request.state.csrf = signer.csrf_token(session.session_id)
        return await page.handler(request, state.ctx, session)

    return Route(page.path or "/", endpoint, methods=["GET"], name=page.handler.__name__)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "There is no such page.", 405: "This page does not take that method."}
    return render(
        request, "error.html", status=exc.status_code, title="Not found" if exc.status_code == 404
        else "Refused", message=messages.get(exc.status_code, exc.detail),
    )  # fmt: skip


async def _unavailable(request: Request, exc: Exception) -> Response:
    response = render(
        request, "error.html", status=503, title="Unavailable",
        message="A database this page reads is unreachable just now; try again shortly.",
    )  # fmt: skip
    response.headers["Retry-After"] = "5"
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    import logging

    logging.getLogger("retailor.dashboard").exception("dashboard page failed: %s", request.url.path)
    return render(
        request, "error.html", status=500, title="Error",
        message="This page failed; the server's log says why.",
    )  # fmt: skip


def build_dashboard(ctx: DashboardContext) -> Starlette:
    """The dashboard app over ``ctx`` (its routes relative to ``/dashboard``)."""
    assets = Assets()
    routes: list[BaseRoute] = [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/static/{digest}/{path:path}", assets.serve, methods=["GET"]),
        *(_serve_page(p) for p in PAGES),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeadersMiddleware)],
        exception_handlers={
            HTTPException: _http_error,
            StorageUnavailableError: _unavailable,
            Exception: _unexpected,
        },
    )
    app.state.ctx = ctx
    app.state.signer = SessionSigner(ctx.session_secret)
    app.state.keys = DashboardKeys(ctx.storage.keys)
    app.state.limiter = LoginLimiter()
    app.state.renderer = Renderer(assets)
    app.state.assets = assets
    return app


class _Overview:
    """``/dashboard`` itself, answered by the mounted app as its ``/``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, "path": PREFIX + "/", "root_path": PREFIX}, receive, send)


def dashboard_routes(ctx: DashboardContext) -> list[BaseRoute]:
    """What the server adds to its HTTP app: ``/dashboard`` and everything under it."""
    app = build_dashboard(ctx)
    return [
        Route(PREFIX, _Overview(app), methods=["GET", "HEAD"]),
        Mount(PREFIX, app=app),
    ]
