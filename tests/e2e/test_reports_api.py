"""Reports over the API in process: campaign labels round-trip, a decision, a view and a
click, an order by the same customer, then the report as JSON and CSV, and bad
parameters as 400 problems."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.runtime.server import build_server
from retailor.settings import Settings
from retailor.storage.factory import open_storage
from tests.conftest import AppHarness


@pytest.fixture
def reporting(tmp_path: Path) -> Iterator[AppHarness]:
    """The app over a DuckDB store whose report facts fold decisions at once."""
    settings = Settings(data_dir=tmp_path / "data", report_settle_seconds=0)
    settings.data_dir.mkdir()
    storage = open_storage(settings.storage_dsn, settings.data_dir)
    _, admin = create_key(storage.keys, Scope.ADMIN)
    _, ingest = create_key(storage.keys, Scope.INGEST)
    with TestClient(build_server(settings, storage), raise_server_exceptions=False) as client:
        yield AppHarness(client, storage, admin, ingest, settings)
    storage.close()


def _setup(app: AppHarness) -> dict[str, Any]:
    h = app.admin()
    items = [{"item_id": f"sku{i}", "name": f"T{i}", "category": ["Home"], "price": 10.0 + i,
              "cost": 4.0, "stock": 10} for i in range(6)]  # fmt: skip
    assert app.client.put("/v1/catalog/items", json={"items": items}, headers=h).status_code == 200
    home = {"sources": [{"source": "popular"}], "fallback": ["new_arrivals"], "k": 3,
            "campaign": "spring-24", "attribution": {"clicked_hours": 48, "shown_hours": 2}}  # fmt: skip
    assert app.client.put("/v1/placements/home", json=home, headers=h).status_code == 200
    offer = {"kind": "amount_off", "value": 5, "campaign": "welcome"}
    assert app.client.put("/v1/offers/five", json=offer, headers=h).status_code == 200
    got = app.client.post("/v1/decisions", json={"placement": "home", "customer_id": "c1",
                                                 "offers": 1}, headers=h)  # fmt: skip
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


def test_campaign_labels_round_trip_and_are_checked(reporting: AppHarness) -> None:
    app, h = reporting, reporting.admin()
    _setup(app)
    placement = app.client.get("/v1/placements/home", headers=h).json()["placement"]
    assert placement["campaign"] == "spring-24"
    assert placement["attribution"] == {"clicked_hours": 48.0, "shown_hours": 2.0}
    assert app.client.get("/v1/offers/five", headers=h).json()["offer"]["campaign"] == "welcome"
    bad = app.client.put("/v1/offers/six", json={"kind": "amount_off", "value": 1,
                                                 "campaign": "no spaces"}, headers=h)  # fmt: skip
    assert bad.status_code == 422 and "campaign" in bad.json()["detail"]


def test_a_click_and_an_order_show_in_the_report(reporting: AppHarness) -> None:
    app, h = reporting, reporting.admin()
    decision = _setup(app)
    decision_id, first = decision["decision_id"], decision["items"][0]["item_id"]
    for kind in ("viewed", "clicked"):
        body = {"decision_id": decision_id, "type": kind, "item_id": first}
        assert app.client.post("/v1/feedback", json=body, headers=h).status_code == 200
    at = datetime.now(UTC) + timedelta(seconds=1)
    order = {"event_id": "o1", "type": "order_completed", "customer_id": "c1",
             "timestamp": at.isoformat(),
             "properties": {"order_id": "x1", "lines": [
                 {"item_id": first, "quantity": 2, "price": 10.0},
                 {"item_id": "unshown", "quantity": 1, "price": 7.0}]}}  # fmt: skip
    assert app.client.post("/v1/events", json={"events": [order]}, headers=h).status_code == 200
    app.wait_idle()
    r = app.client.get("/v1/reports", params={"by": "placement,campaign"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"][:2] == ["placement", "campaign"] and body["as_of"] is not None
    rows = {row["campaign"]: row for row in body["rows"]}
    assert set(rows) == {"spring-24", "welcome"}
    row = rows["spring-24"]
    assert (row["placement"], row["decisions"], row["clicks"], row["orders"]) == ("home", 1, 1, 1)
    assert row["impressions"] == 1 and row["ctr"] == 1.0
    assert row["attributed_revenue"] == 20.0 and row["engaged_revenue"] == 27.0
    assert row["margin"] == 20.0 - 2 * 4.0 and row["revenue_per_decision"] == 20.0
    assert body["totals"]["decisions"] == 1 and body["totals"]["attributed_revenue"] == 20.0

    daily = app.client.get("/v1/reports", params={"interval": "day", "format": "csv"}, headers=h)
    assert daily.status_code == 200 and daily.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(daily.text)))
    assert len(table) == 1 and table[0]["decisions"] == "1" and table[0]["orders"] == "1"
    assert datetime.fromisoformat(table[0]["period"]).hour == 0
    accepted = app.client.get("/v1/reports", headers={**h, "Accept": "text/csv"})
    assert accepted.text.splitlines()[0].startswith("decisions,impressions,clicks,ctr")


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"interval": "week"}, "interval must be one of"),
        ({"by": "placement,colour"}, "unknown dimension 'colour'"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "must be before"),
        ({"from": "yesterday"}, "from must be a date"),
        ({"format": "xml"}, "format must be json or csv"),
        ({"groupby": "placement"}, "unknown parameter 'groupby'"),
        ({"by": "offer,offer"}, "by names 'offer' more than once"),
        ({"to": "9999-12-31"}, "to must be between 1900-01-01 and 9000-01-01"),
        ({"to": "0001-01-05"}, "to must be between 1900-01-01 and 9000-01-01"),
        ({"from": "2026-03-01T12:00:00+25:00"}, "from must be a date"),
    ],
)
def test_bad_parameters_are_400_problems(
    reporting: AppHarness, params: dict[str, str], says: str
) -> None:
    r = reporting.client.get("/v1/reports", params=params, headers=reporting.admin())
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert says in r.json()["detail"]


def test_reports_need_an_admin_key(reporting: AppHarness) -> None:
    assert reporting.client.get("/v1/reports", headers=reporting.ingest()).status_code == 403


def test_an_offset_whose_plus_was_not_url_encoded_still_reads(reporting: AppHarness) -> None:
    """``+02:00`` typed into a URL arrives as `` 02:00``: read as the offset, not a 400."""
    h = reporting.admin()
    raw = reporting.client.get(
        "/v1/reports?from=2026-03-01T12:00:00+02:00&to=2026-03-02", headers=h
    )
    assert raw.status_code == 200, raw.text
    assert raw.json()["from"] == "2026-03-01T10:00:00Z"
    encoded = reporting.client.get(
        "/v1/reports", params={"from": "2026-03-01T12:00:00+02:00", "to": "2026-03-02"}, headers=h
    )
    assert encoded.json()["from"] == raw.json()["from"]
