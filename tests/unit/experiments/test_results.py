"""Experiment results on hand-built exposures, orders and interactions: per-unit metrics
from the first exposure on, the person as the unit (a login after exposure), folding,
the analysis window, the pre-exposure covariate, and the comparisons against gbstats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from gbstats.models.statistics import SampleMeanStatistic

from retailor.experiments.results import (
    Interaction,
    PersonOrder,
    UnitExposure,
    results,
    summaries,
    unit_table,
)

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
END = T0 + timedelta(days=10)

#: a:v1 logged in as c1 after exposure; everyone else is their own person.
CLUSTERS = {"a:v1": "c1", "a:v9": "c9"}


def canonical(identifier: str) -> str:
    return CLUSTERS.get(identifier, identifier)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def order(order_id: str, hours: float, revenue: float, *ids: str) -> PersonOrder:
    return PersonOrder(order_id=order_id, at=at(hours), identifiers=ids, revenue=revenue)


EXPOSURES = [
    UnitExposure("a:v1", "a", at(0)),  # a visitor who logs in as c1 later
    UnitExposure("c2", "a", at(1)),
    UnitExposure("c3", "b", at(2)),
    UnitExposure("c4", "b", at(3)),
    UnitExposure("c9", "b", at(4)),  # the same person as a:v9, exposed later: folded
    UnitExposure("a:v9", "a", at(0.5)),
]


def test_metrics_per_unit_follow_the_person_across_a_login() -> None:
    orders = [
        order("o1", 5, 40.0, "c1", "a:v1"),  # placed logged in: c1 is the visitor's person
        order("o2", 6, 10.0, "c1"),
        order("o3", -5, 99.0, "c2"),  # before c2's exposure: pre-period only
        order("o4", 7, 25.0, "c3"),
        order("o4", 7, 25.0, "c3"),  # a repeated order id counts once
        order("o5", 24 * 11, 60.0, "c4"),  # after the window
        order("o6", 1, 5.0, "a:v9"),
    ]
    clicks = [
        Interaction(at(1), ("a:v1",), "clicked"),
        Interaction(at(2), ("c3",), "clicked"),
        Interaction(at(3), ("c3",), "clicked"),
        Interaction(at(8), ("c3",), "redeemed"),
    ]
    table = unit_table(EXPOSURES, orders, clicks, canonical, end=END)
    assert table.folded == 1
    assert table.units("a") == 3 and table.units("b") == 2
    s = summaries(table, ["a", "b"], covariates=False)
    # a: c1 (2 orders, 50), c2 (0), c9 (1 order, 5)
    assert (s["a"]["conversion"].n, s["a"]["conversion"].sum) == (3, 2.0)
    assert (s["a"]["revenue"].sum, s["a"]["revenue"].sum_squares) == (55.0, 50.0**2 + 5.0**2)
    assert s["a"]["clicks"].sum == 1.0
    # b: c3 (1 order 25, 2 clicks, 1 redemption), c4 (order after the window: nothing)
    assert (s["b"]["conversion"].sum, s["b"]["revenue"].sum) == (1.0, 25.0)
    assert (s["b"]["clicks"].sum, s["b"]["clicks"].sum_squares) == (2.0, 4.0)
    assert s["b"]["redemptions"].sum == 1.0
    aov = s["a"]["aov"]
    assert (aov.sum, aov.denominator_sum, aov.denominator_sum_squares) == (55.0, 3.0, 5.0)
    assert aov.denominator_cross_sum == 50.0 * 2 + 5.0 * 1
    assert aov.mean == pytest.approx(55.0 / 3)


def test_the_pre_exposure_period_feeds_the_covariate() -> None:
    orders = [order("o3", -5, 99.0, "c2"), order("old", -24 * 30, 7.0, "c2")]
    table = unit_table(EXPOSURES, orders, [], canonical, end=END, pre_days=14)
    s = summaries(table, ["a", "b"], covariates=True)
    assert s["a"]["revenue"].covariate_sum == 99.0  # the 30-day-old order is outside 14 days
    assert s["a"]["revenue"].sum == 0.0
    assert s["a"]["conversion"].covariate_sum == 1.0


def test_comparisons_equal_gbstats_and_carry_summaries() -> None:
    exposures = [UnitExposure(f"c{i}", "a" if i % 2 else "b", at(0)) for i in range(40)]
    orders = [order(f"o{i}", 1, float(10 + (i * 7) % 13), f"c{i}") for i in range(40) if i % 3 != 0]
    table = unit_table(exposures, orders, [], canonical, end=END, pre_days=0)
    doc = results(
        table, variants=["a", "b"], weights={"a": 0.5, "b": 0.5}, control="a", with_cuped=False
    )
    assert [v["id"] for v in doc["variants"]] == ["a", "b"]
    assert doc["variants"][0]["units"] == 20
    revenue = doc["variants"][0]["metrics"]["revenue"]
    assert set(revenue) == {"n", "sum", "sum_squares", "mean"}
    assert set(doc["variants"][0]["metrics"]["aov"]) >= {"denominator_sum", "denominator_cross_sum"}
    entry = next(c for c in doc["comparisons"] if c["metric"] == "revenue")
    a, b = (doc["variants"][k]["metrics"]["revenue"] for k in (0, 1))

    def stat(m: dict[str, float]) -> SampleMeanStatistic:
        return SampleMeanStatistic(n=m["n"], sum=m["sum"], sum_squares=m["sum_squares"])

    ref = TwoSidedTTest(
        stat(a), stat(b), FrequentistConfig(difference_type="absolute")
    ).compute_result()
    assert entry["absolute"]["effect"] == pytest.approx(ref.expected, abs=1e-6)
    assert entry["absolute"]["ci95"] == pytest.approx(list(ref.ci), abs=1e-6)
    assert entry["absolute"]["p_value"] == pytest.approx(ref.p_value, abs=1e-6)
    assert {c["metric"] for c in doc["comparisons"]} == {
        "conversion", "revenue", "clicks", "redemptions", "aov",
    }  # fmt: skip
    assert doc["srm_p_value"] == pytest.approx(1.0)
    assert "cuped" not in entry


def test_cuped_figures_appear_when_there_is_a_pre_period() -> None:
    exposures = [UnitExposure(f"c{i}", "a" if i % 2 else "b", at(0)) for i in range(60)]
    orders = [order(f"pre{i}", -10, float(5 + i % 9), f"c{i}") for i in range(60)]
    orders += [order(f"post{i}", 10, float(5 + i % 9 + (i % 2)), f"c{i}") for i in range(60)]
    table = unit_table(exposures, orders, [], canonical, end=END)
    doc = results(
        table, variants=["a", "b"], weights={"a": 0.5, "b": 0.5}, control="a", with_cuped=True
    )
    entry = next(c for c in doc["comparisons"] if c["metric"] == "revenue")
    assert entry["cuped"]["theta"] != 0
    # the covariate explains most of the spread: the adjusted interval is narrower
    lo, hi = entry["absolute"]["ci95"]
    clo, chi = entry["cuped"]["absolute"]["ci95"]
    assert chi - clo < hi - lo
    assert all("cuped" not in c for c in doc["comparisons"] if c["metric"] == "aov")


def test_a_sample_ratio_mismatch_is_warned() -> None:
    exposures = [UnitExposure(f"c{i}", "a" if i < 900 else "b", at(0)) for i in range(1000)]
    table = unit_table(exposures, [], [], canonical, end=END)
    doc = results(
        table, variants=["a", "b"], weights={"a": 0.5, "b": 0.5}, control="a", with_cuped=False
    )
    assert doc["srm_p_value"] < 0.001
    assert any("sample ratio mismatch" in w for w in doc["warnings"])
