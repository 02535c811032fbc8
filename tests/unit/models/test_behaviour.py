"""What particular families must do beyond the contract."""

from __future__ import annotations

import pyarrow as pa

from retailor.models.base import Context
from retailor.models.families import create
from retailor.models.interactions import DAY, Interactions, ItemAttributes
from tests.unit.models.synthetic import shop


def orders(rows: list[tuple[str, str, str, float]]) -> Interactions:
    user, basket, item, ts = zip(*rows, strict=True)
    return Interactions.from_arrow(
        pa.table({"user_id": user, "basket_id": basket, "item_id": item, "timestamp": ts, "kind": ["purchase"] * len(rows)})
    )  # fmt: skip


def test_frequently_bought_together_follows_baskets() -> None:
    rows = []
    for n in range(20):
        rows += [(f"c{n}", f"o{n}", "tent", n * DAY), (f"c{n}", f"o{n}", "pegs", n * DAY)]
        rows += [(f"d{n}", f"p{n}", "mug", n * DAY), (f"d{n}", f"p{n}", "tea", n * DAY)]
    model = create("fbt").fit(orders(rows))
    assert model.recommend(None, Context(items=("tent",)), 1)[0].item_id == "pegs"
    assert model.recommend(None, Context(items=("tea",)), 1)[0].item_id == "mug"


def test_buy_again_prefers_items_that_are_due() -> None:
    rows = []
    for n in range(6):  # milk every 7 days, last 7 days ago: due; soap every 60 days, just bought
        rows.append(("me", f"m{n}", "milk", (n * 7) * DAY))
    rows += [
        ("me", "s0", "soap", 0.0),
        ("me", "s1", "soap", 35 * DAY),
        ("me", "s2", "soap", 40 * DAY),
    ]
    rows += [(f"x{n}", f"x{n}", "milk", n * DAY) for n in range(3)]
    model = create("buy_again").fit(orders(rows))
    ranked = [s.item_id for s in model.recommend("me", Context(now=42 * DAY), 2)]
    assert ranked[0] == "milk"


def test_content_recommends_a_new_catalog_item_to_customers_of_its_kind() -> None:
    data = shop()
    model = create("content").fit(data)
    favourite = data.attributes["sku0"]
    newcomer = ItemAttributes(category=favourite.category, brand=favourite.brand,
                              price=favourite.price, name=favourite.name)  # fmt: skip
    model.add_items({"new-arrival": newcomer})
    buyers = {
        str(data.user_ids[u])
        for u, i in zip(data.user, data.item, strict=True)
        if data.item_ids[i] == "sku0"
    }
    for buyer in sorted(buyers):
        ranked = [s.item_id for s in model.recommend(buyer, Context(), 100)]
        # described exactly like its twin, it ranks right beside it for everyone
        assert ranked.index("new-arrival") == ranked.index("sku0") + 1
    top = [s.item_id for s in model.recommend(None, Context(items=("sku0",)), 2, exclude={"sku0"})]
    assert top[0] == "new-arrival"


def test_session_knn_follows_the_live_session() -> None:
    rows = []
    for n in range(30):
        rows += [
            (f"s{n}", "a", n * 100.0),
            (f"s{n}", "b", n * 100.0 + 1),
            (f"s{n}", "c", n * 100.0 + 2),
        ]
        rows += [(f"t{n}", "x", n * 100.0), (f"t{n}", "y", n * 100.0 + 1)]
    session, item, ts = zip(*rows, strict=True)
    data = Interactions.from_arrow(pa.table({"session_id": session, "item_id": item, "timestamp": ts, "kind": ["view"] * len(rows)}))  # fmt: skip
    model = create("session_knn").fit(data)
    assert {s.item_id for s in model.recommend(None, Context(session_items=("a",)), 2, {"a"})} == {
        "b",
        "c",
    }
    assert model.recommend(None, Context(session_items=("x",)), 1, {"x"})[0].item_id == "y"


def test_popularity_by_store_and_category() -> None:
    data = shop()
    model = create("popularity").fit(data)
    in_garden = model.recommend(None, Context(category="garden"), 5)
    assert in_garden and all("garden" in data.attributes[s.item_id].category for s in in_garden)
    assert model.recommend(None, Context(store_id="store1"), 3)
