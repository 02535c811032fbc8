"""An experiment on a live server, end to end: shoppers whose conversion, spend and clicks
per variant the test decides; Retailor assigns, logs the exposures, folds the orders and
the feedback, and its results give exactly the units and summary statistics the test
knows to be true. The assignment is sticky (also across a login) and the control's
answers are not personalized."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from retailor.client import Client
from tests.conftest import start_server, stop_server

SHOPPERS = 120
ITEMS = [f"sku{i}" for i in range(12)]


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *args, "--data", str(data)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def _event(
    event_id: str, kind: str, at: datetime, props: dict[str, Any], **who: str
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": kind,
        "timestamp": at.isoformat(),
        "properties": props,
        **who,
    }


def test_results_equal_the_truth_the_shoppers_were_given(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", env={"RETAILOR_REPORT_SETTLE_SECONDS": "1"})
    try:
        client = Client(server.url, server.admin_key)
        client.upsert_items(
            [
                {"item_id": i, "name": i.upper(), "category": "Home > Decor", "price": 10.0}
                for i in ITEMS
            ]
        )
        client.put_experiment(
            "home-test",
            {
                "placements": ["home"],
                "control": "off",
                "variants": [
                    {"id": "off", "weight": 0.5, "personalized": False},
                    {"id": "on", "weight": 0.5},
                ],
            },
        )
        truth: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        start = datetime.now(UTC)
        for n in range(SHOPPERS):
            customer = f"shopper-{n}"
            visitor = f"device-{n}"
            logs_in_later = n % 4 == 0
            who = {"anonymous_id": visitor} if logs_in_later else {"customer_id": customer}
            first = client.decide("home", k=4, **who)
            variant = first["experiment"]["variant"]
            assert first["experiment"]["id"] == "home-test"
            if variant == "off":
                assert first["personalized"] is False
            again = client.decide("home", k=4, **who)
            assert again["experiment"]["variant"] == variant  # sticky
            if logs_in_later:  # the visitor logs in: still the same variant as the customer
                client.send_events(
                    [_event(f"login-{n}", "identify", datetime.now(UTC), {},
                            anonymous_id=visitor, customer_id=customer)]
                )  # fmt: skip
                after = client.decide("home", k=4, customer_id=customer)
                assert after["experiment"]["variant"] == variant
            # what this shopper does, as the test decides: clicks, orders and spend
            clicked = first["items"][: n % 3 if variant == "on" else n % 2]
            for item in clicked:
                client.feedback(first["decision_id"], "clicked", item_id=item["item_id"])
            clicks = len(clicked)
            orders = (1 + n % 2) if (n % 5 < (3 if variant == "on" else 2)) else 0
            revenue = 0.0
            for o in range(orders):
                price = 5.0 + (n * 7 + o * 3) % 11
                client.send_events(
                    [_event(f"order-{n}-{o}", "order_completed", datetime.now(UTC),
                            {"order_id": f"O{n}-{o}", "revenue": price,
                             "lines": [{"item_id": ITEMS[n % len(ITEMS)], "quantity": 1, "price": price}]},
                            customer_id=customer)]
                )  # fmt: skip
                revenue += price
            truth[variant].append((1.0 if orders else 0.0, revenue, float(clicks), float(orders)))
        time.sleep(1.5)  # past the reports' settle time (1 s here), so the last feedback folds
        results = client.experiment_results("home-test")
        through = _cli(server.data_dir, "experiments", "results", "home-test", "--json")
        assert through.returncode == 0, through.stderr
        table = _cli(server.data_dir, "experiments", "results", "home-test")
        assert "Against the control" in table.stdout and "sample ratio check" in table.stdout
    finally:
        stop_server(server)
    # the same figures straight from the stores, with no server running
    direct = _cli(server.data_dir, "experiments", "results", "home-test", "--json")
    assert direct.returncode == 0, direct.stderr
    for answer in (json.loads(through.stdout), json.loads(direct.stdout)):
        assert answer["variants"] == results["variants"]
    missing = _cli(server.data_dir, "experiments", "results", "nope")
    assert missing.returncode != 0 and "no experiment" in missing.stderr
    assert "Traceback" not in missing.stderr

    assert results["experiment"] == "home-test" and results["control"] == "off"
    assert results["window"]["from"] >= start.isoformat()[:19]
    by_id = {v["id"]: v for v in results["variants"]}
    assert set(by_id) == {"off", "on"}
    assert all(sum(row[2] for row in rows) > 0 for rows in truth.values())  # clicks in each
    for variant, rows in truth.items():
        got = by_id[variant]
        assert got["units"] == len(rows)
        for index, metric in enumerate(("conversion", "revenue", "clicks")):
            values = [row[index] for row in rows]
            summary = got["metrics"][metric]
            assert summary["n"] == len(values)
            assert summary["sum"] == pytest.approx(math.fsum(values), abs=1e-9)
            assert summary["sum_squares"] == pytest.approx(
                math.fsum(v * v for v in values), abs=1e-9
            )
        assert got["metrics"]["redemptions"]["sum"] == 0
        aov = got["metrics"]["aov"]
        assert aov["sum"] == pytest.approx(math.fsum(r[1] for r in rows), abs=1e-9)
        assert aov["denominator_sum"] == pytest.approx(math.fsum(r[3] for r in rows), abs=1e-9)
        assert aov["denominator_cross_sum"] == pytest.approx(
            math.fsum(r[1] * r[3] for r in rows), abs=1e-9
        )
    metrics = {(c["variant"], c["metric"]) for c in results["comparisons"]}
    assert metrics == {("on", m) for m in ("conversion", "revenue", "clicks", "redemptions", "aov")}
    conversion = next(c for c in results["comparisons"] if c["metric"] == "conversion")
    true_effect = sum(r[0] for r in truth["on"]) / len(truth["on"]) - sum(
        r[0] for r in truth["off"]
    ) / len(truth["off"])
    assert conversion["absolute"]["effect"] == pytest.approx(true_effect, abs=1e-9)
    low, high = conversion["absolute"]["ci95"]
    assert low < true_effect < high
    assert 0.0 <= results["srm_p_value"] <= 1.0
    assert results["cuped"] is False  # nobody ordered before the experiment


def test_results_of_an_unknown_experiment_and_bad_parameters(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        client = Client(server.url, server.admin_key)
        client.put_experiment(
            "e1",
            {"placements": ["home"], "control": "a",
             "variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}]},
        )  # fmt: skip
        empty = client.experiment_results("e1")
        assert [v["units"] for v in empty["variants"]] == [0, 0]
        assert empty["window"]["from"] is None
        for path, status in (
            ("/v1/experiments/nope/results", 404),
            ("/v1/experiments/e1/results?phase=2", 404),
            ("/v1/experiments/e1/results?phase=x", 400),
            ("/v1/experiments/e1/results?pre_days=400", 400),
            ("/v1/experiments/e1/results?to=yesterday", 400),
            ("/v1/experiments/holdout/results", 404),
        ):
            import httpx

            answer = httpx.get(
                server.url + path, headers={"Authorization": f"Bearer {server.admin_key}"}
            )
            assert answer.status_code == status, (path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
        later = datetime.now(UTC) + timedelta(days=1)
        assert client.experiment_results("e1", to=later.isoformat())["window"]["to"].startswith(
            later.isoformat()[:16]
        )
    finally:
        stop_server(server)
