"""The dashboard in a real browser (Debian's Chromium, headless): login, sessions,
logout, the overview's figures against the API's, markup sent by shoppers staying text,
keyboard navigation, and nothing loaded from outside 127.0.0.1 (every test: see the
``page`` fixture). Each page's screenshot goes to ``build/screenshots/`` (``make screenshots``: to ``docs/screenshots/``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.browser.conftest import DashServer, Watched

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
CUSTOMERS = [f"c{i}" for i in range(8)] + [IMG]


def _check(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def shop(dash_server: DashServer) -> Iterator[dict[str, Any]]:
    """Some shopping: a catalog, a holdout, decisions for nine customers (one of them with
    markup for an id), views, clicks, an offer redeemed, orders, and events whose fields
    carry markup; then the reports are waited for until they count every decision."""
    server = dash_server.server
    with httpx.Client(base_url=server.url, headers=server.admin(), timeout=30) as api:
        items = [{"item_id": f"sku{i}", "name": f"Item {i}", "category": ["Home"],
                  "price": 10.0 + i, "cost": 4.0, "stock": 50} for i in range(8)]  # fmt: skip
        _check(api.put("/v1/catalog/items", json={"items": items}))
        home = {"sources": [{"source": "popular"}], "fallback": ["new_arrivals"], "k": 3}
        _check(api.put("/v1/placements/home", json=home))
        _check(api.put("/v1/offers/five", json={"kind": "amount_off", "value": 5}))
        _check(api.put("/v1/holdout", json={"share": 0.3}))
        decided, redeemed, orders = 0, False, []
        for n, customer in enumerate(CUSTOMERS):
            answer = _check(api.post("/v1/decisions", json={
                "placement": "home", "customer_id": customer, "offers": 1}))  # fmt: skip
            decided += 1
            decision_id = answer["decision_id"]
            assert answer["items"], answer
            first = answer["items"][0]["item_id"]
            for kind in ("viewed", "clicked"):
                _check(api.post("/v1/feedback", json={
                    "decision_id": decision_id, "type": kind, "item_id": first}))  # fmt: skip
            if answer.get("offers") and not redeemed:
                _check(api.post("/v1/feedback", json={
                    "decision_id": decision_id, "type": "redeemed",
                    "offer_id": answer["offers"][0]["offer_id"]}))  # fmt: skip
                redeemed = True
            orders.append({"event_id": f"order-{n}", "type": "order_completed",
                           "customer_id": customer,
                           "properties": {"order_id": f"o{n}", "lines": [
                               {"item_id": first, "quantity": 1 + n % 3, "price": 12.5},
                               {"item_id": "sku7", "quantity": 1, "price": 3.0}]}})  # fmt: skip
        # decisions reach the decision log behind the answers: wait until the reports
        # count them all, so that the orders after them are attributed
        deadline = time.monotonic() + 60
        while _check(api.get("/v1/reports"))["totals"].get("decisions", 0) < decided:
            assert time.monotonic() < deadline, "the reports never counted every decision"
            time.sleep(0.5)
        _check(api.post("/v1/events", json={"events": orders}))
        # and until they count every order (a report folds when its last fold is 2 s old)
        while _check(api.get("/v1/reports/activity"))["totals"].get("orders", 0) < len(orders):
            assert time.monotonic() < deadline, "the reports never counted every order"
            time.sleep(0.5)
        hostile = [
            {"event_id": "search-1", "type": "products_searched", "anonymous_id": SCRIPT,
             "properties": {"query": SCRIPT}},
            {"event_id": "view-1", "type": "product_viewed", "customer_id": IMG,
             "properties": {"item_id": IMG}},
        ]  # fmt: skip
        _check(api.post("/v1/events", json={"events": hostile}))
    return {"decisions": decided}


def test_a_wrong_key_shows_an_error_and_is_not_echoed(page: Watched) -> None:
    page.expected_statuses.add(401)
    page.goto("/dashboard/login")
    page.page.fill("#key", "rk_view_not-a-key-at-all")
    page.page.click("form button[type=submit]")
    page.page.wait_for_load_state("networkidle")
    error = page.page.locator("#login-error")
    assert "unknown or revoked" in error.inner_text()
    assert "not-a-key-at-all" not in page.page.content()
    assert page.page.url.endswith("/dashboard/login")
    page.screenshot("login-error")


def test_a_page_without_a_session_leads_to_the_login(page: Watched) -> None:
    page.goto("/dashboard?period=24h")
    assert page.page.url == page.base + "/dashboard/login?next=" + quote(
        "/dashboard?period=24h", safe=""
    )
    page.screenshot("login")
    page.page.fill("#key", "")  # the field is required: nothing is sent
    assert page.page.locator("#key").evaluate("el => el.validity.valueMissing")


def test_a_view_key_reaches_the_page_it_was_sent_from(
    page: Watched, dash_server: DashServer
) -> None:
    page.goto("/dashboard?period=30d")
    page.page.fill("#key", dash_server.view_key)
    page.page.click("form button[type=submit]")
    page.page.wait_for_load_state("networkidle")
    assert page.page.url == page.base + "/dashboard?period=30d"
    assert page.page.locator("select#period-choice").input_value() == "30d"


def test_logout_needs_the_csrf_token(logged_in: Watched) -> None:
    page = logged_in
    page.expected_statuses.add(403)
    forged = page.page.context.request.post(
        page.base + "/dashboard/logout", form={"csrf": "forged"}, max_redirects=0
    )
    assert forged.status == 403
    missing = page.page.context.request.post(page.base + "/dashboard/logout", form={},
                                             max_redirects=0)  # fmt: skip
    assert missing.status == 403
    page.goto("/dashboard")
    assert page.page.url == page.base + "/dashboard"  # still logged in
    page.page.click("form.logout button")
    page.page.wait_for_load_state("networkidle")
    assert page.page.url.startswith(page.base + "/dashboard/login")
    page.goto("/dashboard")
    assert page.page.url.startswith(page.base + "/dashboard/login?next=")


def _figures(page: Watched) -> dict[str, float | None]:
    found = page.page.eval_on_selector_all(
        "[data-figure]", "els => els.map(e => [e.dataset.figure, e.dataset.value])"
    )
    return {name: (float(value) if value != "" else None) for name, value in found}


def test_the_overview_figures_equal_the_api(
    logged_in: Watched, dash_server: DashServer, shop: dict[str, Any]
) -> None:
    page = logged_in
    page.goto("/dashboard?period=24h")
    start = page.page.get_attribute("#range-from", "datetime")
    end = page.page.get_attribute("#range-to", "datetime")
    shown = _figures(page)
    assert page.page.locator(".chart-canvas svg").count() == 4  # drawn, as SVG
    page.screenshot("overview")
    headers = {"Authorization": f"Bearer {dash_server.view_key}"}  # a view key reads reports
    span = {"from": start, "to": end}
    with httpx.Client(base_url=dash_server.url, headers=headers) as api:
        decisions = _check(api.get("/v1/reports", params=span))["totals"]
        activity = _check(api.get("/v1/reports/activity", params=span))["totals"]
        groups = _check(api.get("/v1/reports", params={**span, "by": "holdout"}))["rows"]
    assert decisions["decisions"] == shop["decisions"]
    for name in ("visitors", "orders", "revenue", "attributed_revenue", "engaged_revenue"):
        assert shown[name] == activity[name], name
    assert activity["orders"] > 0 and activity["attributed_revenue"] > 0
    assert activity["visitors"] == len(CUSTOMERS) + 1  # and the anonymous searcher
    for name in ("decisions", "redemptions", "clicks"):
        assert shown[name] == decisions[name], name
    assert shown["decision_revenue"] == decisions["attributed_revenue"]
    table = page.page.eval_on_selector_all(
        "#holdout-table tbody tr",
        "rows => rows.map(r => [r.dataset.group, Number(r.children[1].dataset.value)])",
    )
    assert {group: n for group, n in table} == {
        str(row["holdout"]): row["decisions"] for row in groups
    }
    assert sum(n for _, n in table) == shop["decisions"]


def test_markup_sent_by_shoppers_stays_text(logged_in: Watched, shop: dict[str, Any]) -> None:
    page = logged_in
    page.goto("/dashboard?period=24h")
    who = page.page.locator("#latest-events .who-cell").all_inner_texts()
    detail = page.page.locator("#latest-events .detail-cell").all_inner_texts()
    assert SCRIPT in who and IMG in who
    assert f"query: {SCRIPT}" in detail and f"item_id: {IMG}" in detail
    assert page.page.locator("#latest-events img, #latest-events script").count() == 0
    assert page.page.locator("img[src=x]").count() == 0
    # the period picker echoes what it was given: as text too
    page.goto("/dashboard?period=custom&from=" + quote(IMG) + "&to=" + quote(SCRIPT))
    assert IMG in page.page.locator("p.notice").inner_text()
    assert page.page.get_attribute("#period-from", "value") == IMG  # an attribute, whole
    assert page.page.locator("img[src=x]").count() == 0
    assert not any(url.endswith("/x") for url in page.requests)


def test_keyboard_alone_reaches_everything(logged_in: Watched) -> None:
    page = logged_in.page
    logged_in.goto("/dashboard?period=7d")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    reached = []
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.tagName + '|' + (e.id || e.className || e.textContent.trim()); })()"))  # fmt: skip
        if reached[-1].startswith("BUTTON|sort") and "TABLE|" not in reached[-1]:
            break
    assert any(r.startswith("SELECT|period-choice") for r in reached)
    assert any(r.startswith("BUTTON|sort") for r in reached)
    page.keyboard.press("Enter")  # sort the focused column
    assert page.locator("th[aria-sort]").count() == 1
    # the rest of the page, the navigation and logout included, is reachable: every
    # link, button and field is focusable (no tabindex=-1 on controls)
    unreachable = page.eval_on_selector_all(
        "a[href], button, select, input:not([type=hidden])",
        "els => els.filter(e => e.tabIndex < 0 || e.disabled).length",
    )
    assert unreachable == 0


def test_the_overview_reads_well_on_a_tablet(logged_in: Watched, shop: dict[str, Any]) -> None:
    page = logged_in
    page.page.set_viewport_size({"width": 768, "height": 1024})
    page.goto("/dashboard?period=24h")
    overflow = page.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the page scrolls sideways on a tablet"
    page.screenshot("overview-tablet")


def test_a_page_loads_at_most_2_mb(logged_in: Watched, shop: dict[str, Any]) -> None:
    page = logged_in
    sizes: list[int] = []
    page.page.on("response", lambda r: sizes.append(len(r.body())) if r.ok else None)
    page.goto("/dashboard?period=30d")
    assert 0 < sum(sizes) <= 2 * 1024 * 1024
