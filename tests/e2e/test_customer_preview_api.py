"""A customer's decisions and the preview of what a decision would answer them, in process
over DuckDB: the preview equals the next decision's items and names the variant the
decision then gets, and reading it logs no decision, records no exposure and draws no
offer; the decisions made for a customer (any of their ids) newest first; view keys read
the customer endpoints; bad parameters are problems."""

from __future__ import annotations

from collections.abc import Iterator
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
from tests.e2e.test_decisions_api import decide, seed, view
from tests.e2e.test_experiments_api import HALF, running
from tests.e2e.test_reports_api import reporting  # noqa: F401 - a fixture


def _view_key(app: AppHarness) -> dict[str, str]:
    _, key = create_key(app.storage.keys, Scope.VIEW, "people")
    return {"Authorization": f"Bearer {key}"}


def _get(app: AppHarness, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    got = app.client.get(path, params=params, headers=headers or app.admin())
    assert got.status_code == 200, got.text
    return got.json()


def _logged(app: AppHarness) -> int:
    app.wait_idle()
    return app.storage.decisions.count()


@pytest.fixture
def patient(tmp_path: Path) -> Iterator[AppHarness]:
    """The app with a decision time budget no busy machine reaches: a decision that ran
    out of time would fall back, and no longer equal its preview."""
    settings = Settings(data_dir=tmp_path / "data", decision_timeout_ms=10_000.0)
    settings.data_dir.mkdir()
    storage = open_storage(settings.storage_dsn, settings.data_dir)
    _, admin = create_key(storage.keys, Scope.ADMIN)
    _, ingest = create_key(storage.keys, Scope.INGEST)
    with TestClient(build_server(settings, storage), raise_server_exceptions=False) as client:
        yield AppHarness(client, storage, admin, ingest, settings)
    storage.close()


def test_the_preview_equals_the_next_decision_and_changes_nothing(patient: AppHarness) -> None:
    app = patient
    seed(app)
    login = {"event_id": "id-1", "type": "identify", "customer_id": "ada",
             "anonymous_id": "dev-1", "properties": {"traits": {"email": "ada@example.com"}}}  # fmt: skip
    views = [view(f"v{i}", {"customer_id": "ada"}, f"sku{i}", 5 - i) for i in range(3)]
    got = app.client.post("/v1/events", json={"events": [login, *views]}, headers=app.admin())
    assert got.status_code == 200, got.text
    running(app, "hero", HALF)
    once = {"kind": "amount_off", "value": 5, "frequency_cap": {"per_day": 1}}
    assert app.client.put("/v1/offers/five", json=once, headers=app.admin()).status_code == 200
    before = _logged(app)
    people = _view_key(app)
    answer = _get(app, "/v1/customers/email:ADA@example.com/preview", people)
    assert answer["customer_id"] == "ada"
    previews = {p["placement"]: p for p in answer["previews"]}
    assert {"home", "product_detail", "cart", "search"} <= set(previews)
    home = previews["home"]
    assert home["items"] and home["personalized"] and home["customer"] == "ada"
    assert home["experiment"]["id"] == "hero"
    assert home["eligible_offers"] == ["five"] and home["offers"] == 1
    again = _get(app, "/v1/customers/dev-1/preview", placement="home")["previews"]
    assert [p["items"] for p in again] == [home["items"]]
    # nothing was decided: no decision logged, no exposure, no impression of the offer
    # (shown once a day: the decision still gets it)
    assert _logged(app) == before
    assert app.storage.exposures.units("hero") == []
    decided = decide(app, placement="home", customer_id="ada")
    assert [o["offer_id"] for o in decided["offers"]] == ["five"]
    assert [i["item_id"] for i in decided["items"]] == [i["item_id"] for i in home["items"]]
    assert decided["experiment"]["variant"] == home["experiment"]["variant"]
    assert [a.unit for a in app.storage.exposures.units("hero")] == ["ada"]
    assert _logged(app) == before + 1
    after = _get(app, "/v1/customers/ada/preview", placement="home")["previews"][0]
    assert after["eligible_offers"] == []  # its cap is reached now


def test_the_decisions_made_for_a_customer(reporting: AppHarness) -> None:  # noqa: F811
    app = reporting
    seed(app)
    link = {"event_id": "id-2", "type": "identify", "customer_id": "bo", "anonymous_id": "dev-2"}
    assert app.client.post("/v1/events", json={"events": [link]},
                           headers=app.admin()).status_code == 200  # fmt: skip
    made = [decide(app, placement="home", anonymous_id="dev-2")["decision_id"],
            decide(app, placement="cart", customer_id="bo")["decision_id"]]  # fmt: skip
    decide(app, placement="home", customer_id="someone-else")
    app.wait_idle()
    people = _view_key(app)
    answer = _get(app, "/v1/customers/dev-2/decisions", people)
    assert answer["customer_id"] == "bo"
    assert [d["decision_id"] for d in answer["decisions"]] == made[::-1]
    assert answer["decisions"][0]["placement"] == "cart"
    one = _get(app, "/v1/customers/bo/decisions", people, limit=1)["decisions"]
    assert [d["decision_id"] for d in one] == made[1:]
    long_ago = _get(app, "/v1/customers/bo/decisions", to="2020-01-01")["decisions"]
    assert long_ago == []


def test_view_keys_read_customers_and_bad_parameters_are_problems(app: AppHarness) -> None:
    seed(app)
    people = _view_key(app)
    for path in ("/v1/customers/crowd1", "/v1/customers/crowd1/events",
                 "/v1/customers/crowd1/identity"):  # fmt: skip
        assert app.client.get(path, headers=people).status_code == 200, path
    bad = [
        ("/v1/customers/crowd1/preview?placement=nowhere", 404, "no placement 'nowhere'"),
        ("/v1/customers/crowd1/preview?placement=,", 422, "placement names"),
        ("/v1/customers/nobody/preview", 404, "no customer known"),
        ("/v1/customers/crowd1/decisions?from=yesterday", 400, "from"),
        ("/v1/customers/crowd1/decisions?limit=0", 422, "limit"),
        ("/v1/customers/nobody/decisions", 404, "no customer known"),
    ]
    for path, status, says in bad:
        got = app.client.get(path, headers=people)
        assert got.status_code == status, (path, got.text)
        assert got.headers["content-type"] == "application/problem+json"
        assert says in got.json()["detail"], (path, got.text)
    assert app.client.get("/v1/customers/crowd1/preview", headers=app.ingest()).status_code == 403
