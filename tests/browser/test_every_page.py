"""Every dashboard page after a short simulation against the live server: each one opens
with a view key, answers 200, draws its charts as SVG, loads nothing from outside
127.0.0.1, logs no console error and fires no dialog (the ``page`` fixture checks those),
and the overview's decision figures equal the API's for the range it shows. Each page's
screenshot is saved as ``sim-<page>``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from retailor.dashboard.registry import NAV
from tests.browser.conftest import DashServer, Watched


@pytest.fixture(scope="module")
def simulated(dash_server: DashServer) -> Iterator[dict[str, Any]]:
    """A tiny closed-loop simulation run against the dashboard's server, over HTTP."""
    result = subprocess.run(
        [sys.executable, "-m", "retailor", "simulate", "--scale", "tiny", "--url",
         dash_server.url, "--key", dash_server.server.admin_key, "--json", "--concurrency", "4"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "RETAILOR_NO_PROGRESS": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    yield json.loads(result.stdout)


def _pages(dash_server: DashServer) -> list[str]:
    """Every page of the navigation, and a detail page of each kind that has one."""
    paths = [item.url for item in NAV]
    if "/dashboard/experiments" in paths:
        paths.append("/dashboard/experiments/sim-recommendations")
    if "/dashboard/customers" in paths:  # the simulation's first registered shopper
        headers = {"Authorization": f"Bearer {dash_server.server.admin_key}"}
        with httpx.Client(base_url=dash_server.url, headers=headers) as api:
            customer = next(
                f"C{n:06d}" for n in range(1, 500)
                if api.get(f"/v1/customers/C{n:06d}").status_code == 200
            )  # fmt: skip
        paths.append(f"/dashboard/customers/{customer}")
    return paths


def test_every_page_after_a_simulation(
    logged_in: Watched, dash_server: DashServer, simulated: dict[str, Any]
) -> None:
    page = logged_in
    assert simulated["error_count"] == 0, simulated["errors"]
    opened = []
    for path in _pages(dash_server):
        answer = page.goto(path + ("?period=30d" if path == "/dashboard" else ""))
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        assert page.page.locator("main h1").count() >= 1, path
        charts = page.page.locator(".chart-canvas")
        assert page.page.locator(".chart-canvas svg").count() == charts.count(), path
        name = path.removeprefix("/dashboard").strip("/").replace("/", "-") or "overview"
        page.screenshot(f"sim-{name}")
        opened.append(path)
    assert len(opened) >= len(NAV)
    # the overview's decision figures are the API's for the range the page shows
    page.goto("/dashboard?period=30d")
    span = {
        "from": page.page.get_attribute("#range-from", "datetime"),
        "to": page.page.get_attribute("#range-to", "datetime"),
    }
    shown = dict(
        page.page.eval_on_selector_all(
            "[data-figure]", "els => els.map(e => [e.dataset.figure, e.dataset.value])"
        )
    )
    headers = {"Authorization": f"Bearer {dash_server.view_key}"}
    with httpx.Client(base_url=dash_server.url, headers=headers) as api:
        totals = api.get("/v1/reports", params=span).json()["totals"]
    assert totals["decisions"] > 0
    for name in ("decisions", "clicks", "redemptions"):
        assert float(shown[name]) == totals[name], name
