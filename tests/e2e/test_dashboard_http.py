"""The dashboard over plain HTTP (no browser): security headers on every response, the
session cookie's attributes, CSRF refusals, safe redirects after login, the limit on
failed logins, revoked keys, hashed static files, and the view scope on the API."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from retailor.dashboard.security import CONTENT_SECURITY_POLICY
from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.runtime.server import build_server
from retailor.settings import Settings
from retailor.storage.factory import Storage, open_storage


class Dash:
    def __init__(self, client: TestClient, storage: Storage, admin: str, view: str) -> None:
        self.client, self.storage, self.admin, self.view = client, storage, admin, view

    def login_form(self) -> str:
        form = self.client.get("/dashboard/login")
        assert form.status_code == 200
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert found
        return found.group(1)

    def login(self, key: str, next_url: str = "/dashboard") -> object:
        token = self.login_form()
        return self.client.post(
            "/dashboard/login", data={"key": key, "csrf": token, "next": next_url},
            follow_redirects=False,
        )  # fmt: skip


@pytest.fixture
def dash(tmp_path: Path) -> Iterator[Dash]:
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    storage = open_storage(settings.storage_dsn, settings.data_dir)
    _, admin = create_key(storage.keys, Scope.ADMIN)
    _, view = create_key(storage.keys, Scope.VIEW)
    app = build_server(settings, storage)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield Dash(client, storage, admin, view)
    storage.close()


def _secure_headers(answer: object) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_every_dashboard_response_carries_the_security_headers(dash: Dash) -> None:
    redirect = dash.client.get("/dashboard", follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/dashboard/login?next=%2Fdashboard"
    login = dash.client.get("/dashboard/login")
    missing = dash.client.get("/dashboard/no-such-page")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    for answer in (redirect, login, missing):
        _secure_headers(answer)
        assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in login.text and " style=" not in login.text  # nothing inline


def test_a_session_cookie_is_httponly_strict_and_scoped(dash: Dash) -> None:
    done = dash.login(dash.view, "/dashboard?period=24h")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == "/dashboard?period=24h"  # type: ignore[attr-defined]
    cookie = done.headers["set-cookie"]  # type: ignore[attr-defined]
    assert cookie.startswith("retailor_session=v1.")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    assert dash.view not in cookie
    page = dash.client.get("/dashboard")
    assert page.status_code == 200 and 'data-figure="visitors"' in page.text
    _secure_headers(page)


def test_over_https_the_cookie_is_secure(dash: Dash) -> None:
    secure = TestClient(dash.client.app, base_url="https://127.0.0.1")
    form = secure.get("/dashboard/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    done = secure.post("/dashboard/login", data={"key": dash.admin, "csrf": token.group(1)},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and "Secure" in done.headers["set-cookie"]


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/dashboardx", "/v1/reports",
               "/dashboard\\@evil", "javascript:alert(1)"],
)  # fmt: skip
def test_after_login_only_dashboard_paths_are_followed(dash: Dash, target: str) -> None:
    done = dash.login(dash.view, target)
    assert done.headers["location"] == "/dashboard"  # type: ignore[attr-defined]


def test_forms_without_their_csrf_token_are_refused(dash: Dash) -> None:
    # the login form: no token, or a token of another form
    refused = dash.client.post("/dashboard/login", data={"key": dash.view},
                               follow_redirects=False)  # fmt: skip
    assert refused.status_code == 403 and "retailor_session" not in refused.headers.get(
        "set-cookie", ""
    )
    assert dash.login(dash.view).status_code == 303  # type: ignore[attr-defined]
    for form in ({}, {"csrf": "forged"}):
        logout = dash.client.post("/dashboard/logout", data=form, follow_redirects=False)
        assert logout.status_code == 403
        _secure_headers(logout)
    page = dash.client.get("/dashboard")
    assert page.status_code == 200  # still logged in
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    out = dash.client.post("/dashboard/logout", data={"csrf": token.group(1)},
                           follow_redirects=False)  # fmt: skip
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/login"
    assert dash.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_wrong_keys_are_refused_and_then_limited(dash: Dash) -> None:
    _, ingest = create_key(dash.storage.keys, Scope.INGEST)
    refused = dash.login(ingest)
    assert refused.status_code == 401  # type: ignore[attr-defined]
    assert "cannot open the dashboard" in refused.text  # type: ignore[attr-defined]
    assert ingest not in refused.text  # type: ignore[attr-defined]
    for _ in range(4):
        assert dash.login("rk_view_wrong").status_code == 401  # type: ignore[attr-defined]
    limited = dash.login(dash.view)  # even a good key waits now
    assert limited.status_code == 429  # type: ignore[attr-defined]
    assert int(limited.headers["retry-after"]) > 0  # type: ignore[attr-defined]


def test_a_forged_or_revoked_session_leads_to_the_login(dash: Dash) -> None:
    assert dash.login(dash.view).status_code == 303  # type: ignore[attr-defined]
    cookie = dash.client.cookies["retailor_session"]
    forged = cookie.replace(".view.", ".admin.")
    dash.client.cookies.set("retailor_session", forged, path="/dashboard")
    assert dash.client.get("/dashboard", follow_redirects=False).status_code == 303
    dash.client.cookies.set("retailor_session", cookie, path="/dashboard")
    assert dash.client.get("/dashboard").status_code == 200
    key_id = cookie.split(".")[1]
    assert dash.storage.keys.revoke(key_id)
    time.sleep(2.1)  # the dashboard reads the good keys again at most every 2 s
    assert dash.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_static_files_have_hashed_urls_and_long_caching(dash: Dash) -> None:
    assert dash.login(dash.admin).status_code == 303  # type: ignore[attr-defined]
    page = dash.client.get("/dashboard").text
    urls = re.findall(r'(?:href|src)="(/dashboard/static/[0-9a-f]{16}/[^"]+)"', page)
    assert any(u.endswith("vendor/echarts.min.js") for u in urls)
    assert any(u.endswith("dashboard.js") for u in urls)
    for url in urls:
        answer = dash.client.get(url)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        _secure_headers(answer)
    stale = re.sub(r"/static/[0-9a-f]{16}/", "/static/0000000000000000/", urls[0])
    assert dash.client.get(stale).status_code == 404
    assert dash.client.get("/dashboard/static/x/../../keys.json").status_code == 404


def test_a_view_key_reads_reports_and_writes_nothing(dash: Dash) -> None:
    view = {"Authorization": f"Bearer {dash.view}"}
    for path in ("/v1/reports", "/v1/reports/activity", "/v1/reports/arrivals"):
        assert dash.client.get(path, headers=view).status_code == 200, path
    writes = [
        ("POST", "/v1/events", {"event_id": "e1", "type": "page_viewed", "customer_id": "c"}),
        ("PUT", "/v1/placements/home", {"sources": [{"source": "popular"}]}),
        ("POST", "/v1/decisions", {"placement": "home", "customer_id": "c1"}),
        ("PUT", "/v1/holdout", {"share": 0.1}),
    ]
    for method, path, body in writes:
        answer = dash.client.request(method, path, json=body, headers=view)
        assert answer.status_code == 403, (method, path)
        assert "scope 'view'" in answer.json()["detail"]


def test_keys_create_makes_view_keys(tmp_path: Path) -> None:
    from tests.e2e.test_cli_import import retailor

    data = tmp_path / "data"
    created = retailor("keys", "create", "--data", data, "--scope", "view", "--name", "boss")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("rk_view_")
    listed = retailor("keys", "list", "--data", data, "--json").stdout
    assert '"scope": "view"' in listed or '"scope":"view"' in listed
