"""Browser tests: Playwright driving Debian's Chromium headless (``/usr/bin/chromium``;
no browser is ever downloaded). ``make test`` installs the package ``chromium`` when it
is missing (``scripts/ensure-browser.sh``); without it these tests fail under
``CI=true`` and are skipped elsewhere.

Fixtures: ``dash_server``, a real ``retailor serve`` process with a view key; ``browser``;
``page``, a fresh browser page whose every request is recorded (any request that would
leave 127.0.0.1 is refused and fails the test), whose console errors, page errors and
dialogs fail the test too; ``logged_in``, such a page after logging in with the view key.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.storage.factory import key_store
from tests.conftest import LiveServer, start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
#: Where screenshots go: ``build/screenshots`` (untracked) unless ``RETAILOR_SCREENSHOTS``
#: says otherwise; ``make screenshots`` refreshes the ones ``docs/dashboard.md`` shows.
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("RETAILOR_SCREENSHOTS") or ROOT / "build" / "screenshots")


def _require_browser() -> None:
    missing = []
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        missing.append(f"{CHROMIUM} (apt-get install chromium; make test does it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class DashServer:
    server: LiveServer
    view_key: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashServer]:
    """A server whose report facts fold decisions at once, with a view key."""
    _require_browser()
    data_dir = tmp_path_factory.mktemp("dash") / "data"
    data_dir.mkdir()
    with key_store("", data_dir) as keys:
        _, view = create_key(keys, Scope.VIEW, "browser tests")
    server = start_server(data_dir, env={"RETAILOR_REPORT_SETTLE_SECONDS": "0"})
    yield DashServer(server, view)
    stop_server(server)


@pytest.fixture(scope="module")
def browser(dash_server: DashServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A browser page and what it did: every request's URL, console errors, page errors,
    dialogs and requests refused for leaving the server."""

    page: Any
    base: str
    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    #: statuses a test expects a page to answer with (the console reports each as an error)
    expected_statuses: set[int] = field(default_factory=set)

    def console_error(self, text: str) -> None:
        for status in self.expected_statuses:
            if f"responded with a status of {status}" in text:
                return
        self.errors.append(text)

    def goto(self, path: str) -> Any:
        answer = self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        return answer

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def login(self, key: str) -> None:
        self.goto("/dashboard/login")
        self.page.fill("#key", key)
        self.page.click("form button[type=submit]")
        self.page.wait_for_load_state("networkidle")


@pytest.fixture
def page(browser: Any, dash_server: DashServer) -> Iterator[Watched]:
    """A fresh page (laptop size) watched for outside requests, errors and dialogs; the
    test fails at the end when any happened."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    watched = Watched(context.new_page(), dash_server.url)
    local = dash_server.url + "/"

    def route(route: Any) -> None:
        url = route.request.url
        watched.requests.append(url)
        if url.startswith(local) or url.startswith("data:"):
            route.continue_()
        else:
            watched.outside.append(url)
            route.abort()

    context.route("**/*", route)
    watched.page.on(
        "console", lambda m: watched.console_error(m.text) if m.type == "error" else None
    )
    watched.page.on("pageerror", lambda e: watched.errors.append(f"page error: {e}"))

    def dialog(d: Any) -> None:
        watched.dialogs.append(d.message)
        d.dismiss()

    watched.page.on("dialog", dialog)
    yield watched
    context.close()
    assert watched.outside == [], "requests left 127.0.0.1"
    assert watched.errors == [], "the console showed errors"
    assert watched.dialogs == [], "a dialog opened"


@pytest.fixture
def logged_in(page: Watched, dash_server: DashServer) -> Watched:
    """The page after logging in with the view key (on the overview)."""
    page.login(dash_server.view_key)
    assert page.page.url.rstrip("/") == dash_server.url + "/dashboard"
    return page
