"""What one variant's metric is reduced to, and the estimates drawn from it.

A `MetricSummary` holds the unit count and the sum and sum of squares of the metric over the
units; a ratio metric (e.g. revenue per session) adds its denominator's sum and sum of
squares and the sum of the per-unit products of numerator and denominator; a metric with a
pre-exposure covariate (the same metric measured before the unit entered the experiment)
adds the covariate's sum and sum of squares and the sum of per-unit products of metric and
covariate. A ratio metric with a covariate is not supported.

An `Estimate` is what the tests work on: the mean the effect is measured on, the plain mean
relative effects are scaled by, and the per-unit variance of the mean's numerator, so that
the variance of the mean is `variance / n`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RATIO_FIELDS = ("denominator_sum", "denominator_sum_squares", "denominator_cross_sum")
COVARIATE_FIELDS = ("covariate_sum", "covariate_sum_squares", "covariate_cross_sum")
SUM_FIELDS = ("sum", "sum_squares", *RATIO_FIELDS, *COVARIATE_FIELDS)


def sample_mean(n: int, total: float) -> float:
    """The mean of `n` values summing to `total`; 0 when there are none."""
    return total / n if n > 0 else 0.0


def sample_variance(n: int, total: float, total_squares: float) -> float:
    """The unbiased variance of `n` values from their sum and sum of squares; 0 below two."""
    if n <= 1:
        return 0.0
    return (total_squares - total * total / n) / (n - 1)


def sample_covariance(n: int, total_x: float, total_y: float, total_xy: float) -> float:
    """The unbiased covariance of `n` pairs from the sums and the sum of products."""
    if n <= 1:
        return 0.0
    return (total_xy - total_x * total_y / n) / (n - 1)


@dataclass(frozen=True)
class MetricSummary:
    """Summary statistics of one metric over the units of one variant.

    `denominator_*` are given together for a ratio metric, `covariate_*` together for a
    metric with a pre-exposure covariate (CUPED); `*_cross_sum` is the sum over units of the
    metric times the denominator (or covariate).
    """

    n: int
    sum: float
    sum_squares: float
    denominator_sum: float | None = None
    denominator_sum_squares: float | None = None
    denominator_cross_sum: float | None = None
    covariate_sum: float | None = None
    covariate_sum_squares: float | None = None
    covariate_cross_sum: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"n must be a non-negative integer, not {self.n!r}")
        for name in SUM_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, not {value!r}")
        for group, label in ((RATIO_FIELDS, "ratio"), (COVARIATE_FIELDS, "covariate")):
            given = [getattr(self, name) is not None for name in group]
            if any(given) and not all(given):
                raise ValueError(f"a {label} metric needs all of {', '.join(group)}")
        if self.is_ratio and self.has_covariate:
            raise ValueError("a ratio metric with a pre-exposure covariate is not supported")

    @property
    def is_ratio(self) -> bool:
        return self.denominator_sum is not None

    @property
    def has_covariate(self) -> bool:
        return self.covariate_sum is not None

    @property
    def mean(self) -> float:
        """The metric's mean per unit, or per denominator unit for a ratio metric."""
        if self.is_ratio:
            return plain_or_ratio(self).mean
        return sample_mean(self.n, self.sum)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MetricSummary:
        """Read a summary from a mapping such as parsed JSON; ValueError on bad input."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a metric summary must be an object, not {type(data).__name__}")
        known = {"n", *SUM_FIELDS}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fields in a metric summary: {', '.join(unknown)}")
        missing = [name for name in ("n", "sum", "sum_squares") if name not in data]
        if missing:
            raise ValueError(f"a metric summary needs {', '.join(missing)}")
        n = data["n"]
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        return cls(n=n, **{name: data[name] for name in SUM_FIELDS if name in data})


@dataclass(frozen=True)
class Estimate:
    """A variant's mean as the tests see it.

    `mean` is the figure effects are measured on (CUPED-adjusted where that applies),
    `unadjusted_mean` the plain figure relative effects are scaled by, and `variance` the
    per-unit variance, so that the mean's own variance is `variance / n`.
    """

    n: int
    mean: float
    unadjusted_mean: float
    variance: float

    @property
    def degenerate(self) -> bool:
        """No spread to test against (fewer than two units, or all values equal)."""
        return self.variance <= 0.0


def plain_or_ratio(summary: MetricSummary) -> Estimate:
    """The estimate of a plain metric, or of a ratio metric by the delta method."""
    n = summary.n
    if not summary.is_ratio:
        mean = sample_mean(n, summary.sum)
        return Estimate(n, mean, mean, sample_variance(n, summary.sum, summary.sum_squares))
    d_sum = float(summary.denominator_sum or 0.0)
    d_squares = float(summary.denominator_sum_squares or 0.0)
    cross = float(summary.denominator_cross_sum or 0.0)
    ratio = summary.sum / d_sum if d_sum != 0 else 0.0
    m_mean = sample_mean(n, summary.sum)
    d_mean = sample_mean(n, d_sum)
    if d_mean == 0 or n <= 1:
        variance = 0.0
    else:
        # Delta method: Var(M/D) per unit, from the variances of M and D and their covariance.
        m_var = sample_variance(n, summary.sum, summary.sum_squares)
        d_var = sample_variance(n, d_sum, d_squares)
        cov = sample_covariance(n, summary.sum, d_sum, cross)
        variance = m_var / d_mean**2 - 2 * cov * m_mean / d_mean**3 + m_mean**2 * d_var / d_mean**4
    return Estimate(n, ratio, ratio, variance)


def cuped_theta(control: MetricSummary, variant: MetricSummary) -> float:
    """The CUPED coefficient pooled over both arms: Cov(metric, covariate) / Var(covariate).

    0 when either the pooled metric or the pooled covariate has no variance, in which case
    no adjustment is made.
    """
    n = control.n + variant.n
    post = (control.sum + variant.sum, control.sum_squares + variant.sum_squares)
    pre = (
        float(control.covariate_sum or 0.0) + float(variant.covariate_sum or 0.0),
        float(control.covariate_sum_squares or 0.0) + float(variant.covariate_sum_squares or 0.0),
    )
    cross = float(control.covariate_cross_sum or 0.0) + float(variant.covariate_cross_sum or 0.0)
    pre_var = sample_variance(n, *pre)
    if pre_var == 0 or sample_variance(n, *post) == 0:
        return 0.0
    return sample_covariance(n, post[0], pre[0], cross) / pre_var


def cuped(summary: MetricSummary, theta: float) -> Estimate:
    """The CUPED estimate: the metric's mean less `theta` times the covariate's mean."""
    n = summary.n
    pre_sum = float(summary.covariate_sum or 0.0)
    pre_squares = float(summary.covariate_sum_squares or 0.0)
    cross = float(summary.covariate_cross_sum or 0.0)
    post_mean = sample_mean(n, summary.sum)
    mean = post_mean - theta * sample_mean(n, pre_sum)
    if n <= 1:
        variance = 0.0
    else:
        variance = (
            sample_variance(n, summary.sum, summary.sum_squares)
            + theta**2 * sample_variance(n, pre_sum, pre_squares)
            - 2 * theta * sample_covariance(n, summary.sum, pre_sum, cross)
        )
    return Estimate(n, mean, post_mean, variance)


def estimates(control: MetricSummary, variant: MetricSummary) -> tuple[Estimate, Estimate, float]:
    """The pair of estimates a comparison works on, and the CUPED coefficient used (0: none).

    CUPED applies when both arms carry the covariate and the pooled coefficient is non-zero.
    """
    if control.is_ratio != variant.is_ratio or control.has_covariate != variant.has_covariate:
        raise ValueError("the control and the variant summarise the metric differently")
    if control.has_covariate:
        theta = cuped_theta(control, variant)
        if theta != 0:
            return cuped(control, theta), cuped(variant, theta), theta
    return plain_or_ratio(control), plain_or_ratio(variant), 0.0
