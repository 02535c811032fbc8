"""Off-policy estimators on a synthetic offer log whose true policy values are known exactly,
and on tiny logs computed by hand."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from retailor.evaluation.off_policy import (
    Estimate,
    LoggedChoice,
    RewardModel,
    always,
    direct,
    doubly_robust,
    evaluate,
    greedy,
    ips,
    snips,
    uniform_policy,
)

SEGMENTS = ("a", "b", "c")
SEGMENT_SHARE = np.array([0.5, 0.3, 0.2])
OFFERS = ("o1", "o2", "o3", "o4")
# Redemption probability per segment (rows) and offer (columns).
REDEEM = np.array(
    [
        [0.10, 0.30, 0.20, 0.05],
        [0.25, 0.15, 0.10, 0.40],
        [0.05, 0.20, 0.35, 0.15],
    ]
)
# Logging policy: depends on the segment, not uniform.
LOGGING = np.array(
    [
        [0.4, 0.3, 0.2, 0.1],
        [0.1, 0.2, 0.3, 0.4],
        [0.5, 0.2, 0.2, 0.1],
    ]
)
BEST = {"a": "o2", "b": "o4", "c": "o3"}
N_ROWS = 20_000
TOLERANCE = 0.02


def logging_policy(context: Mapping[str, str], actions: Sequence[str]) -> dict[str, float]:
    s = SEGMENTS.index(context["segment"])
    return {o: float(LOGGING[s, j]) for j, o in enumerate(OFFERS)}


def best_policy(context: Mapping[str, str], actions: Sequence[str]) -> dict[str, float]:
    return {BEST[context["segment"]]: 1.0}


def true_value(policy_offer: Mapping[str, str]) -> float:
    """Exact expected reward of a deterministic policy given as segment -> offer."""
    return float(
        sum(
            SEGMENT_SHARE[s] * REDEEM[s, OFFERS.index(policy_offer[seg])]
            for s, seg in enumerate(SEGMENTS)
        )
    )


TRUTH = {
    "always_o2": true_value(dict.fromkeys(SEGMENTS, "o2")),  # 0.235
    "best": true_value(BEST),  # 0.34
}
POLICIES = {"always_o2": always("o2"), "best": best_policy}


@pytest.fixture(scope="module")
def log() -> list[LoggedChoice]:
    rng = np.random.default_rng(20240611)
    seg = rng.choice(len(SEGMENTS), size=N_ROWS, p=SEGMENT_SHARE)
    channel = rng.choice(2, size=N_ROWS)  # irrelevant to the reward
    u = rng.random(N_ROWS)
    chosen = (u[:, None] > np.cumsum(LOGGING[seg], axis=1)).sum(axis=1)
    reward = rng.random(N_ROWS) < REDEEM[seg, chosen]
    return [
        LoggedChoice(
            context={"segment": SEGMENTS[s], "channel": ("web", "app")[c]},
            actions=OFFERS,
            chosen=OFFERS[a],
            propensity=float(LOGGING[s, a]),
            reward=float(r),
        )
        for s, c, a, r in zip(seg, channel, chosen, reward, strict=True)
    ]


@pytest.fixture(scope="module")
def results(log: list[LoggedChoice]) -> dict[str, dict[str, Estimate]]:
    return {name: evaluate(log, policy) for name, policy in POLICIES.items()}


def test_truths_are_what_the_tables_say() -> None:
    assert TRUTH["always_o2"] == pytest.approx(0.235)
    assert TRUTH["best"] == pytest.approx(0.34)


def test_evaluate_returns_every_estimator(results: dict[str, dict[str, Estimate]]) -> None:
    for estimates in results.values():
        assert set(estimates) == {"logged", "ips", "snips", "dm", "dr"}
        for name, est in estimates.items():
            assert est.estimator == name
            assert est.n == N_ROWS
            assert est.ci95[0] <= est.value <= est.ci95[1]


def test_logged_is_the_plain_mean_reward(
    log: list[LoggedChoice], results: dict[str, dict[str, Estimate]]
) -> None:
    logged = results["best"]["logged"]
    assert logged.value == pytest.approx(sum(row.reward for row in log) / len(log))
    assert logged.effective_sample_size == N_ROWS


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("estimator", ["ips", "snips", "dr"])
def test_estimators_recover_the_true_value(
    results: dict[str, dict[str, Estimate]], policy: str, estimator: str
) -> None:
    est = results[policy][estimator]
    truth = TRUTH[policy]
    assert abs(est.value - truth) < TOLERANCE
    assert est.ci95[0] <= truth <= est.ci95[1]


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_direct_method_is_close(results: dict[str, dict[str, Estimate]], policy: str) -> None:
    # Only the tolerance: the DM interval ignores the reward model's own error, so it is
    # too narrow to be expected to cover the truth.
    assert abs(results[policy]["dm"].value - TRUTH[policy]) < TOLERANCE


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_dr_interval_is_narrower_than_ips(
    results: dict[str, dict[str, Estimate]], policy: str
) -> None:
    dr, ipse = results[policy]["dr"], results[policy]["ips"]
    assert dr.ci95[1] - dr.ci95[0] < ipse.ci95[1] - ipse.ci95[0]


def test_effective_sample_size_shrinks_off_policy(
    results: dict[str, dict[str, Estimate]],
) -> None:
    ess = results["always_o2"]["ips"].effective_sample_size
    assert 0 < ess < N_ROWS / 2


def test_on_policy_ips_equals_logged_mean(log: list[LoggedChoice]) -> None:
    estimates = evaluate(log, logging_policy)
    assert estimates["ips"].value == pytest.approx(estimates["logged"].value, abs=1e-12)
    assert estimates["snips"].value == pytest.approx(estimates["logged"].value, abs=1e-12)
    assert estimates["ips"].effective_sample_size == pytest.approx(N_ROWS)
    assert estimates["dr"].effective_sample_size == pytest.approx(N_ROWS)


def test_greedy_finds_the_best_offer_per_segment(log: list[LoggedChoice]) -> None:
    policy = greedy(RewardModel().fit(log))
    for segment, best in BEST.items():
        for channel in ("web", "app"):
            assert policy({"segment": segment, "channel": channel}, OFFERS) == {best: 1.0}
    # An ineligible best falls back to the best eligible one.
    assert policy({"segment": "b", "channel": "web"}, ["o2", "o3"]) == {"o2": 1.0}


def test_public_functions_match_evaluate(log: list[LoggedChoice]) -> None:
    sample, target = log[:3000], POLICIES["always_o2"]
    expected = evaluate(sample, target)
    assert ips(sample, target) == expected["ips"]
    assert snips(sample, target) == expected["snips"]
    assert direct(sample, target) == expected["dm"]
    assert doubly_robust(sample, target) == expected["dr"]


def row(segment: str, chosen: str, propensity: float, reward: float) -> LoggedChoice:
    return LoggedChoice({"segment": segment}, ("x", "y"), chosen, propensity, reward)


TINY = [row("s", "x", 0.5, 1.0), row("s", "y", 0.5, 0.0), row("s", "x", 0.25, 1.0)]


def test_ips_snips_and_clip_by_hand() -> None:
    target = always("x")  # weights 2, 0, 4; rewards 1, 0, 1
    est = ips(TINY, target)
    assert est.value == pytest.approx(2.0)
    assert est.effective_sample_size == pytest.approx(36 / 20)
    terms = np.array([2.0, 0.0, 4.0])
    half = 1.959963984540054 * terms.std(ddof=1) / math.sqrt(3)
    assert est.ci95 == pytest.approx((2.0 - half, 2.0 + half))
    assert ips(TINY, target, clip=3.0).value == pytest.approx(5.0 / 3)
    assert snips(TINY, target).value == pytest.approx(1.0)
    assert snips(TINY, always("y")).value == pytest.approx(0.0)
    assert math.isnan(snips([row("s", "x", 0.5, 1.0)], always("y")).value)


def test_reward_model_shrinks_toward_action_then_global_mean() -> None:
    model = RewardModel(prior=1.0).fit(TINY)
    # global mean 2/3; action x: (2 + 2/3) / 3 = 8/9; cell (x, s): (2 + 8/9) / 3 = 26/27
    assert model.predict({"segment": "s"}, "x") == pytest.approx(26 / 27)
    assert model.predict({"segment": "new"}, "x") == pytest.approx(8 / 9)
    assert model.predict({"segment": "new"}, "z") == pytest.approx(2 / 3)
    with pytest.raises(RuntimeError):
        RewardModel().predict({}, "x")


def test_doubly_robust_by_hand() -> None:
    log = [row("s", "x", 0.5, 1.0), row("s", "y", 0.5, 0.0)]
    target = uniform_policy
    model = RewardModel(prior=0.0).fit(log)  # x -> 1, y -> 0
    # terms: 0.5 + 1 * (1 - 1) = 0.5 and 0.5 + 1 * (0 - 0) = 0.5
    assert doubly_robust(log, target, model).value == pytest.approx(0.5)
    assert direct(log, target, model).value == pytest.approx(0.5)
    # Cross-fitted, prior 5: row 0 is scored by the model fitted on row 1 alone (global 0,
    # everything predicts 0): 0 + 1 * (1 - 0) = 1; row 1 by the model on row 0 (all 1):
    # 1 + 1 * (0 - 1) = 0. The mean is 0.5 and equals IPS here.
    assert doubly_robust(log, target).value == pytest.approx(0.5)


def test_policies() -> None:
    assert uniform_policy({}, ["a", "b", "a", "c"]) == pytest.approx(
        {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}
    )
    assert always("b")({}, ["a", "b"]) == {"b": 1.0}
    assert always("z")({}, ["a", "b"]) == {"a": 0.5, "b": 0.5}


@pytest.mark.parametrize("propensity", [0.0, -0.1, 1.5, math.nan])
def test_bad_propensity_raises(propensity: float) -> None:
    with pytest.raises(ValueError, match="propensity"):
        evaluate([*TINY, row("s", "x", propensity, 1.0)], uniform_policy)


def test_empty_log_and_bad_target_raise() -> None:
    with pytest.raises(ValueError, match="empty"):
        evaluate([], uniform_policy)
    with pytest.raises(ValueError, match="sum to 1"):
        evaluate(TINY, lambda context, actions: {"x": 0.7})
    with pytest.raises(ValueError, match="not among"):
        evaluate([row("s", "z", 0.5, 1.0)], uniform_policy)
    with pytest.raises(ValueError, match="clip"):
        ips(TINY, uniform_policy, clip=0.0)
