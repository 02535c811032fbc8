"""The arithmetic and words of the placements and experiments pages: conversion, budget
shares, the offers' shares per period, the interval chart's rows, verdicts and statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from retailor.analytics.reports import Report, ReportRequest
from retailor.dashboard.pages.experiments import interval_chart, variant_rows
from retailor.dashboard.pages.placements import (
    OfferBudget,
    conversion,
    every_period,
    offer_shares,
    share_chart,
)
from retailor.dashboard.verdicts import (
    KEEP_RUNNING,
    SHOWN,
    overall_status,
    signed_percent,
    srm_broken,
    status,
    verdict,
)
from retailor.domain.offers import Offer

T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _report(rows: list[dict[str, Any]], by: tuple[str, ...]) -> Report:
    request = ReportRequest(T0, T0 + 3 * HOUR, "hour", by)
    return Report(request, ("period", *by, "decisions"), rows, {})


def test_conversion_is_orders_per_decision() -> None:
    assert conversion({"orders": 5, "decisions": 20}) == 0.25
    assert conversion({"orders": 0, "decisions": 0}) is None


def test_budget_shares_against_the_definition() -> None:
    offer = Offer(offer_id="o", kind="amount_off", value=5, budget=50, max_redemptions=20)
    used = OfferBudget(offer, redemptions=3, spent=15.0)
    assert used.budget_used == pytest.approx(0.3)
    assert used.redemptions_used == pytest.approx(0.15)
    unlimited = OfferBudget(Offer(offer_id="u", kind="free_shipping"), 4, 0.0)
    assert unlimited.budget_used is None and unlimited.redemptions_used is None


def test_every_period_covers_the_range() -> None:
    assert every_period(T0 + timedelta(minutes=30), T0 + 2 * HOUR, "hour") == [T0, T0 + HOUR]
    days = every_period(T0, T0 + timedelta(days=2), "day")
    assert [d.day for d in days] == [1, 2, 3] and days[0].hour == 0


def test_offer_shares_are_of_the_decisions_with_an_offer() -> None:
    over_time = _report(
        [{"period": T0, "decisions": 10}, {"period": T0 + 2 * HOUR, "decisions": 4}], ()
    )
    by_offer = _report(
        [
            {"period": T0, "offer": None, "decisions": 2},
            {"period": T0, "offer": "a", "decisions": 6},
            {"period": T0, "offer": "b", "decisions": 2},
            {"period": T0 + 2 * HOUR, "offer": None, "decisions": 4},
        ],
        ("offer",),
    )
    shares = offer_shares(over_time, by_offer)
    assert shares.periods == [T0, T0 + HOUR, T0 + 2 * HOUR]
    assert shares.with_offer == [8, 0, 0]
    assert shares.shares == {"a": [0.75, None, None], "b": [0.25, None, None]}
    block = share_chart(shares, "hour")
    assert block["stacked"] is True
    assert [s["name"] for s in block["series"]] == ["a", "b"]
    assert block["labels"][0] == "2026-03-01 10:00"


def _comparison(effect: float, ci: list[float], seq: list[float], metric: str = "revenue",
                warnings: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "variant": "personal",
        "metric": metric,
        "warnings": warnings or [],
        "relative": {"effect": effect, "ci95": ci, "p_value_holm": 0.2},
        "sequential": {"ci95": seq},
    }


def test_a_shown_difference_is_said_in_words() -> None:
    c = _comparison(0.082, [0.015, 0.15], [0.002, 0.17])
    assert verdict(c, "plain") == (
        "personal earns 8.2 % more revenue per person than plain (95 %: +1.5 % to +15 %); "
        "the always-valid interval excludes zero: the difference is shown"
    )
    assert status(c) == SHOWN


def test_a_difference_not_shown_says_keep_running() -> None:
    c = _comparison(-0.05, [-0.12, -0.01], [-0.2, 0.1], metric="conversion")
    said = verdict(c, "plain")
    assert said.startswith("personal converts 5.0 % less often than plain (95 %: -12 % to -1 %)")
    assert said.endswith("includes zero: keep running")
    assert status(c) == KEEP_RUNNING
    assert overall_status([c, _comparison(0.1, [0.05, 0.2], [0.01, 0.3])]) == SHOWN
    assert overall_status([c]) == KEEP_RUNNING


def test_an_untestable_comparison_says_why() -> None:
    c = _comparison(0.0, [0.0, 0.0], [0.0, 0.0], "redemptions", ["an arm has no variance"])
    assert verdict(c, "plain") == (
        "personal and plain cannot be compared on redemptions yet (an arm has no variance): "
        "keep running"
    )
    assert status(c) == KEEP_RUNNING


def test_signed_percent_and_the_srm_threshold() -> None:
    assert [signed_percent(x) for x in (0.015, -0.15, 0.0004, 1.234)] == [
        "+1.5 %", "-15 %", "0 %", "+123 %"]  # fmt: skip
    assert srm_broken(0.0009) and not srm_broken(0.001)


def test_interval_chart_and_variant_rows_read_the_results_document() -> None:
    document = {
        "control": "plain",
        "variants": [
            {"id": "plain", "weight": 0.5, "units": 30, "metrics": {"revenue": {"mean": 2.0}}},
            {"id": "personal", "weight": 0.5, "units": 10, "metrics": {"revenue": {"mean": 3.0}}},
        ],
        "comparisons": [_comparison(0.5, [0.1, 0.9], [-0.1, 1.1])],
    }
    chart = interval_chart(document)
    assert chart["rows"] == [{"label": "personal · revenue", "effect": 0.5, "low": 0.1,
                              "high": 0.9, "seq_low": -0.1, "seq_high": 1.1}]  # fmt: skip
    rows = variant_rows(document)
    assert [r["share"] for r in rows] == [0.75, 0.25]
    assert rows[0]["is_control"] and not rows[1]["is_control"]
    assert rows[1]["means"] == {"revenue": 3.0}
