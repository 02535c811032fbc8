"""Every model Retailor knows, found automatically, held to the family contract."""

from __future__ import annotations

import numpy as np
import pytest

from retailor.evaluation.peers import PEERS, peer
from retailor.models.base import Context, Recommender, Scored
from retailor.models.families import DEFAULT_MODELS, create, known_models, load
from retailor.models.interactions import DAY
from tests.unit.models.synthetic import shop

DATA = shop()
MODELS = known_models()
SHOPPER = "cust3"


def fitted(name: str, seed: int = 0) -> Recommender:
    return create(name, seed=seed).fit(DATA)


def answers(model: Recommender) -> list[list[Scored]]:
    contexts = [
        (SHOPPER, Context()),
        (None, Context(session_items=("sku1", "sku5"))),
        (None, Context(items=("sku2",))),
        ("cust11", Context(items=("sku4",), store_id="store1")),
    ]
    return [model.recommend(who, ctx, 8) for who, ctx in contexts]


def test_every_default_model_is_known() -> None:
    assert set(DEFAULT_MODELS) <= set(MODELS)
    assert {"popularity", "trending", "item_item", "als", "bpr", "session_knn", "fbt",
            "buy_again", "content", "blend"} <= set(MODELS)  # fmt: skip


@pytest.fixture(scope="module", params=MODELS)
def model(request: pytest.FixtureRequest) -> Recommender:
    return fitted(request.param)


def test_fit_returns_a_fitted_model_with_answers(model: Recommender) -> None:
    assert model.fitted
    lists = answers(model)
    assert any(lists), f"{model.config} answered nothing in any context"
    for answer in lists:
        assert len(answer) <= 8
        scores = [s.score for s in answer]
        assert scores == sorted(scores, reverse=True)
        assert len({s.item_id for s in answer}) == len(answer), "an item twice in one answer"
        assert all(np.isfinite(s.score) for s in answer)


def test_excluded_items_are_never_returned(model: Recommender) -> None:
    everything = model.recommend(SHOPPER, Context(session_items=("sku1",)), 40)
    banned = {s.item_id for s in everything[::2]} | {"sku1"}
    again = model.recommend(SHOPPER, Context(session_items=("sku1",)), 40, exclude=banned)
    assert not banned & {s.item_id for s in again}
    similar = model.similar_items(["sku1", "sku2"], 10, exclude={"sku9"})
    assert not {"sku1", "sku2", "sku9"} & {s.item_id for s in similar}


def test_unknown_customers_and_items_are_answered_not_raised(model: Recommender) -> None:
    for who, ctx in [
        ("nobody-ever", Context()),
        ("nobody-ever", Context(session_items=("no-such-item",), items=("nor-this",))),
        (None, Context(store_id="no-store", category="no-category")),
    ]:
        answer = model.recommend(who, ctx, 5)
        assert isinstance(answer, list)
    assert isinstance(model.similar_items(["no-such-item"], 5), list)


def test_save_and_load_round_trip(model: Recommender) -> None:
    blob = model.save()
    assert isinstance(blob, bytes)
    again = load(model.config, blob)
    assert again.config == model.config
    assert answers(again) == answers(model)


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_same_model(name: str) -> None:
    assert answers(fitted(name, seed=3)) == answers(fitted(name, seed=3))


@pytest.mark.parametrize("name", [n for n in MODELS if create(n).incremental])
def test_incremental_models_take_new_items_from_the_stream(name: str) -> None:
    from tests.unit.models.synthetic import one_event

    model = fitted(name)
    now = DATA.now + DAY
    for n in range(6):
        model.update(one_event(f"cust{n}", "brand-new", "view", now + n, session=f"new{n}"))
    model.update(one_event(SHOPPER, "brand-new", "purchase", now + 10))
    answer = model.recommend(SHOPPER, Context(now=now + 20), 50)
    assert isinstance(answer, list)
    if name in ("popularity", "trending", "buy_again"):
        assert "brand-new" in {s.item_id for s in answer}, f"{name} did not pick up the new item"


def test_trending_ranks_a_new_item_first_after_a_burst() -> None:
    from tests.unit.models.synthetic import one_event

    model = fitted("trending")
    now = DATA.now + 0.5 * DAY
    for n in range(30):
        model.update(one_event(f"cust{n}", "sudden-hit", "view", now + n))
    assert model.recommend(None, Context(now=now + 60), 1)[0].item_id == "sudden-hit"


@pytest.mark.parametrize("name", list(PEERS))
def test_peers_answer_like_models(name: str) -> None:
    model = peer(name).fit(DATA)
    assert model.recommend(SHOPPER, Context(), 5)
    assert isinstance(model.recommend("nobody", Context(), 5), list)
    again = type(model).load(model.save())
    assert answers(again) == answers(model)
