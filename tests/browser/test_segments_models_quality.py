"""The segments, models and quality pages in a real browser (Debian's Chromium,
headless): their figures against the API's (``GET /v1/segments``,
``/v1/segments/{id}/sizes``, ``/v1/models``, ``/v1/quarantine/summary``,
``/v1/quarantine?reason=…``), the segment CSV equal to ``retailor segments export``'s,
hostile quarantined payloads shown as text with no dialog, the payloads kept from view
sessions, keyboard reach, the page weight, and a screenshot of each page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.storage.factory import key_store
from tests.browser.conftest import DashServer, Watched, _require_browser
from tests.conftest import start_server, stop_server
from tests.e2e.test_recommendations import history, retailor
from tests.e2e.test_training_jobs import ended

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SEGMENTS = {
    "buyers": {"trait": "order_count", "op": "gte", "value": 1},
    "loyal": {"trait": "order_count", "op": "gte", "value": 6},
    "marked": {"any": [{"trait": "attributes.city", "op": "eq", "value": IMG},
                       {"trait": "attributes.city", "op": "eq", "value": SCRIPT}]},
}  # fmt: skip


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashServer]:
    """This module's server: report facts folded at once, segment sizes looked at every
    second, and a view key."""
    _require_browser()
    data_dir = tmp_path_factory.mktemp("dash-rest") / "data"
    data_dir.mkdir()
    with key_store("", data_dir) as keys:
        _, view = create_key(keys, Scope.VIEW, "browser tests")
    env = {"RETAILOR_REPORT_SETTLE_SECONDS": "0", "RETAILOR_SEGMENT_SIZE_SECONDS": "1"}
    server = start_server(data_dir, env=env)
    yield DashServer(server, view)
    stop_server(server)


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


def _until(check: Any, what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.25)
    return value


@pytest.fixture(scope="module")
def scenario(dash_server: DashServer) -> dict[str, Any]:
    """A history of thirty customers (two of them with markup in their city), three
    segments, two training runs of two models, a duplicate and hostile bad events; then
    every segment's size is waited for until the newest sample equals its size now."""
    server = dash_server.server
    with httpx.Client(base_url=server.url, headers=server.admin(), timeout=60) as api:
        items, events = history(datetime.now(UTC))
        _ok(api.put("/v1/catalog/items", json={"items": items}))
        events += [
            {"event_id": "id-img", "type": "identify", "customer_id": "c1",
             "properties": {"traits": {"city": IMG, "email": SCRIPT}}},
            {"event_id": "id-script", "type": "identify", "customer_id": "c2",
             "properties": {"traits": {"city": SCRIPT}}},
        ]  # fmt: skip
        for start in range(0, len(events), 500):
            _ok(api.post("/v1/events", json={"events": events[start : start + 500]}))
        for segment_id, definition in SEGMENTS.items():
            _ok(api.put(f"/v1/segments/{segment_id}", json=definition))
        for _ in range(2):  # two versions of each
            started = api.post("/v1/models/train", params={"models": "popularity,item_item"})
            assert started.status_code == 202, started.text
            job = ended(server, started.headers["location"])
            assert job["status"] == "succeeded", job
        _ok(api.post("/v1/events", json={"events": events[:3]}))  # duplicates
        fresh = [{"event_id": f"after-{n}", "type": "product_viewed", "customer_id": "c3",
                  "properties": {"item_id": "sku1"}} for n in range(2)]  # fmt: skip
        _ok(api.post("/v1/events", json={"events": fresh}))  # after training
        hostile = [
            {"event_id": "bad-1", "type": SCRIPT, "customer_id": "c1"},
            {"event_id": "bad-2", "type": "product_viewed", "customer_id": IMG,
             "timestamp": IMG, "properties": {"item_id": SCRIPT}},
            {"event_id": IMG, "type": "product_viewed"},
        ]  # fmt: skip
        answer = api.post("/v1/events", json={"events": hostile})
        assert answer.status_code == 422 and len(answer.json()["rejected"]) == 3, answer.text

        def sized() -> bool:
            for segment_id in SEGMENTS:
                now = _ok(api.get(f"/v1/segments/{segment_id}"))
                samples = _ok(api.get(f"/v1/segments/{segment_id}/sizes"))["samples"]
                if not samples or samples[-1]["size"] != now["size"]:
                    return False
            return True

        _until(sized, "a size sample of every segment equal to its size now")
    return {"events": len(events) + len(fresh), "since_training": len(fresh)}


