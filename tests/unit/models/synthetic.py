"""A small seeded shop for model tests: customers with hidden category tastes who browse
in sessions, add to cart and buy in baskets, some of them again and again."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from retailor.models.interactions import Interactions, ItemAttributes

DAY = 86_400.0
START = 1_700_000_000.0
CATEGORIES = ("garden", "kitchen", "toys", "books")


def attributes(items: int = 48) -> dict[str, ItemAttributes]:
    out = {}
    for i in range(items):
        category = CATEGORIES[i % len(CATEGORIES)]
        out[f"sku{i}"] = ItemAttributes(
            category=("home", category), brand=f"brand{i % 5}", price=float(5 + i % 7 * 4),
            name=f"{category} item number {i} {'deluxe' if i % 3 == 0 else 'basic'}",
        )  # fmt: skip
    return out


def shop(seed: int = 7, customers: int = 80, days: int = 60, items: int = 48) -> Interactions:
    rng = np.random.default_rng(seed)
    rows: dict[str, list[object]] = {k: [] for k in ("user_id", "item_id", "kind", "timestamp", "session_id", "basket_id", "quantity", "store_id")}  # fmt: skip
    by_category = {
        c: [i for i in range(items) if CATEGORIES[i % len(CATEGORIES)] == c] for c in CATEGORIES
    }
    for c in range(customers):
        likes = rng.choice(CATEGORIES, size=2, replace=False)
        favourites = rng.choice(by_category[likes[0]], size=2, replace=False)
        for s in range(int(rng.integers(2, 8))):
            t = START + float(rng.uniform(0, days)) * DAY
            session = f"s{c}-{s}"
            pool = by_category[likes[int(rng.random() < 0.3)]]
            viewed = list(rng.choice(pool, size=int(rng.integers(2, 6)), replace=False))
            for n, item in enumerate(viewed):
                _row(rows, c, item, "view", t + n * 60, session, None, 1.0, s)
            if rng.random() < 0.6:
                basket = [viewed[0], int(rng.choice(favourites))]
                for n, item in enumerate(dict.fromkeys(basket)):
                    _row(rows, c, item, "cart", t + 600 + n, session, None, 1.0, s)
                    _row(
                        rows,
                        c,
                        item,
                        "purchase",
                        t + 900 + n,
                        session,
                        f"o{c}-{s}",
                        float(1 + n),
                        s,
                    )
    table = pa.table(
        {
            **{
                k: pa.array(v, pa.string())
                for k, v in rows.items()
                if k not in ("timestamp", "quantity")
            },
            "timestamp": pa.array(rows["timestamp"], pa.float64()),
            "quantity": pa.array(rows["quantity"], pa.float64()),
        }
    )
    return Interactions.from_arrow(table, attributes(items))


def _row(rows: dict[str, list[object]], c: int, item: int, kind: str, t: float, session: str,
         basket: str | None, quantity: float, s: int) -> None:  # fmt: skip
    rows["user_id"].append(f"cust{c}")
    rows["item_id"].append(f"sku{item}")
    rows["kind"].append(kind)
    rows["timestamp"].append(t)
    rows["session_id"].append(session)
    rows["basket_id"].append(basket)
    rows["quantity"].append(quantity)
    rows["store_id"].append(f"store{s % 2}")


def one_event(user: str, item: str, kind: str, t: float, session: str = "live") -> Interactions:
    table = pa.table(
        {
            "user_id": [user], "item_id": [item], "kind": [kind], "timestamp": [t],
            "session_id": [session], "basket_id": ["o-live" if kind == "purchase" else None],
        }
    )  # fmt: skip
    return Interactions.from_arrow(table)
