"""The search placement: the query's matches, else the shopper's last search."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import AppHarness
from tests.e2e.test_decisions_api import decide, seed


def brands(got: dict[str, object]) -> set[str]:
    return {f"brand{int(i['item_id'][3:]) % 4}" for i in got["items"]}  # type: ignore[attr-defined, index]


def test_search_suggests_what_matches_the_query_then_the_last_search(app: AppHarness) -> None:
    seed(app)
    asked = decide(app, placement="search", anonymous_id="s1", context={"query": "Brand2"}, k=5)
    assert brands(asked) == {"brand2"}
    assert asked["items"][0]["reasons"][0] == "matches “Brand2”"
    other = decide(app, placement="search", anonymous_id="s1", context={"query": "brand3"}, k=5)
    assert brands(other) == {"brand3"}
    # no query in the request: the shopper's last search counts
    searched = {"event_id": "q1", "type": "products_searched", "anonymous_id": "s2",
                "timestamp": datetime.now(UTC).isoformat(), "properties": {"query": "brand1 things"}}  # fmt: skip
    assert app.client.post("/v1/events", json=searched, headers=app.ingest()).status_code == 200
    followed = decide(app, placement="search", anonymous_id="s2", k=3)
    assert brands(followed) == {"brand1"}
