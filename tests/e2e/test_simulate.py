"""`retailor simulate`: a closed-loop run in-process and over HTTP, the funnel it documents,
reproducible event streams, and files that `retailor import` takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from retailor.simulator.shopper import FUNNEL_RANGES
from tests.conftest import start_server, stop_server

ENV = {**os.environ, "RETAILOR_NO_PROGRESS": "1"}


def retailor(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *args],
        capture_output=True, text=True, timeout=timeout, env=ENV,
    )  # fmt: skip


@pytest.fixture(scope="module")
def closed_loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    """One short closed-loop run at the small scale, in-process."""
    tmp = tmp_path_factory.mktemp("simulate")
    plot = tmp / "lift.png"
    result = retailor("simulate", "--scale", "small", "--seed", "11", "--json", "--plot",
                      str(plot), "--data", str(tmp / "data"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    yield json.loads(result.stdout), plot


def _figure(value: dict[str, Any]) -> None:
    low, high = value["ci95"]
    assert low <= value["mean"] <= high, value


def test_closed_loop_report_has_every_arm_with_intervals(
    closed_loop: tuple[dict[str, Any], Path],
) -> None:
    report, plot = closed_loop
    assert report["mode"] == "in-process" and report["error_count"] == 0, report["errors"]
    assert set(report["arms"]) == {"retailor", "popularity", "random", "none"}
    for arm in report["arms"].values():
        assert arm["visitors"] > 50
        for name in ("click_through", "conversion", "revenue_per_visitor", "offer_cost", "margin"):
            _figure(arm[name])
    assert report["arms"]["none"]["click_through"]["mean"] == 0.0
    offers = report["offers"]
    assert set(offers["arms"]) == {"bandit", "random", "oracle"}
    assert offers["arms"]["oracle"]["regret_per_offer"]["mean"] == 0.0
    days = report["scale"]["experiment_days"]
    assert len(offers["regret"]["bandit"]["per_day"]) == days
    assert offers["regret"]["bandit"]["cumulative"] == sorted(
        offers["regret"]["bandit"]["cumulative"]
    )
    assert report["totals"]["models_trained_on_days"][0] == report["scale"]["history_days"]
    assert report["totals"]["store_orders"] > 0
    for lift in report["lift"].values():
        low, high = lift["ratio_ci95"]
        assert low <= lift["revenue_per_visitor_ratio"] <= high
    assert (
        sum(offers["regret"]["bandit"]["offers_per_day"])
        == offers["arms"]["bandit"]["offers_shown"]
    )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_loop_is_closed(closed_loop: tuple[dict[str, Any], Path]) -> None:
    """Retailor stored every experiment order and click the shoppers made (nothing was
    dropped as a duplicate), and learned from the bandit's offers."""
    report, plot = closed_loop
    data = plot.parent / "data"
    with duckdb.connect(str(data / "retailor.duckdb"), read_only=True) as db:
        orders = db.execute(
            "SELECT count(*) FROM events WHERE type = 'order_completed' AND channel <> 'store'"
        ).fetchone()
        attributed = db.execute(
            "SELECT count(*) FROM events WHERE type = 'order_completed' AND decision_id IS NOT NULL"
        ).fetchone()
        feedback = db.execute(
            "SELECT count(*) FROM decision_feedback WHERE type = 'redeemed'"
        ).fetchone()
    totals = report["totals"]
    assert (
        orders is not None and orders[0] == totals["history_orders"] + totals["experiment_orders"]
    )
    assert attributed is not None and attributed[0] > 0
    # Retailor chose the offers of the bandit and random variants: their redemptions came back
    offer_arms = report["offers"]["arms"]
    expected = sum(
        round(offer_arms[a]["redemption_rate"]["mean"] * offer_arms[a]["offers_shown"])
        for a in ("bandit", "random")
    )
    assert feedback is not None and feedback[0] == expected


