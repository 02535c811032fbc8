"""Diversity limits hold over the whole candidate pool, slot quotas included."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import AppHarness
from tests.e2e.test_decisions_api import decide, items, seed, view


def categories(app: AppHarness, got: dict[str, Any]) -> list[str]:
    by_id = {i["item_id"]: i["category"][-1] for i in items()}
    return [by_id[i["item_id"]] for i in got["items"]]


@pytest.mark.parametrize("slots", [None, 3])
def test_at_most_one_per_category_even_when_the_top_is_one_category(
    app: AppHarness, slots: int | None
) -> None:
    seed(app)
    # the crowd piles onto cat0 items right now: the top of trending is all cat0
    hot = [
        view(f"hot{n}", {"anonymous_id": f"fan{n}"}, f"sku{3 * (n % 4)}", minutes_ago=0.5)
        for n in range(40)
    ]
    assert (
        app.client.post("/v1/events", json={"events": hot}, headers=app.admin()).status_code == 200
    )
    source: dict[str, Any] = {"source": "trending_now"}
    if slots:
        source["slots"] = slots
    placement = {"sources": [source], "k": 3, "diversity": {"max_per_category": 1}, "fallback": []}
    assert (
        app.client.put("/v1/placements/mix", json=placement, headers=app.admin()).status_code == 200
    )
    plain = decide(app, placement="mix", anonymous_id="someone", k=3)
    assert categories(app, plain)[0] == "cat0"
    assert sorted(categories(app, plain)) == ["cat0", "cat1", "cat2"]
    # with room for only one category per item there are three; a fourth repeats one
    wider = decide(app, placement="mix", anonymous_id="someone", k=4)
    assert len(set(categories(app, wider))) == 3 and len(wider["items"]) == 4
