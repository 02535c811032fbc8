"""The simulated retailer: drawn reproducibly from its seed, with sane hidden parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from retailor.simulator.report import estimate
from retailor.simulator.world import OFFERS, SCALES, create_world

END = datetime(2026, 6, 1, tzinfo=UTC)


def test_same_seed_same_world_other_seed_other_world() -> None:
    a = create_world(SCALES["tiny"], seed=3, end=END)
    b = create_world(SCALES["tiny"], seed=3, end=END)
    c = create_world(SCALES["tiny"], seed=4, end=END)
    assert a.catalog.item_ids == b.catalog.item_ids
    np.testing.assert_array_equal(a.catalog.price, b.catalog.price)
    np.testing.assert_array_equal(a.customers.taste, b.customers.taste)
    np.testing.assert_array_equal(a.utility(5), b.utility(5))
    assert not np.array_equal(a.catalog.price, c.catalog.price)
    assert not np.array_equal(a.customers.taste, c.customers.taste)


def test_hidden_parameters_are_sane() -> None:
    world = create_world(SCALES["small"], seed=1, end=END)
    cat, people = world.catalog, world.customers
    assert (cat.price > 0).all() and (cat.cost < cat.price).all() and (cat.cost > 0).all()
    assert (cat.launch_day > 0).any(), "some items arrive during the run"
    np.testing.assert_allclose(people.taste.sum(axis=1), 1.0)
    # tastes are concentrated: most shoppers put most of their taste on a few categories
    top3 = np.sort(people.taste, axis=1)[:, -3:].sum(axis=1)
    assert np.median(top3) > 0.6
    assert set(np.unique(people.tier)) == {0, 1, 2}
    assert (people.arrival_day > 0).any(), "new customers arrive during the run"
    assert world.start < END and (END - world.start).days == SCALES["small"].total_days
    for person in range(20):
        response = world.offer_response(person, "web")
        assert response.shape == (len(OFFERS),) and ((response > 0) & (response < 1)).all()


def test_the_best_offer_depends_on_who_is_asking() -> None:
    world = create_world(SCALES["small"], seed=1, end=END)
    best = {
        int(np.argmax(world.offer_response(p, ch))) for p in range(300) for ch in ("web", "app")
    }
    assert len(best) >= 3, "one offer for everyone would leave a contextual bandit nothing to learn"


def test_offer_costs() -> None:
    by_id = {o.offer_id: o for o in OFFERS}
    assert by_id["pct-10"].cost(80.0) == 8.0
    assert by_id["five-off"].cost(3.0) == 3.0
    assert by_id["free-shipping"].cost(10.0) == 4.95


def test_estimate_brackets_the_mean() -> None:
    rng = np.random.default_rng(0)
    revenue = rng.exponential(50, 400)
    figure = estimate(revenue, np.ones(400), rng)
    low, high = figure["ci95"]
    assert low < figure["mean"] < high
    assert figure["mean"] == pytest.approx(revenue.mean(), rel=1e-3)
    assert estimate(np.zeros(0), np.zeros(0), rng) == {"mean": 0.0, "ci95": [0.0, 0.0]}
