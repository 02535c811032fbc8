"""The customer pages in a real browser: the lookup (by email, by a visitor id, an unknown
identifier), the recently active list, one customer's 360 against the API's answers
(traits, segments, consent, the preview of each placement, the timeline), markup sent by
shoppers in traits, event properties, search queries and ids staying text, and keyboard
reach. Screenshots: ``docs/screenshots/customers.png`` and ``customer.png``."""

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
ADA = "ada-360"
STRANGER = "stranger-" + IMG  # a customer whose id carries markup


def _check(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


def _path(identifier: str) -> str:
    return quote(identifier, safe="")


@pytest.fixture(scope="module")
def people(dash_server: DashServer) -> Iterator[dict[str, Any]]:
    """A catalog (one name with markup), a segment of buyers, and a customer who browsed
    as a visitor with a markup id, logged in with traits carrying markup, searched for
    markup, consented, ordered twice and was decided for; another customer whose id is
    markup. Then the reports are waited for until they count the decisions."""
    server = dash_server.server
    with httpx.Client(base_url=server.url, headers=server.admin(), timeout=30) as api:
        items = [{"item_id": f"p{i}", "name": f"Lamp {i}", "category": ["Home", "Lights"],
                  "brand": "Lumo", "price": 20.0 + i, "cost": 8.0, "stock": 40}
                 for i in range(10)]  # fmt: skip
        items[3]["name"] = SCRIPT
        _check(api.put("/v1/catalog/items", json={"items": items}))
        _check(api.put("/v1/offers/ten", json={"kind": "amount_off", "value": 10, "name": IMG}))
        _check(api.put("/v1/segments/buyers", json={
            "all": [{"trait": "order_count", "op": "gte", "value": 1}]}))  # fmt: skip
        events = [
            {"event_id": "b1", "type": "product_viewed", "anonymous_id": IMG,
             "properties": {"item_id": "p3", "note": SCRIPT, "campaign": IMG}},
            {"event_id": "b2", "type": "identify", "customer_id": ADA, "anonymous_id": IMG,
             "properties": {"traits": {"email": "Ada@Example.com", "name": SCRIPT,
                                       "nickname": IMG, "tags": [SCRIPT]}}},
            {"event_id": "b3", "type": "products_searched", "customer_id": ADA,
             "properties": {"query": SCRIPT}},
            {"event_id": "b4", "type": "consent_updated", "customer_id": ADA,
             "properties": {"purposes": {"personalization": True, "marketing_email": False}}},
            {"event_id": "b5", "type": "product_viewed", "customer_id": ADA,
             "properties": {"item_id": "p1", IMG: SCRIPT}},
            {"event_id": "b6", "type": "order_completed", "customer_id": ADA, "properties": {
                "order_id": "A-1", "lines": [{"item_id": "p1", "quantity": 2, "price": 21.0}]}},
            {"event_id": "b7", "type": "order_completed", "customer_id": ADA, "properties": {
                "order_id": "A-2", "lines": [{"item_id": "p3", "quantity": 1, "price": 23.5}]}},
            {"event_id": "s1", "type": "product_viewed", "customer_id": STRANGER,
             "properties": {"item_id": "p5"}},
        ]  # fmt: skip
        _check(api.post("/v1/events", json={"events": events}))
        decided = [_check(api.post("/v1/decisions", json={"placement": p, "customer_id": ADA}))
                   for p in ("home", "cart")]  # fmt: skip
        deadline = time.monotonic() + 60
        while len(_check(api.get(f"/v1/customers/{ADA}/decisions"))["decisions"]) < 2:
            assert time.monotonic() < deadline, "the report facts never showed the decisions"
            time.sleep(0.5)
    return {"decisions": [d["decision_id"] for d in decided],
            "names": {i["item_id"]: i["name"] for i in items}}  # fmt: skip


def _api(dash_server: DashServer) -> httpx.Client:
    headers = {"Authorization": f"Bearer {dash_server.view_key}"}  # a view key reads customers
    return httpx.Client(base_url=dash_server.url, headers=headers, timeout=30)


def test_lookup_by_email_leads_to_the_customer(logged_in: Watched, people: dict[str, Any]) -> None:
    page = logged_in
    page.goto("/dashboard/customers")
    assert page.page.locator("nav a[aria-current=page]").inner_text() == "Customers"
    recent = page.page.locator("#recent-customers tbody th a").all_inner_texts()
    assert ADA in recent and STRANGER in recent
    assert page.page.locator("#recent-customers img").count() == 0
    page.screenshot("customers")
    page.page.fill("#lookup-id", "email:ada@example.COM")
    page.page.click(".lookup-form button[type=submit]")
    page.page.wait_for_load_state("networkidle")
    assert page.page.url == page.base + f"/dashboard/customers/{ADA}"
    assert page.page.locator("#customer-id").inner_text() == ADA
    # a visitor id of the cluster leads to the same customer (a 303 to the canonical page)
    page.goto("/dashboard/customers?id=" + quote(IMG))
    assert page.page.url == page.base + f"/dashboard/customers/{ADA}"


def test_an_unknown_identifier_says_so_as_text(logged_in: Watched, people: dict[str, Any]) -> None:
    page = logged_in
    page.goto("/dashboard/customers")
    page.page.fill("#lookup-id", "email:" + IMG)
    with page.page.expect_navigation():
        page.page.keyboard.press("Enter")
    page.page.wait_for_load_state("networkidle")
    assert page.page.url.startswith(page.base + "/dashboard/customers?id=")
    message = page.page.locator("#lookup-message").inner_text()
    assert "No customer is known by" in message and f"email:{IMG}" in message
    assert page.page.get_attribute("#lookup-id", "value") == f"email:{IMG}"
    assert page.page.locator("img[src=x]").count() == 0
    page.screenshot("customers-unknown")
    page.expected_statuses.add(404)
    page.goto("/dashboard/customers/nobody-at-all")
    assert page.page.locator("h1").inner_text() == "Not found"


def _shown_items(page: Watched) -> dict[str, list[str]]:
    return dict(
        page.page.eval_on_selector_all(
            "article.preview",
            "els => els.map(e => [e.dataset.placement,"
            " [...e.querySelectorAll('li[data-item]')].map(li => li.dataset.item)])",
        )
    )


def test_the_customer_360_equals_the_api(
    logged_in: Watched, dash_server: DashServer, people: dict[str, Any]
) -> None:
    page = logged_in
    page.goto(f"/dashboard/customers/{ADA}")
    figures = dict(page.page.eval_on_selector_all(
        "[data-figure]", "els => els.map(e => [e.dataset.figure, e.dataset.value])"))  # fmt: skip
    segments = page.page.eval_on_selector_all(
        "#segments li", "els => els.map(e => e.dataset.segment)"
    )
    previews = _shown_items(page)
    names = page.page.locator("article.preview[data-placement=home] .item-name").all_inner_texts()
    timeline = page.page.eval_on_selector_all(
        "#timeline tbody tr", "rows => rows.map(r => [r.dataset.kind, r.children[4].innerText])"
    )
    consent = page.page.eval_on_selector_all(
        "#consent tbody tr",
        "rows => rows.map(r => [r.dataset.purpose, r.children[1].innerText, r.children[2].innerText])",
    )
    page.screenshot("customer")
    with _api(dash_server) as api:
        profile = _check(api.get(f"/v1/customers/{ADA}"))
        preview = _check(api.get(f"/v1/customers/{ADA}/preview"))["previews"]
        events = _check(api.get(f"/v1/customers/{ADA}/events"))["events"]
        decisions = _check(api.get(f"/v1/customers/{ADA}/decisions"))["decisions"]
    traits = profile["traits"]
    assert traits["order_count"] == 2 and traits["revenue"] == 65.5
    assert float(figures["order_count"]) == traits["order_count"]
    assert float(figures["revenue"]) == traits["revenue"]
    assert float(figures["average_order_value"]) == traits["average_order_value"]
    assert float(figures["event_count"]) == traits["event_count"]
    assert figures["rfm_score"] == traits["rfm"]["score"]
    assert segments == profile["segments"] == ["buyers"]
    assert {p: (g, w) for p, g, w in consent} == {
        p: ("yes" if g else "no", profile["consent_at"][p]) for p, g in profile["consent"].items()
    }
    assert previews == {p["placement"]: [i["item_id"] for i in p["items"]] for p in preview}
    home = next(p for p in preview if p["placement"] == "home")
    assert home["eligible_offers"] == ["ten"]
    assert home["items"] and names == [people["names"][i["item_id"]] for i in home["items"]]
    shown_events = [i for kind, i in timeline if kind == "event"]
    shown_decisions = [i for kind, i in timeline if kind == "decision"]
    assert sorted(shown_events) == sorted(e["event_id"] for e in events)
    assert sorted(shown_decisions) == sorted(d["decision_id"] for d in decisions)
    assert sorted(shown_decisions) == sorted(people["decisions"])
    # reading the page decided nothing
    with _api(dash_server) as api:
        again = _check(api.get(f"/v1/customers/{ADA}/decisions"))["decisions"]
    assert len(again) == len(people["decisions"])


def test_markup_sent_by_shoppers_stays_text(logged_in: Watched, people: dict[str, Any]) -> None:
    page = logged_in
    page.goto(f"/dashboard/customers/{ADA}")
    attributes = dict(page.page.eval_on_selector_all(
        "#attributes tbody tr", "rows => rows.map(r => [r.children[0].innerText, r.children[1].innerText])"))  # fmt: skip
    assert attributes["name"] == SCRIPT and attributes["nickname"] == IMG
    assert SCRIPT in attributes["tags"]
    identifiers = page.page.locator("#identifiers td").all_inner_texts()
    assert IMG in identifiers  # the visitor id, as text
    # identifiers as the API shows them: the email only as its salted hash
    assert not any("example.com" in i.lower() for i in identifiers)
    details = " ".join(page.page.locator("#timeline .detail-cell").all_inner_texts())
    assert SCRIPT in details and IMG in details  # a query, custom properties and their names
    offers = page.page.locator("article.preview[data-placement=home] .offer-names").inner_text()
    assert offers == IMG  # an offer's name, as text
    assert page.page.locator("main img, main script").count() == 0
    assert page.page.locator("img[src=x]").count() == 0
    # a customer whose id is markup (with a slash in it) has a page too
    page.goto(f"/dashboard/customers/{_path(STRANGER)}")
    assert page.page.locator("#customer-id").inner_text() == STRANGER
    assert page.page.locator("main img, main script").count() == 0
    assert not any(url.endswith("/x") for url in page.requests)


def test_keyboard_alone_looks_up_and_reaches_the_360(
    logged_in: Watched, people: dict[str, Any]
) -> None:
    page = logged_in.page
    logged_in.goto("/dashboard/customers")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link
    reached = []
    for _ in range(20):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if reached[-1] == "lookup-id":
            break
    assert reached[-1] == "lookup-id"
    page.keyboard.type("email:ada@example.com")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/dashboard/customers/{ADA}")
    unreachable = page.eval_on_selector_all(
        "a[href], button, select, input:not([type=hidden])",
        "els => els.filter(e => e.tabIndex < 0 || e.disabled).length",
    )
    assert unreachable == 0
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#timeline') !== null"):
            break
    assert page.evaluate("document.activeElement.closest('#timeline') !== null")


def test_the_customer_page_reads_well_on_a_tablet(
    logged_in: Watched, people: dict[str, Any]
) -> None:
    page = logged_in
    page.page.set_viewport_size({"width": 768, "height": 1024})
    for path in ("/dashboard/customers", f"/dashboard/customers/{ADA}"):
        page.goto(path)
        overflow = page.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways on a tablet"
