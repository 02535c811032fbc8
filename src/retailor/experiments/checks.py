"""Checks across a whole experiment: sample ratio mismatch and Holm's adjustment.

`srm_p_value` tests the units each variant received against the configured traffic weights
with Pearson's chi-square (degrees of freedom: variants less one; a variant weighted zero or
less adds no term). `holm` adjusts a family of p-values (one variant's metrics) for multiple
comparisons by Holm's step-down method, which controls the family-wise error rate.
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy import stats

SRM_THRESHOLD = 0.001  # below this p-value the traffic split is taken to be broken


def srm_p_value(units: Sequence[int], weights: Sequence[float]) -> float:
    """Chi-square p-value of the observed units per variant against the expected split."""
    if len(units) != len(weights):
        raise ValueError("one weight per variant is needed")
    if len(units) < 2:
        raise ValueError("a sample ratio check needs at least two variants")
    if any(u < 0 for u in units) or any(w < 0 for w in weights):
        raise ValueError("units and weights must not be negative")
    observed_total = sum(units)
    if observed_total == 0:
        return 1.0
    weight_total = sum(weights)
    if weight_total <= 0:
        raise ValueError("the weights must not all be zero")
    statistic = 0.0
    for observed, weight in zip(units, weights, strict=True):
        if weight <= 0:
            continue
        expected = weight / weight_total * observed_total
        statistic += (observed - expected) ** 2 / expected
    return float(stats.chi2.sf(statistic, len(units) - 1))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (from 0) of m is multiplied by m - i, capped at 1,
    and made non-decreasing along the order.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