def _view(server: DashServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.view_key}"}


def _range(page: Watched) -> dict[str, str]:
    return {
        "from": page.page.get_attribute("#range-from", "datetime"),
        "to": page.page.get_attribute("#range-to", "datetime"),
    }


def test_the_segments_page_equals_the_api_and_exports_the_cli_csv(
    logged_in: Watched, dash_server: DashServer, scenario: dict[str, Any], tmp_path: Path
) -> None:
    page = logged_in
    page.goto("/dashboard/segments?period=24h")
    api = httpx.Client(base_url=dash_server.url, headers=_view(dash_server), timeout=30)
    listed = {s["segment_id"]: s for s in _ok(api.get("/v1/segments"))["segments"]}
    assert set(listed) == set(SEGMENTS)
    shown = page.page.eval_on_selector_all(
        "#segments tbody tr",
        "rows => rows.map(r => [r.dataset.segment, r.querySelector('.size-now').dataset.value])",
    )
    assert {sid: int(size) for sid, size in shown} == {s: listed[s]["size"] for s in listed}
    assert listed["buyers"]["size"] == 30 and listed["marked"]["size"] == 2
    # the charts draw the samples of the period, as the API gives them
    bounds = _range(page)
    for n, segment_id in enumerate(sorted(SEGMENTS)):
        sizes = _ok(api.get(f"/v1/segments/{segment_id}/sizes", params=bounds))["samples"]
        assert sizes, segment_id
        data = page.page.evaluate(
            f"JSON.parse(document.getElementById('chart-size-{n}').textContent)"
        )
        assert data["series"][0]["values"] == [s["size"] for s in sizes]
    assert page.page.locator(".chart-canvas svg").count() == len(SEGMENTS)
    # a definition carrying markup is text
    definitions = page.page.locator(".definition-cell").all_inner_texts()
    assert any("<img src=x onerror=alert(1)>" in d for d in definitions)
    assert page.page.locator("img[src=x], main script:not([type])").count() == 0
    page.screenshot("segments")
    # the CSV link streams what `retailor segments export` writes
    href = page.page.get_attribute('tr[data-segment="buyers"] a.csv-link', "href")
    assert href == "/dashboard/segments/buyers/members.csv"
    written = tmp_path / "buyers.csv"

    def same_csv() -> Any:
        """The dashboard's CSV when the CLI's export, read next, is the same bytes (the
        RFM quintiles a row carries are refreshed a few seconds after new events, so two
        reads may straddle a refresh: read both again until they agree)."""
        csv = page.page.request.get(dash_server.url + href)
        assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
        exported = retailor("segments", "export", "buyers", "--data", dash_server.server.data_dir,
                            "--output", written)  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        return csv if csv.body() == written.read_bytes() else None

    csv = _until(same_csv, "the dashboard's CSV equal to the CLI's export")
    assert csv.text().count("\r\n") == 31 and SCRIPT in csv.text()
    missing = page.page.request.get(dash_server.url + "/dashboard/segments/nope/members.csv")
    assert missing.status == 404
    page.expected_statuses.add(404)


def test_the_models_page_equals_the_api(
    logged_in: Watched, dash_server: DashServer, scenario: dict[str, Any]
) -> None:
    page = logged_in
    page.goto("/dashboard/models")
    answer = _ok(httpx.get(dash_server.url + "/v1/models", headers=_view(dash_server)))
    models = {m["name"]: m for m in answer["models"]}
    assert {"popularity", "item_item"} <= set(models)
    rows = page.page.eval_on_selector_all(
        "#models tbody tr",
        "rows => rows.map(r => [r.dataset.model, r.querySelector('.active-version').dataset.value,"
        " r.querySelector('.events-since').dataset.value])",
    )
    assert {name: (int(v), int(e)) for name, v, e in rows} == {
        name: (m["active_version"], m["events_since"]) for name, m in models.items()
    }
    assert models["popularity"]["events_since"] == scenario["since_training"]
    for name, model in models.items():
        section = page.page.locator(f'section.model[data-model="{name}"]')
        versions = section.locator("table.versions tbody tr")
        assert versions.count() == len(model["versions"]) >= 2
        active = section.locator('tr[aria-current="true"]')
        assert active.get_attribute("data-version") == str(model["active_version"])
        for version in model["versions"]:
            row = section.locator(f'tr[data-version="{version["version"]}"]')
            for metric, value in version["holdout"].items():
                cell = row.locator(f'td[data-metric="{metric}"]')
                assert float(cell.get_attribute("data-value")) == pytest.approx(value)
    assert any(v["holdout"] for v in models["popularity"]["versions"])
    assert page.page.locator(".chart-canvas svg").count() >= 2  # a chart per scored model
    page.screenshot("models")


