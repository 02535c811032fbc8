"""Rendering pages: one Jinja environment with autoescaping on for every template, the
filters pages format figures with, and :func:`render`, which gives every page what the
base template needs (the navigation, the session, the CSRF token, the asset URLs).

Data for charts goes into the page as JSON with ``{{ value | tojson }}`` inside
``<script type="application/json" id="…">``: Jinja's ``tojson`` writes ``<``, ``>``, ``&``
and ``'`` as ``\\u003c``, ``\\u003e``, ``\\u0026`` and ``\\u0027``, so no value can close
the script element or open another. :func:`chart` builds the JSON ``dashboard.js`` draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from retailor.dashboard.assets import Assets
from retailor.dashboard.registry import NAV
from retailor.dashboard.sessions import CSRF_FIELD, PREFIX


def _dumps(value: Any, **_: Any) -> str:
    """JSON for ``tojson`` (times as RFC 3339 text); Jinja escapes it for HTML after."""
    return msgspec.json.encode(value).decode()


def number(value: float | int | None, digits: int = 0) -> str:
    """``1,234`` (``-`` for none)."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def money(value: float | None) -> str:
    """``1,234.50`` (``-`` for none)."""
    return number(value, 2)


def percent(value: float | None, digits: int = 1) -> str:
    """``12.5 %`` of a fraction (``-`` for none)."""
    return "-" if value is None else f"{value * 100:.{digits}f} %"


def when(value: datetime | None, interval: str | None = None) -> str:
    """A time as a page shows it, in UTC: ``2026-03-01 14:00`` (a day: ``2026-03-01``)."""
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d" if interval == "day" else "%Y-%m-%d %H:%M")


def chart(
    kind: str,
    labels: Sequence[Any],
    series: Sequence[tuple[str, Sequence[float | int | None]]],
    *,
    unit: str = "number",
    title: str = "",
) -> dict[str, Any]:
    """The JSON a chart block holds: ``kind`` ``line`` or ``bar``, the x ``labels`` and
    the ``series`` as ``(name, values)``; ``unit`` ``number``, ``money`` or ``percent``
    formats the axis. ``dashboard.js`` draws it with the vendored ECharts (SVG)."""
    if kind not in ("line", "bar"):
        raise ValueError(f"a chart is a line or a bar chart, not {kind!r}")
    return {
        "kind": kind,
        "title": title,
        "unit": unit,
        "labels": list(labels),
        "series": [{"name": name, "values": list(values)} for name, values in series],
    }


class Renderer:
    """The Jinja environment of the dashboard's templates (``dashboard/templates``)."""

    def __init__(self, assets: Assets) -> None:
        self.assets = assets
        self.env = Environment(
            loader=PackageLoader("retailor.dashboard", "templates"),
            autoescape=True,  # every template, whatever its name
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.policies["json.dumps_function"] = _dumps
        self.env.filters.update(number=number, money=money, percent=percent, when=when)
        self.env.globals.update(asset=assets.url, csrf_field=CSRF_FIELD, prefix=PREFIX)

    def page(self, request: Request, template: str, values: dict[str, Any],
             status: int = 200) -> HTMLResponse:  # fmt: skip
        """``template`` rendered with ``values`` and what every page has."""
        path = request.url.path.rstrip("/") or "/"
        current = path if path != PREFIX + "/" else PREFIX
        nav = [
            {"label": item.label, "url": item.url,
             "current": current == item.url
             or (item.path != "" and current.startswith(item.url + "/"))}
            for item in NAV
        ]  # fmt: skip
        session = getattr(request.state, "session", None)
        csrf = getattr(request.state, "csrf", "")
        html = self.env.get_template(template).render(
            {"nav": nav, "session": session, "csrf": csrf, **values}
        )
        return HTMLResponse(html, status_code=status)


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a dashboard template for ``request``: ``values`` plus the navigation, the
    session and its CSRF token (``{{ csrf }}``; every POST form carries it in a hidden
    field named ``{{ csrf_field }}``). Give ``title``: the page's heading."""
    renderer: Renderer = request.app.state.renderer
    return renderer.page(request, template, values, status)
