"""Inference on one variant against the control, from the two arms' estimates.

The effect is either absolute (variant mean less control mean) or relative (that difference
over the control's plain mean), with its variance: the sum of the arms' variances of the mean
for the absolute effect, and by the delta method for the relative one. On that:

- `welch`: the two-sided Welch t-test, degrees of freedom by Welch-Satterthwaite;
- `sequential`: an always-valid interval and p-value (the normal-mixture confidence sequence
  of Waudby-Smith et al., "Time-uniform central limit theory and asymptotic confidence
  sequences", eq. 9 and eq. 155), safe to look at as often as one likes;
- `chance_to_win`: the posterior probability that the variant beats the control under a flat
  (improper) prior on the effect, i.e. a normal posterior centred on the observed effect.

When there is nothing to test (the control's mean is zero, or either arm has no variance)
each returns a neutral answer: effect 0, interval [0, 0], p-value 1, chance to win 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from retailor.experiments.summary import Estimate

ALPHA = 0.05
SEQUENTIAL_TUNING = 5000.0  # the sample size the sequential interval is tightest around


@dataclass(frozen=True)
class Effect:
    """An effect with its two-sided interval and p-value."""

    effect: float
    ci95: tuple[float, float]
    p_value: float

    def as_dict(self) -> dict[str, object]:
        return {"effect": self.effect, "ci95": list(self.ci95), "p_value": self.p_value}


NEUTRAL = Effect(0.0, (0.0, 0.0), 1.0)


def testable(control: Estimate, variant: Estimate) -> bool:
    """Whether a frequentist comparison is defined: a non-zero control, spread in both arms."""
    if control.mean == 0 or control.unadjusted_mean == 0:
        return False
    return not (control.degenerate or variant.degenerate)


def difference(control: Estimate, variant: Estimate, relative: bool) -> tuple[float, float]:
    """The effect and its variance."""
    diff = variant.mean - control.mean
    if not relative:
        return diff, variant.variance / variant.n + control.variance / control.n
    base = control.unadjusted_mean
    effect = diff / base
    variance = variant.variance / (base**2 * variant.n) + (
        control.variance * variant.unadjusted_mean**2 / (base**4 * control.n)
    )
    return effect, variance


def welch_dof(control: Estimate, variant: Estimate) -> float:
    """Welch-Satterthwaite degrees of freedom of the difference of the two means."""
    share_a = control.variance / control.n
    share_b = variant.variance / variant.n
    return (share_a + share_b) ** 2 / (share_a**2 / (control.n - 1) + share_b**2 / (variant.n - 1))


def welch(control: Estimate, variant: Estimate, relative: bool, alpha: float = ALPHA) -> Effect:
    """Two-sided Welch t-test of the effect against zero, with its 1 - alpha interval."""
    if not testable(control, variant):
        return NEUTRAL
    effect, variance = difference(control, variant, relative)
    stderr = math.sqrt(variance)
    dof = welch_dof(control, variant)
    p_value = 2 * float(stats.t.sf(abs(effect / stderr), dof))
    half = float(stats.t.ppf(1 - alpha / 2, dof)) * stderr
    return Effect(effect, (effect - half, effect + half), p_value)


def mixture_rho(alpha: float, tuning: float) -> float:
    """The mixing spread that makes the sequence tightest near `tuning` units (eq. 161)."""
    log_alpha = math.log(alpha)
    return math.sqrt((-2 * log_alpha + math.log(1 - 2 * log_alpha)) / tuning)


def sequential(
    control: Estimate,
    variant: Estimate,
    relative: bool,
    alpha: float = ALPHA,
    tuning: float = SEQUENTIAL_TUNING,
) -> Effect:
    """Always-valid interval and p-value of the effect, for looking at any time."""
    if not testable(control, variant):
        return NEUTRAL
    effect, variance = difference(control, variant, relative)
    total = control.n + variant.n
    rho2 = mixture_rho(alpha, tuning) ** 2
    spread = total * rho2 + 1
    unit_variance = variance * total
    half = math.sqrt(unit_variance) * math.sqrt(
        2 * spread * math.log(math.sqrt(spread) / alpha) / (total**2 * rho2)
    )
    # The mixture's e-value of "no effect"; its inverse, capped at 1, is the p-value.
    z2 = effect**2 * total / variance
    log_e = rho2 * z2 / (2 * spread) - 0.5 * math.log(spread)
    p_value = 1.0 if log_e <= 0 else math.exp(-log_e)
    return Effect(effect, (effect - half, effect + half), p_value)


def chance_to_win(control: Estimate, variant: Estimate, relative: bool) -> float:
    """Posterior probability that the variant's mean exceeds the control's (flat prior)."""
    if relative and (control.mean == 0 or control.unadjusted_mean == 0):
        return 0.5
    if control.n == 0 or variant.n == 0 or control.degenerate or variant.degenerate:
        return 0.5
    effect, variance = difference(control, variant, relative)
    return float(stats.norm.cdf(effect / math.sqrt(variance)))
