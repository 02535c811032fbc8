"""Where pages register and the navigation lists them.

A page is an async function ``(request, ctx, session) -> Response`` registered with
:func:`page`; the app (``dashboard.app``) serves every registered page behind a login and
:data:`NAV` lists, in order, the pages the navigation bar shows. To add a page, see
``docs/dashboard.md`` ("Adding a page"):

>>> [item.url for item in NAV][:1]
['/dashboard']
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from retailor.dashboard.context import DashboardContext
from retailor.dashboard.sessions import PREFIX, Session

PageHandler = Callable[[Request, DashboardContext, Session], Awaitable[Response]]


@dataclass(frozen=True)
class NavItem:
    """An entry of the navigation: its label and the page's path under ``/dashboard``
    (``""`` for the overview itself)."""

    label: str
    path: str

    @property
    def url(self) -> str:
        return PREFIX + self.path


#: The navigation bar, in order: one entry per top-level page. Add yours here.
NAV: list[NavItem] = [
    NavItem("Overview", ""),
    NavItem("Placements", "/placements"),
    NavItem("Experiments", "/experiments"),
    NavItem("Customers", "/customers"),
    NavItem("Segments", "/segments"),
    NavItem("Models", "/models"),
    NavItem("Quality", "/quality"),
]


@dataclass(frozen=True)
class Page:
    """A registered page: its path under ``/dashboard`` (``""`` is the overview; Starlette
    path parameters such as ``/experiments/{experiment_id}`` allowed) and its handler."""

    path: str
    handler: PageHandler


#: Every registered page (the modules of ``dashboard.pages`` fill it when imported).
PAGES: list[Page] = []


def page(path: str) -> Callable[[PageHandler], PageHandler]:
    """Register a page served at ``/dashboard`` + ``path`` to logged-in people only (GET).

    The handler gets the request, the :class:`DashboardContext` and the verified
    :class:`Session`, and returns a response, usually ``render(request, "x.html", ...)``
    (``dashboard.rendering``)."""
    if path and not path.startswith("/"):
        raise ValueError(f"a page path starts with '/' (or is '' for the overview): {path!r}")

    def register(handler: PageHandler) -> PageHandler:
        if any(p.path == path for p in PAGES):
            raise ValueError(f"two pages at {PREFIX}{path}")
        PAGES.append(Page(path, handler))
        return handler

    return register
