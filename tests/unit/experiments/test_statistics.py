"""Experiment statistics against GrowthBook's engine gbstats 0.8.0 on the same summary
statistics (to 1e-6), plus textbook checks against SciPy and worked examples."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm
from scipy import stats

from retailor.experiments.checks import holm, srm_p_value
from retailor.experiments.statistics import analyse, compare
from retailor.experiments.summary import MetricSummary

TOL = 1e-6


def close(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= TOL * max(1.0, abs(theirs))


def close_all(ours: list[float], theirs: list[float]) -> bool:
    return len(ours) == len(theirs) and all(close(a, b) for a, b in zip(ours, theirs, strict=True))


# --- building summaries from unit-level data ---------------------------------------------


def summarise(
    values: np.ndarray,
    denominator: np.ndarray | None = None,
    covariate: np.ndarray | None = None,
) -> MetricSummary:
    fields: dict[str, float] = {}
    if denominator is not None:
        fields["denominator_sum"] = float(denominator.sum())
        fields["denominator_sum_squares"] = float((denominator**2).sum())
        fields["denominator_cross_sum"] = float((values * denominator).sum())
    if covariate is not None:
        fields["covariate_sum"] = float(covariate.sum())
        fields["covariate_sum_squares"] = float((covariate**2).sum())
        fields["covariate_cross_sum"] = float((values * covariate).sum())
    return MetricSummary(
        n=len(values), sum=float(values.sum()), sum_squares=float((values**2).sum()), **fields
    )


def to_gbstats(s: MetricSummary) -> object:
    """A fresh gbstats statistic for a summary (fresh: gbstats sets CUPED's theta in place)."""
    main = SampleMeanStatistic(n=s.n, sum=s.sum, sum_squares=s.sum_squares)
    if s.is_ratio:
        return RatioStatistic(
            n=s.n,
            m_statistic=main,
            d_statistic=SampleMeanStatistic(
                n=s.n, sum=s.denominator_sum, sum_squares=s.denominator_sum_squares
            ),
            m_d_sum_of_products=s.denominator_cross_sum,
        )
    if s.has_covariate:
        return RegressionAdjustedStatistic(
            n=s.n,
            post_statistic=main,
            pre_statistic=SampleMeanStatistic(
                n=s.n, sum=s.covariate_sum, sum_squares=s.covariate_sum_squares
            ),
            post_pre_sum_of_products=s.covariate_cross_sum,
            theta=0,
        )
    return main


@dataclass(frozen=True)
class Case:
    name: str
    control: MetricSummary
    variant: MetricSummary


def _cases() -> list[Case]:
    rng = np.random.default_rng(20240615)
    cases: list[Case] = []
    # Small samples, a modest lift.
    cases.append(Case("small", summarise(rng.normal(10, 3, 8)), summarise(rng.normal(12, 4, 9))))
    # Large samples of skewed revenue.
    cases.append(
        Case(
            "large",
            summarise(rng.lognormal(3.0, 1.2, 200_000)),
            summarise(rng.lognormal(3.02, 1.2, 210_000)),
        )
    )
    # A negative effect.
    cases.append(
        Case("negative", summarise(rng.normal(50, 20, 2000)), summarise(rng.normal(47, 20, 1900)))
    )
    # A negative control mean.
    cases.append(
        Case(
            "negative_mean", summarise(rng.normal(-5, 2, 300)), summarise(rng.normal(-4.6, 2, 310))
        )
    )
    # Conversions (0/1 per unit).
    cases.append(
        Case(
            "conversion",
            summarise((rng.random(5000) < 0.10).astype(float)),
            summarise((rng.random(5100) < 0.115).astype(float)),
        )
    )
    # Ratio metric: revenue per session, both per unit.
    for label, n_a, n_b, lift in (("ratio", 4000, 4100, 1.05), ("ratio_small", 12, 15, 0.9)):
        sessions_a = rng.poisson(3, n_a).astype(float) + 1
        sessions_b = rng.poisson(3, n_b).astype(float) + 1
        revenue_a = sessions_a * rng.gamma(2.0, 10.0, n_a)
        revenue_b = sessions_b * rng.gamma(2.0, 10.0 * lift, n_b)
        cases.append(
            Case(label, summarise(revenue_a, sessions_a), summarise(revenue_b, sessions_b))
        )
    # CUPED: the pre-exposure figure explains much of the metric.
    for label, n_a, n_b in (("cuped", 3000, 3050), ("cuped_small", 20, 25)):
        pre_a = rng.gamma(2.0, 20.0, n_a)
        pre_b = rng.gamma(2.0, 20.0, n_b)
        post_a = 0.8 * pre_a + rng.normal(5, 10, n_a)
        post_b = 0.8 * pre_b + rng.normal(7, 10, n_b)
        cases.append(Case(label, summarise(post_a, None, pre_a), summarise(post_b, None, pre_b)))
    # CUPED whose covariate has no variance: no adjustment (theta 0).
    post_a, post_b = rng.normal(10, 2, 100), rng.normal(11, 2, 100)
    cases.append(
        Case(
            "cuped_flat_covariate",
            summarise(post_a, None, np.full(100, 4.0)),
            summarise(post_b, None, np.full(100, 4.0)),
        )
    )
    # Guards: no variance, a zero control mean, one unit, no units.
    cases.append(
        Case("zero_variance", summarise(np.full(50, 3.0)), summarise(rng.normal(3, 1, 50)))
    )
    cases.append(
        Case(
            "zero_control_mean",
            summarise(np.array([-1.0, 1.0, -2.0, 2.0])),
            summarise(rng.normal(1, 1, 4)),
        )
    )
    cases.append(Case("one_unit", summarise(np.array([2.0])), summarise(rng.normal(2, 1, 10))))
    cases.append(
        Case(
            "no_units",
            MetricSummary(n=0, sum=0.0, sum_squares=0.0),
            summarise(rng.normal(2, 1, 10)),
        )
    )
    return cases


CASES = _cases()


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def gb_frequentist(case: Case, difference: str) -> object:
    config = FrequentistConfig(difference_type=difference)
    return TwoSidedTTest(
        to_gbstats(case.control), to_gbstats(case.variant), config
    ).compute_result()


@pytest.mark.parametrize("difference", ["absolute", "relative"])
def test_welch_equals_gbstats_two_sided_ttest(case: Case, difference: str) -> None:
    ours = compare(case.control, case.variant)[difference]
    theirs = gb_frequentist(case, difference)
    assert close(ours["effect"], theirs.expected)
    assert close_all(ours["ci95"], list(theirs.ci))
    assert close(ours["p_value"], theirs.p_value)


@pytest.mark.parametrize("difference", ["absolute", "relative"])
def test_sequential_equals_gbstats_sequential_ttest(case: Case, difference: str) -> None:
    ours = compare(case.control, case.variant, difference)["sequential"]
    config = SequentialConfig(difference_type=difference)
    theirs = SequentialTwoSidedTTest(
        to_gbstats(case.control), to_gbstats(case.variant), config
    ).compute_result()
    assert close_all(ours["ci95"], list(theirs.ci))
    assert close(ours["p_value"], theirs.p_value)


def test_sequential_default_is_gbstats_default(case: Case) -> None:
    ours = compare(case.control, case.variant)["sequential"]
    theirs = SequentialTwoSidedTTest(to_gbstats(case.control), to_gbstats(case.variant))
    result = theirs.compute_result()
    assert theirs.sequential_tuning_parameter == 5000
    assert close_all(ours["ci95"], list(result.ci))
    assert close(ours["p_value"], result.p_value)


@pytest.mark.parametrize("difference", ["absolute", "relative"])
def test_chance_to_win_equals_gbstats_effect_bayesian(case: Case, difference: str) -> None:
    ours = compare(case.control, case.variant, difference)["chance_to_win"]
    config = EffectBayesianConfig(difference_type=difference)
    if difference == "absolute" and case.control.mean == 0:
        # gbstats rescales its (flat) relative prior by the control's mean and divides by
        # the resulting zero; the same flat prior stated on the absolute scale avoids that.
        config = EffectBayesianConfig(difference_type=difference, prior_type="absolute")
    theirs = EffectBayesianABTest(
        to_gbstats(case.control), to_gbstats(case.variant), config
    ).compute_result()
    assert close(ours, theirs.chance_to_win)


def test_chance_to_win_default_prior_is_gbstats_default(case: Case) -> None:
    test = EffectBayesianABTest(to_gbstats(case.control), to_gbstats(case.variant))
    assert not test.prior_effect.proper
    assert close(
        compare(case.control, case.variant)["chance_to_win"], test.compute_result().chance_to_win
    )


def test_cuped_theta_equals_gbstats() -> None:
    for case in CASES:
        if not case.control.has_covariate:
            continue
        test = TwoSidedTTest(to_gbstats(case.control), to_gbstats(case.variant))
        ours = compare(case.control, case.variant)
        theirs = getattr(test.stat_a, "theta", 0.0)
        assert close(ours["theta"], theirs), case.name
        assert ours["cuped"] == (case.name != "cuped_flat_covariate")


def test_cuped_narrows_the_interval() -> None:
    case = next(c for c in CASES if c.name == "cuped")
    plain = MetricSummary(
        n=case.control.n, sum=case.control.sum, sum_squares=case.control.sum_squares
    )
    plain_b = MetricSummary(
        n=case.variant.n, sum=case.variant.sum, sum_squares=case.variant.sum_squares
    )
    adjusted = compare(case.control, case.variant)["absolute"]["ci95"]
    unadjusted = compare(plain, plain_b)["absolute"]["ci95"]
    assert adjusted[1] - adjusted[0] < 0.8 * (unadjusted[1] - unadjusted[0])


def test_guards_give_the_neutral_answer() -> None:
    for name in ("zero_variance", "zero_control_mean", "one_unit", "no_units"):
        case = next(c for c in CASES if c.name == name)
        result = compare(case.control, case.variant)
        assert result["absolute"] == {"effect": 0.0, "ci95": [0.0, 0.0], "p_value": 1.0}, name
        assert result["relative"]["p_value"] == 1.0
        assert result["sequential"] == {"ci95": [0.0, 0.0], "p_value": 1.0}
        assert result["chance_to_win"] == 0.5
        assert result["warnings"], name


# --- several variants, Holm, SRM ---------------------------------------------------------


def three_arm_experiment() -> dict[str, dict[str, MetricSummary]]:
    rng = np.random.default_rng(7)
    summaries: dict[str, dict[str, MetricSummary]] = {}
    for arm, lift in (("control", 1.0), ("b", 1.04), ("c", 0.97)):
        n = 1500
        sessions = rng.poisson(2, n).astype(float) + 1
        pre = rng.gamma(2.0, 15.0, n)
        summaries[arm] = {
            "revenue": summarise(rng.gamma(2.0, 15.0 * lift, n)),
            "conversion": summarise((rng.random(n) < 0.2 * lift).astype(float)),
            "revenue_per_session": summarise(sessions * rng.gamma(2.0, 8.0 * lift, n), sessions),
            "orders_cuped": summarise(0.5 * pre + rng.normal(3 * lift, 4, n), None, pre),
        }
    return summaries


def test_analyse_several_variants_equals_gbstats() -> None:
    summaries = three_arm_experiment()
    units = {"control": 1500, "b": 1500, "c": 1500}
    weights = {"control": 1.0, "b": 1.0, "c": 1.0}
    report = analyse(summaries, control="control", units=units, weights=weights)
    assert set(report["variants"]) == {"b", "c"}
    assert close(report["srm_p_value"], check_srm([1500, 1500, 1500], [1.0, 1.0, 1.0]))
    assert report["warnings"] == []
    for variant in ("b", "c"):
        metrics = report["variants"][variant]
        assert list(metrics) == ["revenue", "conversion", "revenue_per_session", "orders_cuped"]
        for metric, ours in metrics.items():
            case = Case(metric, summaries["control"][metric], summaries[variant][metric])
            for difference in ("absolute", "relative"):
                theirs = gb_frequentist(case, difference)
                assert close(ours[difference]["effect"], theirs.expected)
                assert close_all(ours[difference]["ci95"], list(theirs.ci))
                assert close(ours[difference]["p_value"], theirs.p_value)
            seq = SequentialTwoSidedTTest(to_gbstats(case.control), to_gbstats(case.variant))
            seq_result = seq.compute_result()
            assert close_all(ours["sequential"]["ci95"], list(seq_result.ci))
            assert close(ours["sequential"]["p_value"], seq_result.p_value)
            bayes = EffectBayesianABTest(to_gbstats(case.control), to_gbstats(case.variant))
            assert close(ours["chance_to_win"], bayes.compute_result().chance_to_win)
        for difference in ("absolute", "relative"):
            raw = [m[difference]["p_value"] for m in metrics.values()]
            adjusted = [m[difference]["p_value_holm"] for m in metrics.values()]
            assert adjusted == holm(raw)
            assert all(a >= r for a, r in zip(adjusted, raw, strict=True))


@pytest.mark.parametrize(
    ("units", "weights"),
    [
        ([1000, 1000], [0.5, 0.5]),
        ([1000, 1100], [0.5, 0.5]),
        ([10_000, 10_500], [0.5, 0.5]),
        ([5000, 2600, 2400], [0.5, 0.25, 0.25]),
        ([3300, 3350, 3000], [1, 1, 1]),
        ([500, 480, 30], [0.5, 0.5, 0.0]),
        ([0, 0], [0.5, 0.5]),
    ],
)
def test_srm_equals_gbstats_check_srm(units: list[int], weights: list[float]) -> None:
    assert close(srm_p_value(units, weights), check_srm(units, weights))


def test_srm_warning_below_threshold() -> None:
    summaries = {
        arm: {"m": summarise(np.random.default_rng(i).normal(5, 1, 50))}
        for i, arm in enumerate(("a", "b"))
    }
    weights = {"a": 0.5, "b": 0.5}
    passing = analyse(summaries, control="a", units={"a": 1000, "b": 1040}, weights=weights)
    failing = analyse(summaries, control="a", units={"a": 1000, "b": 1200}, weights=weights)
    assert passing["srm_p_value"] > 0.001 and passing["warnings"] == []
    assert close(failing["srm_p_value"], check_srm([1000, 1200], [0.5, 0.5]))
    assert failing["srm_p_value"] < 0.001
    assert "sample ratio mismatch" in failing["warnings"][0]


# --- textbook checks -----------------------------------------------------------------------


def test_welch_matches_scipy_on_raw_data() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(20, 5, 40), rng.normal(23, 9, 55)
    ours = compare(summarise(a), summarise(b))["absolute"]
    reference = stats.ttest_ind(b, a, equal_var=False)
    assert math.isclose(ours["p_value"], reference.pvalue, rel_tol=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert math.isclose(ours["ci95"][0], low, rel_tol=1e-9)
    assert math.isclose(ours["ci95"][1], high, rel_tol=1e-9)
    assert math.isclose(ours["effect"], b.mean() - a.mean(), rel_tol=1e-12)


def test_welch_matches_scipy_from_stats() -> None:
    # Control: n 120, mean 4.0, sd 1.5; variant: n 100, mean 4.5, sd 2.5.
    def from_moments(n: int, mean: float, sd: float) -> MetricSummary:
        total = n * mean
        return MetricSummary(n=n, sum=total, sum_squares=sd**2 * (n - 1) + total**2 / n)

    ours = compare(from_moments(120, 4.0, 1.5), from_moments(100, 4.5, 2.5))["absolute"]
    reference = stats.ttest_ind_from_stats(4.5, 2.5, 100, 4.0, 1.5, 120, equal_var=False)
    assert math.isclose(ours["p_value"], reference.pvalue, rel_tol=1e-9)
    assert math.isclose(ours["effect"], 0.5, rel_tol=1e-12)


def test_srm_matches_pearson_chi_square() -> None:
    # 1000 vs 1100 on a 50/50 split: expected 1050 each, X^2 = 2 * 50^2 / 1050.
    assert math.isclose(srm_p_value([1000, 1100], [1, 1]), stats.chi2.sf(5000 / 1050, 1))
    assert math.isclose(
        srm_p_value([1000, 1100], [1, 1]), stats.chisquare([1000, 1100]).pvalue, rel_tol=1e-12
    )


def test_holm_worked_example() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06.
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


def test_chance_to_win_is_the_normal_posterior() -> None:
    rng = np.random.default_rng(11)
    a, b = summarise(rng.normal(10, 2, 400)), summarise(rng.normal(10.2, 2, 400))
    result = compare(a, b, "absolute")
    effect = b.mean - a.mean
    var_a = (a.sum_squares - a.sum**2 / a.n) / (a.n - 1)
    var_b = (b.sum_squares - b.sum**2 / b.n) / (b.n - 1)
    stderr = math.sqrt(var_a / a.n + var_b / b.n)
    assert math.isclose(result["chance_to_win"], stats.norm.cdf(effect / stderr), rel_tol=1e-12)


# --- input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"n": -1, "sum": 0, "sum_squares": 0},
        {"n": 2.5, "sum": 0, "sum_squares": 0},
        {"n": 3, "sum": "x", "sum_squares": 0},
        {"n": 3, "sum": 1, "sum_squares": float("nan")},
        {"n": 3, "sum": 1},
        {"n": 3, "sum": 1, "sum_squares": 1, "denominator_sum": 2},
        {"n": 3, "sum": 1, "sum_squares": 1, "extra": 1},
        {
            "n": 3,
            "sum": 1,
            "sum_squares": 1,
            "denominator_sum": 2,
            "denominator_sum_squares": 2,
            "denominator_cross_sum": 1,
            "covariate_sum": 2,
            "covariate_sum_squares": 2,
            "covariate_cross_sum": 1,
        },
    ],
)
def test_bad_summaries_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MetricSummary.from_mapping(data)


def test_a_summary_reads_from_json_numbers() -> None:
    s = MetricSummary.from_mapping({"n": 4.0, "sum": 8, "sum_squares": 20})
    assert s.n == 4 and s.mean == 2.0


def test_mismatched_arms_and_missing_inputs_are_refused() -> None:
    plain = MetricSummary(n=3, sum=3.0, sum_squares=5.0)
    ratio = MetricSummary(
        n=3,
        sum=3.0,
        sum_squares=5.0,
        denominator_sum=3.0,
        denominator_sum_squares=3.0,
        denominator_cross_sum=3.0,
    )
    with pytest.raises(ValueError):
        compare(plain, ratio)
    with pytest.raises(ValueError):
        analyse({"a": {"m": plain}}, control="z", units={"a": 3}, weights={"a": 1})
    with pytest.raises(ValueError):
        analyse(
            {"a": {"m": plain}, "b": {}},
            control="a",
            units={"a": 3, "b": 3},
            weights={"a": 1, "b": 1},
        )
    with pytest.raises(ValueError):
        analyse(
            {"a": {"m": plain}, "b": {"m": plain}},
            control="a",
            units={"a": 3},
            weights={"a": 1, "b": 1},
        )
