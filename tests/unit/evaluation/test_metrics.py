"""Ranking metrics on cases computed by hand."""

from __future__ import annotations

import math

import pytest

from retailor.evaluation.metrics import (
    average_precision_at,
    coverage,
    hit_rate_at,
    mrr_at,
    ndcg_at,
    novelty,
    precision_at,
    recall_at,
    score_lists,
)  # fmt: skip

RANKED = ["a", "b", "c", "d", "e"]
RELEVANT = {"b", "d", "z"}


def test_precision_and_recall() -> None:
    assert precision_at(RANKED, RELEVANT, 5) == pytest.approx(2 / 5)
    assert precision_at(RANKED, RELEVANT, 2) == pytest.approx(1 / 2)
    assert recall_at(RANKED, RELEVANT, 5) == pytest.approx(2 / 3)
    assert recall_at(RANKED, RELEVANT, 1) == 0.0


def test_hit_rate_and_reciprocal_rank() -> None:
    assert hit_rate_at(RANKED, RELEVANT, 1) == 0.0
    assert hit_rate_at(RANKED, RELEVANT, 2) == 1.0
    assert mrr_at(RANKED, RELEVANT, 5) == pytest.approx(1 / 2)
    assert mrr_at(RANKED, {"e"}, 4) == 0.0


def test_average_precision() -> None:
    # hits at ranks 2 and 4: (1/2 + 2/4) / min(5, 3)
    assert average_precision_at(RANKED, RELEVANT, 5) == pytest.approx((0.5 + 0.5) / 3)
    assert average_precision_at(["b", "d"], {"b", "d"}, 10) == pytest.approx(1.0)


def test_ndcg() -> None:
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(RANKED, RELEVANT, 5) == pytest.approx(dcg / ideal)
    assert ndcg_at(["b", "d", "z"], RELEVANT, 3) == pytest.approx(1.0)
    assert ndcg_at(RANKED, set(), 5) == 0.0


def test_averages_count_customers_without_a_list_as_zero() -> None:
    scores = score_lists({"u1": ["b"]}, {"u1": {"b"}, "u2": {"x"}}, [1])
    assert scores["hr@1"] == pytest.approx(0.5)
    assert scores["ndcg@1"] == pytest.approx(0.5)


def test_coverage_and_novelty() -> None:
    lists = {"u1": ["a", "b"], "u2": ["a", "c"]}
    assert coverage(lists, 10, 2) == pytest.approx(0.3)
    assert coverage(lists, 10, 1) == pytest.approx(0.1)
    assert novelty({"u": ["a", "b"]}, {"a": 0.5, "b": 0.25}, 2) == pytest.approx((1 + 2) / 2)