def test_the_arms_are_retailor_experiments_and_its_results_hold_the_truth(
    closed_loop: tuple[dict[str, Any], Path],
) -> None:
    """Retailor assigned every shopper (the report reads Retailor's own results), the
    shares match the configured weights, and each true effect the shop measured lies
    within Retailor's 95 % interval."""
    report, _ = closed_loop
    results = report["retailor_results"]
    assert set(results) == {"sim-recommendations", "sim-offers"}
    recommendations = results["sim-recommendations"]
    assert set(recommendations["units"]) == {"retailor", "popularity", "random", "none"}
    assert recommendations["control"] == "popularity"
    assert results["sim-offers"]["control"] == "random"
    for name, result in results.items():
        assert result["srm_p_value"] > 0.001, (name, result["units"])
        assert len(result["checks"]) == 2 * (len(result["units"]) - 1)
        assert result["all_within_ci95"], (name, result["checks"])
        assert sum(result["true_shoppers"].values()) <= sum(result["units"].values())


def test_what_retailor_shows_changes_what_shoppers_buy(
    closed_loop: tuple[dict[str, Any], Path],
) -> None:
    report, _ = closed_loop
    arms = report["arms"]
    rpv = {name: arm["revenue_per_visitor"]["mean"] for name, arm in arms.items()}
    assert rpv["retailor"] > rpv["popularity"] and rpv["retailor"] > rpv["none"], rpv
    assert arms["retailor"]["click_through"]["mean"] > arms["random"]["click_through"]["mean"]
    oracle = report["offers"]["arms"]["oracle"]["redemption_rate"]["mean"]
    assert oracle > report["offers"]["arms"]["random"]["redemption_rate"]["mean"]


def test_funnel_within_the_documented_ranges(closed_loop: tuple[dict[str, Any], Path]) -> None:
    report, _ = closed_loop
    for name, (low, high) in FUNNEL_RANGES.items():
        assert low <= report["funnel"][name] <= high, (name, report["funnel"])


def test_offline_event_stream_is_reproducible_and_importable(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        result = retailor("simulate", "--offline", "--scale", "tiny", "--seed", seed,
                          "--end", "2026-06-01", "--export", str(tmp_path / name))  # fmt: skip
        assert result.returncode == 0, result.stderr
        runs[name] = (tmp_path / name / "events.jsonl").read_bytes()
    assert runs["a"] == runs["b"], "the same seed gives the same events"
    assert runs["a"] != runs["c"]
    events = [json.loads(line) for line in runs["a"].splitlines()]
    assert len({e["event_id"] for e in events}) == len(events), "event ids are unique"
    assert max(e["timestamp"] for e in events) < "2026-06-01"
    kinds = {e["type"] for e in events}
    assert {"product_viewed", "product_added", "order_completed", "identify", "loyalty_enrolled",
            "consent_updated", "products_searched"} <= kinds  # fmt: skip
    assert any(e["channel"] == "store" and "loyalty_card" in e["properties"] for e in events)
    assert any(
        "anonymous_id" in e and "customer_id" in e and e["type"] == "identify" for e in events
    )
    data = tmp_path / "imported"
    for kind, name in (("catalog", "catalog.jsonl"), ("events", "events.jsonl")):
        result = retailor("import", kind, str(tmp_path / "a" / name), "--data", str(data), "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["rejected"] == 0
    assert summary["accepted"] == len(events)


def test_drives_a_running_server_over_http(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server")
    try:
        result = retailor("simulate", "--scale", "tiny", "--url", server.url, "--key",
                          server.admin_key, "--json", "--concurrency", "4")  # fmt: skip
    finally:
        stop_server(server)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mode"] == "http" and report["error_count"] == 0, report["errors"]
    assert report["arms"]["retailor"]["click_through"]["mean"] > 0


def test_bad_options_say_what_to_do(tmp_path: Path) -> None:
    result = retailor("simulate", "--offline")
    assert result.returncode == 2 and "--export" in result.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    result = retailor("simulate", "--scale", "tiny", "--data", str(busy))
    assert result.returncode == 2 and "not empty" in result.stderr
    result = retailor("simulate", "--url", "http://127.0.0.1:9")
    assert result.returncode == 2 and "--key" in result.stderr
