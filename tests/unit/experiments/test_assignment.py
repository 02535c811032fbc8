"""Deterministic assignment: the same unit always gets the same variant, the variants
get their weights' shares of many units (within statistical bounds), a new phase
reshuffles, and the holdout keeps its share out."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from retailor.experiments.assignment import assign, bucket, choose, held_out

SPLIT = [("control", 0.5), ("b", 0.3), ("c", 0.2)]
N = 100_000


def within(count: int, share: float, n: int = N) -> bool:
    """``count`` of ``n`` is within 5 standard deviations of ``share``."""
    sd = math.sqrt(n * share * (1 - share))
    return abs(count - n * share) <= 5 * sd


def test_assignment_is_deterministic_and_spread_by_weight() -> None:
    units = [f"c{i}" for i in range(N)]
    first = [assign("exp", 1, SPLIT, u) for u in units]
    assert first[:1000] == [assign("exp", 1, SPLIT, u) for u in units[:1000]]
    counts = Counter(first)
    for variant, weight in SPLIT:
        assert within(counts[variant], weight), (variant, counts)


def test_a_new_phase_or_experiment_reshuffles() -> None:
    units = [f"a:v{i}" for i in range(10_000)]
    one = [assign("exp", 1, SPLIT, u) for u in units]
    two = [assign("exp", 2, SPLIT, u) for u in units]
    other = [assign("other", 1, SPLIT, u) for u in units]
    same = sum(a == b for a, b in zip(one, two, strict=True))
    # independent draws agree with probability 0.5² + 0.3² + 0.2² = 0.38
    assert within(same, 0.38, len(units))
    assert within(sum(a == b for a, b in zip(one, other, strict=True)), 0.38, len(units))


def test_bucket_and_choose() -> None:
    assert 0 <= bucket("exp", 1, "u") < 1
    assert bucket("exp", 1, "u") == bucket("exp", 1, "u") != bucket("exp", 1, "v")
    assert choose(SPLIT, 0.0) == "control" and choose(SPLIT, 0.49) == "control"
    assert choose(SPLIT, 0.5) == "b" and choose(SPLIT, 0.81) == "c"
    assert choose([("a", 0.5), ("b", 0.5 - 1e-12)], 0.9999999999999) == "b"  # rounding: the last
    assert choose([("a", 0.0), ("b", 1.0)], 0.0) == "b"  # a weight of 0 gets no one


@pytest.mark.parametrize("share", [0.0, 0.05, 0.5])
def test_the_holdout_keeps_its_share(share: float) -> None:
    held = sum(held_out(share, 1, f"c{i}") for i in range(N))
    if share == 0:
        assert held == 0
    else:
        assert within(held, share)


def test_a_larger_holdout_keeps_everyone_held_out_before() -> None:
    small = {i for i in range(20_000) if held_out(0.05, 1, f"c{i}")}
    large = {i for i in range(20_000) if held_out(0.2, 1, f"c{i}")}
    assert small and small <= large