def test_the_quality_page_equals_the_api_and_shows_payloads_as_text(
    page: Watched, dash_server: DashServer, scenario: dict[str, Any]
) -> None:
    server = dash_server.server
    page.login(server.admin_key)
    page.goto("/dashboard/quality?period=24h")
    bounds = _range(page)
    admin = httpx.Client(base_url=server.url, headers=server.admin(), timeout=30)
    summary = _ok(admin.get("/v1/quarantine/summary", params={**bounds, "interval": "hour"}))
    figures = dict(page.page.eval_on_selector_all(
        "[data-figure]", "els => els.map(e => [e.dataset.figure, e.dataset.value])"))  # fmt: skip
    assert int(figures["accepted"]) == summary["totals"]["accepted"] == scenario["events"]
    assert int(figures["rejected"]) == summary["totals"]["rejected"] >= 3
    assert int(figures["duplicates"]) == summary["this_process"]["duplicate"] == 3
    chart = page.page.evaluate("JSON.parse(document.getElementById('chart-rates').textContent)")
    assert chart["series"][0]["values"] == [r["accepted"] for r in summary["rows"]]
    assert chart["series"][1]["values"] == [r["rejected"] for r in summary["rows"]]
    reasons = page.page.eval_on_selector_all(
        "#reasons tbody tr",
        "rows => rows.map(r => [r.querySelector('.reason-cell').textContent,"
        " r.querySelector('.reason-count').dataset.value])",
    )
    assert [(r, int(n)) for r, n in reasons] == [
        (r["reason"], r["rejected"]) for r in summary["reasons"]
    ]
    # the samples are what GET /v1/quarantine answers for each reason
    shown = page.page.eval_on_selector_all(
        "table.samples tbody tr", "rows => rows.map(r => r.dataset.quarantine)"
    )
    expected = []
    for r in summary["reasons"]:
        listed = _ok(admin.get("/v1/quarantine", params={"reason": r["reason"], "limit": 3}))
        assert listed["total"] == r["rejected"]
        expected += [q["quarantine_id"] for q in listed["items"]]
    assert shown == expected
    # hostile payloads are text: whole, visible, never elements, no dialog (the fixture)
    payloads = "\n".join(page.page.locator(".payload-cell").all_inner_texts())
    assert SCRIPT in payloads and "<img src=x onerror=alert(1)>" in payloads
    assert page.page.locator("main img, main script:not([type])").count() == 0
    assert page.page.locator("img[src=x]").count() == 0
    page.screenshot("quality")


def test_a_view_session_sees_the_reasons_but_no_payload(
    logged_in: Watched, scenario: dict[str, Any]
) -> None:
    page = logged_in
    page.goto("/dashboard/quality?period=24h")
    assert page.page.locator("#reasons tbody tr").count() >= 1
    assert page.page.locator("table.samples, .payload-cell").count() == 0
    assert "admin keys only" in page.page.locator("main").inner_text()


@pytest.mark.parametrize("path", ["/dashboard/segments", "/dashboard/models", "/dashboard/quality"])
def test_each_page_is_light_and_keyboard_reachable(
    logged_in: Watched, scenario: dict[str, Any], path: str
) -> None:
    page = logged_in
    sizes: list[int] = []
    page.page.on("response", lambda r: sizes.append(len(r.body())) if r.ok else None)
    page.goto(path)
    assert 0 < sum(sizes) <= 2 * 1024 * 1024
    assert page.page.locator("button.sort").count() > 0
    unreachable = page.page.eval_on_selector_all(
        "a[href], button, select, input:not([type=hidden])",
        "els => els.filter(e => e.tabIndex < 0 || e.disabled).length",
    )
    assert unreachable == 0
    page.page.locator("button.sort").first.focus()
    page.page.keyboard.press("Enter")
    assert page.page.locator("th[aria-sort]").count() == 1
    nav = page.page.locator("nav a[aria-current]")
    assert nav.count() == 1 and nav.get_attribute("href") == path
