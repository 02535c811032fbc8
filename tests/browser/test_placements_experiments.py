"""The placements and experiments pages in a real browser (Debian's Chromium, headless):
their figures against the API's for the same range, the offers' budgets against
``GET /v1/offers``, the share chart against the reports by interval and offer, the
experiment list against ``GET /v1/experiments``, an experiment's results against
``GET /v1/experiments/{id}/results``, the SRM warning on a skewed experiment, a verdict in
words, markup in names and descriptions staying text, and a 404 for an unknown id.
Screenshots go to ``docs/screenshots/`` (placements, experiments, experiment)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from retailor.experiments.assignment import assign, held_out
from tests.browser.conftest import DashServer, Watched

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOLDOUT_SHARE = 0.1
#: the skewed experiment's units: this many in its first variant, this many in its second
SKEW = (30, 3)


def _check(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


def _units(experiment_id: str, split: list[tuple[str, float]], wanted: dict[str, int],
           prefix: str) -> list[str]:  # fmt: skip
    """Customer ids that the experiment assigns as ``wanted`` says (so many per variant),
    none of them in the global holdout."""
    found: dict[str, list[str]] = {v: [] for v in wanted}
    n = 0
    while any(len(found[v]) < wanted[v] for v in wanted):
        unit = f"{prefix}{n}"
        n += 1
        if held_out(HOLDOUT_SHARE, 1, unit):
            continue
        variant = assign(experiment_id, 1, split, unit)
        if len(found[variant]) < wanted[variant]:
            found[variant].append(unit)
    return [u for v in wanted for u in found[v]]


@pytest.fixture(scope="module")
def scenario(dash_server: DashServer) -> Iterator[dict[str, Any]]:
    """Items; placements with campaign labels (home offers one of two offers); offers with
    a budget and a redemption limit (one named with markup); a holdout; the experiment
    ``personal`` on home (markup in its name and description) and ``skewed`` on cart,
    whose units are picked to break its split; decisions, views, clicks, redemptions and
    orders; then the reports are waited for until they count every decision."""
    server = dash_server.server
    with httpx.Client(base_url=server.url, headers=server.admin(), timeout=30) as api:
        items = [{"item_id": f"sku{i}", "name": f"Item {i}", "category": ["Home"],
                  "price": 10.0 + i, "cost": 4.0, "stock": 500} for i in range(8)]  # fmt: skip
        _check(api.put("/v1/catalog/items", json={"items": items}))
        _check(api.put("/v1/placements/home", json={
            "sources": [{"source": "popular"}], "fallback": ["new_arrivals"], "k": 3,
            "offers": 1, "campaign": "spring"}))  # fmt: skip
        _check(api.put("/v1/placements/cart", json={
            "sources": [{"source": "popular"}], "fallback": ["new_arrivals"], "k": 2,
            "campaign": "basket-fill"}))  # fmt: skip
        _check(api.put("/v1/offers/five", json={
            "kind": "amount_off", "value": 5, "name": SCRIPT, "budget": 50,
            "max_redemptions": 20, "campaign": "fivers"}))  # fmt: skip
        _check(api.put("/v1/offers/ship", json={
            "kind": "free_shipping", "cost": 2, "name": "Free shipping"}))  # fmt: skip
        _check(api.put("/v1/holdout", json={"share": HOLDOUT_SHARE}))
        personal_split = [("plain", 0.5), ("personal", 0.5)]
        _check(api.put("/v1/experiments/personal", json={
            "name": IMG, "description": SCRIPT, "placements": ["home"], "control": "plain",
            "variants": [{"id": v, "weight": w} for v, w in personal_split]}))  # fmt: skip
        skewed_split = [("a", 0.5), ("b", 0.5)]
        _check(api.put("/v1/experiments/skewed", json={
            "name": "Basket filler", "placements": ["cart"], "control": "a",
            "variants": [{"id": v, "weight": w} for v, w in skewed_split]}))  # fmt: skip

        decided, redeemed, orders = 0, 0, []
        people = _units("personal", personal_split, {"plain": 14, "personal": 14}, "p")
        for n, customer in enumerate(people):
            answer = _check(api.post("/v1/decisions", json={
                "placement": "home", "customer_id": customer}))  # fmt: skip
            decided += 1
            first = answer["items"][0]["item_id"]
            marks = ("viewed", "clicked") if n % 3 else ("viewed",)
            for kind in marks:
                _check(api.post("/v1/feedback", json={
                    "decision_id": answer["decision_id"], "type": kind, "item_id": first}))  # fmt: skip
            if answer["offers"] and answer["offers"][0]["offer_id"] == "five" and redeemed < 3:
                _check(api.post("/v1/feedback", json={
                    "decision_id": answer["decision_id"], "type": "redeemed",
                    "offer_id": "five"}))  # fmt: skip
                redeemed += 1
            if n % 2 == 0 or n % 5 == 0:
                orders.append({"event_id": f"order-{n}", "type": "order_completed",
                               "customer_id": customer,
                               "properties": {"order_id": f"o{n}", "lines": [
                                   {"item_id": first, "quantity": 1 + n % 4, "price": 12.5}]}})  # fmt: skip
        for customer in _units("skewed", skewed_split, dict(zip("ab", SKEW, strict=True)), "s"):
            _check(api.post("/v1/decisions", json={"placement": "cart", "customer_id": customer}))
            decided += 1
        deadline = time.monotonic() + 60
        while _check(api.get("/v1/reports"))["totals"].get("decisions", 0) < decided:
            assert time.monotonic() < deadline, "the reports never counted every decision"
            time.sleep(0.5)
        _check(api.post("/v1/events", json={"events": orders}))
        deadline = time.monotonic() + 60
        while _check(api.get("/v1/reports"))["totals"].get("orders", 0) == 0:
            assert time.monotonic() < deadline, "the reports never counted an order"
            time.sleep(0.5)
    yield {"decisions": decided, "redeemed": redeemed}


def _view(dash_server: DashServer) -> httpx.Client:
    headers = {"Authorization": f"Bearer {dash_server.view_key}"}
    return httpx.Client(base_url=dash_server.url, headers=headers, timeout=30)


def _admin(dash_server: DashServer) -> httpx.Client:
    return httpx.Client(base_url=dash_server.url, headers=dash_server.server.admin(), timeout=30)


def _table(page: Watched, table: str) -> dict[str, dict[str, float | None]]:
    """A table's rows by ``data-key``: each cell's ``data-metric`` and ``data-value``."""
    found = page.page.eval_on_selector_all(
        f"#{table} tbody tr[data-key]",
        """rows => rows.map(r => [r.dataset.key, Array.from(r.querySelectorAll('[data-metric]'))
             .map(c => [c.dataset.metric, c.dataset.value])])""",
    )
    return {key: {m: (float(v) if v != "" else None) for m, v in cells} for key, cells in found}


def _json(page: Watched, block: str) -> Any:
    return page.page.evaluate(f"JSON.parse(document.getElementById('{block}').textContent)")


def test_the_placements_page_equals_the_api(
    logged_in: Watched, dash_server: DashServer, scenario: dict[str, Any]
) -> None:
    page = logged_in
    page.goto("/dashboard/placements?period=24h")
    start = page.page.get_attribute("#range-from", "datetime")
    end = page.page.get_attribute("#range-to", "datetime")
    assert page.page.locator(".chart-canvas svg").count() == 5  # every chart drawn, as SVG
    span = {"from": start, "to": end}
    with _view(dash_server) as api:
        reports = {by: _check(api.get("/v1/reports", params={**span, "by": by}))
                   for by in ("placement", "offer", "campaign")}  # fmt: skip
        hourly = _check(api.get("/v1/reports", params={**span, "interval": "hour"}))
        hourly_offer = _check(api.get("/v1/reports", params={
            **span, "interval": "hour", "by": "offer"}))  # fmt: skip
    assert reports["placement"]["totals"]["decisions"] == scenario["decisions"]
    shown = {n: float(v) for n, v in page.page.eval_on_selector_all(
        "[data-figure]", "els => els.map(e => [e.dataset.figure, e.dataset.value])")}  # fmt: skip
    assert shown["decisions"] == scenario["decisions"]
    assert shown["attributed_revenue"] == reports["placement"]["totals"]["attributed_revenue"] > 0
    assert shown["redemptions"] == scenario["redeemed"] > 0
    metrics = ["decisions", "impressions", "clicks", "ctr", "orders", "attributed_revenue",
               "revenue_per_decision"]  # fmt: skip
    for by, table in (("placement", "placement-table"), ("offer", "offer-table"),
                      ("campaign", "campaign-table")):  # fmt: skip
        rows = _table(page, table)
        api_rows = {("" if r[by] is None else r[by]): r for r in reports[by]["rows"]}
        assert set(rows) == set(api_rows), by
        for key, row in api_rows.items():
            for metric in metrics + (["redemptions", "budget_spent"] if by == "offer" else []):
                assert rows[key][metric] == row[metric], (by, key, metric)
            conversion = round(row["orders"] / row["decisions"], 6)
            assert rows[key]["conversion"] == conversion, (by, key)
    assert {"spring", "basket-fill", "fivers"} <= set(_table(page, "campaign-table"))
    assert {"home", "cart"} == set(_table(page, "placement-table"))
    assert "" in _table(page, "offer-table")  # the cart's decisions chose no offer

    # the offers' budgets against GET /v1/offers (an admin read)
    with _admin(dash_server) as admin:
        offers = {o["offer"]["offer_id"]: o for o in _check(admin.get("/v1/offers"))["offers"]}
    budgets = _table(page, "budget-table")
    assert set(budgets) == set(offers)
    for offer_id, got in offers.items():
        assert budgets[offer_id]["spent"] == got["spent"]
        assert budgets[offer_id]["redeemed"] == got["redemptions"]
        assert budgets[offer_id]["budget"] == got["offer"].get("budget")
        assert budgets[offer_id]["max_redemptions"] == got["offer"].get("max_redemptions")
    five = budgets["five"]
    assert five["redeemed"] == scenario["redeemed"] and five["spent"] == 5 * scenario["redeemed"]
    assert five["budget_used"] == pytest.approx(five["spent"] / 50)
    assert five["redemptions_used"] == pytest.approx(scenario["redeemed"] / 20)
    assert budgets["ship"]["budget_used"] is None  # no budget, no share

    # the policy's share of each offer per hour, against the reports by interval and offer
    share = _json(page, "chart-offer-share")
    assert share["stacked"] is True

    def label(period: str) -> str:  # as the chart names an hour
        return period[:16].replace("T", " ")

    totals = {label(r["period"]): r["decisions"] for r in hourly["rows"]}
    without = {label(r["period"]): r["decisions"] for r in hourly_offer["rows"]
               if r["offer"] is None}  # fmt: skip
    assert len(share["labels"]) in (24, 25)  # every hour of the range, with data or not
    assert set(totals) <= set(share["labels"])
    for series in share["series"]:
        expected = []
        for p in share["labels"]:
            chose = sum(r["decisions"] for r in hourly_offer["rows"]
                        if label(r["period"]) == p and r["offer"] == series["name"])  # fmt: skip
            base = totals.get(p, 0) - without.get(p, 0)
            expected.append(round(chose / base, 6) if base else None)
        assert series["values"] == expected, series["name"]
        assert any(v for v in series["values"]), series["name"]
    assert {s["name"] for s in share["series"]} <= {"five", "ship"}
    assert share["series"], "no offer share drawn"
    page.screenshot("placements")


def test_offer_names_with_markup_stay_text(logged_in: Watched, scenario: dict[str, Any]) -> None:
    page = logged_in
    page.goto("/dashboard/placements?period=24h")
    names = page.page.locator("#budget-table .name-cell").all_inner_texts()
    assert SCRIPT in names
    assert page.page.locator("main script:not([type='application/json'])").count() == 0


def test_the_experiment_list_shows_every_definition(
    logged_in: Watched, dash_server: DashServer, scenario: dict[str, Any]
) -> None:
    page = logged_in
    page.goto("/dashboard/experiments")
    with _admin(dash_server) as admin:
        defined = _check(admin.get("/v1/experiments"))["experiments"]
    listed = page.page.eval_on_selector_all(
        "#experiment-table tbody tr[data-key]",
        """rows => rows.map(r => [r.dataset.key, r.querySelector('a').getAttribute('href'),
             Array.from(r.querySelectorAll('[data-variant]')).map(v => v.textContent.trim())])""",
    )
    assert [key for key, _, _ in listed] == [e["experiment_id"] for e in defined]
    for (key, href, variants), e in zip(listed, defined, strict=True):
        assert href == f"/dashboard/experiments/{key}"
        assert variants == [
            f"{v['id']}: {v['weight'] * 100:.1f} %"
            + (" (control)" if v["id"] == e["control"] else "")
            for v in e["variants"]
        ]
    names = page.page.locator("#experiment-table .name-cell").all_inner_texts()
    assert any(IMG in n and SCRIPT in n for n in names)  # name and description, as text
    assert page.page.locator("img[src=x]").count() == 0
    assert "10.0 %" in page.page.locator("#holdout").inner_text()
    assert page.page.locator("#holdout a").get_attribute("href") == "/dashboard/experiments/holdout"
    page.screenshot("experiments")


def _results(dash_server: DashServer, experiment_id: str, to: str) -> Any:
    with _view(dash_server) as api:
        return _check(api.get(f"/v1/experiments/{experiment_id}/results", params={"to": to}))


def test_an_experiment_page_equals_the_results(
    logged_in: Watched, dash_server: DashServer, scenario: dict[str, Any]
) -> None:
    page = logged_in
    page.goto("/dashboard/experiments/personal")
    to = page.page.get_attribute("#window-to", "datetime")
    results = _results(dash_server, "personal", to)
    assert page.page.locator("#srm-warning").count() == 0
    assert results["srm_p_value"] >= 0.001
    variants = _table(page, "variant-table")
    for v in results["variants"]:
        assert variants[v["id"]]["units"] == v["units"] > 0
        for metric, summary in v["metrics"].items():
            assert variants[v["id"]][metric] == summary["mean"], (v["id"], metric)
    cells = page.page.eval_on_selector_all(
        "#comparison-table tbody tr[data-metric]",
        """rows => rows.map(r => [r.dataset.variant, r.dataset.metric, Object.fromEntries(
             Array.from(r.querySelectorAll('[data-field]')).map(c => [c.dataset.field,
               [c.dataset.value, c.dataset.low, c.dataset.high]]))])""",
    )
    shown = {(v, m): f for v, m, f in cells}
    assert len(shown) == len(results["comparisons"]) == 5
    for c in results["comparisons"]:
        got = shown[(c["variant"], c["metric"])]
        assert float(got["relative"][0]) == c["relative"]["effect"]
        assert [float(x) for x in got["ci95"][1:]] == c["relative"]["ci95"]
        assert [float(x) for x in got["sequential"][1:]] == c["sequential"]["ci95"]
        assert float(got["holm"][0]) == c["relative"]["p_value_holm"]
        assert float(got["chance_to_win"][0]) == c["chance_to_win"]
    # the verdict in words, one per comparison, with its interval
    verdicts = page.page.locator(".verdicts li").all_inner_texts()
    assert len(verdicts) == 5
    revenue = next(c for c in results["comparisons"] if c["metric"] == "revenue")
    said = page.page.locator(".verdicts li[data-metric=revenue]").inner_text()
    assert said.startswith("personal ")
    if not revenue["warnings"]:
        more = "more revenue" if revenue["relative"]["effect"] > 0 else "less revenue"
        size = abs(revenue["relative"]["effect"]) * 100
        assert f"{size:.1f} % {more} per person than plain" in said
        assert "(95 %: " in said and ("keep running" in said or "difference is shown" in said)
    status = page.page.locator("[data-figure=status] dd").inner_text()
    assert status in ("keep running", "a difference is shown")
    # the intervals are drawn: one SVG chart with a point per comparison
    assert page.page.locator(".interval-canvas svg").count() == 1
    assert page.page.locator(".interval-canvas svg circle, .interval-canvas svg path").count() > 5
    # the name and description with markup are text
    assert page.page.locator("#experiment-name").inner_text() == IMG
    assert page.page.locator("#experiment-description").inner_text() == SCRIPT
    assert page.page.locator("img[src=x]").count() == 0
    page.screenshot("experiment")


def test_a_skewed_experiment_shows_the_srm_warning(
    logged_in: Watched, dash_server: DashServer, scenario: dict[str, Any]
) -> None:
    page = logged_in
    page.goto("/dashboard/experiments/skewed")
    to = page.page.get_attribute("#window-to", "datetime")
    results = _results(dash_server, "skewed", to)
    assert [v["units"] for v in results["variants"]] == list(SKEW)
    assert results["srm_p_value"] < 0.001
    warning = page.page.locator("#srm-warning")
    assert warning.is_visible()
    assert "Sample ratio mismatch" in warning.inner_text()
    assert (
        float(page.page.get_attribute("[data-figure=srm_p_value]", "data-value"))
        == (results["srm_p_value"])
    )


def test_the_holdout_page_reads_the_holdout(
    logged_in: Watched, dash_server: DashServer, scenario: dict[str, Any]
) -> None:
    page = logged_in
    page.goto("/dashboard/experiments/holdout")
    to = page.page.get_attribute("#window-to", "datetime")
    results = _results(dash_server, "holdout", to)
    variants = _table(page, "variant-table")
    assert {k: v["units"] for k, v in variants.items()} == {
        v["id"]: v["units"] for v in results["variants"]
    }
    assert page.page.locator("h1").inner_text() == "The global holdout"


def test_an_unknown_experiment_is_a_404(logged_in: Watched, scenario: dict[str, Any]) -> None:
    page = logged_in
    page.expected_statuses.add(404)
    answer = page.goto("/dashboard/experiments/no-such-thing")
    assert answer.status == 404
    assert "There is no such page." in page.page.locator("main").inner_text()
    answer = page.goto("/dashboard/experiments/" + "%3Cb%3Ex%3C%2Fb%3E")
    assert answer.status == 404
    assert page.page.locator("main b").count() == 0


@pytest.mark.parametrize(
    "path",
    ["/dashboard/placements?period=7d", "/dashboard/experiments",
     "/dashboard/experiments/personal"],
)  # fmt: skip
def test_each_page_is_light_keyboard_reachable_and_fits_a_tablet(
    logged_in: Watched, scenario: dict[str, Any], path: str
) -> None:
    page = logged_in
    sizes: list[int] = []
    page.page.on("response", lambda r: sizes.append(len(r.body())) if r.ok else None)
    page.page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(path)
    assert 0 < sum(sizes) <= 2 * 1024 * 1024
    overflow = page.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the page scrolls sideways on a tablet"
    unreachable = page.page.eval_on_selector_all(
        "a[href], button, select, input:not([type=hidden])",
        "els => els.filter(e => e.tabIndex < 0 || e.disabled).length",
    )
    assert unreachable == 0
    # a sort button works from the keyboard
    page.page.locator("button.sort").first.focus()
    page.page.keyboard.press("Enter")
    assert page.page.locator("th[aria-sort]").count() == 1
