"""Make the demo's sample files from the UCI Online Retail history (run by hand, once).

The demo ships a small slice of a real retailer's history: the first 20,000 order lines
of the Online Retail data set, and a catalog derived from them (name, a category from
keywords of the name, the most common unit price).

    python scripts/make_demo_sample.py ../shared/datasets/online-retail/online_retail.csv.gz
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

OUT = Path(__file__).resolve().parent.parent / "src" / "retailor" / "demo" / "data"
ROWS = 20_000
CATEGORIES = [
    ("Home > Lighting", ["LIGHT", "LANTERN", "CANDLE", "LAMP"]),
    ("Home > Kitchen", ["MUG", "CUP", "PLATE", "BOWL", "TEA", "CAKE", "JAR", "LUNCH", "SPOON"]),
    (
        "Home > Decor",
        ["HEART", "FRAME", "SIGN", "CLOCK", "MIRROR", "VINTAGE", "DOORMAT", "CUSHION"],
    ),
    ("Bags", ["BAG", "TOTE", "PURSE"]),
    ("Stationery", ["CARD", "PEN", "PENCIL", "NOTEBOOK", "WRAP", "PAPER", "STICKER"]),
    ("Seasonal > Christmas", ["CHRISTMAS", "XMAS", "SANTA", "ADVENT", "TREE"]),
    ("Toys & Games", ["TOY", "GAME", "DOLL", "SPACEBOY", "PLAY"]),
    ("Garden", ["GARDEN", "PLANT", "FLOWER", "BIRD"]),
]


def main(source: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE lines AS SELECT * FROM read_csv('{source}', all_varchar=true) LIMIT {ROWS}"
    )
    con.execute(f"COPY lines TO '{OUT / 'transactions.csv.gz'}' (HEADER, COMPRESSION gzip)")
    case = " ".join(
        "WHEN "
        + " OR ".join(f"any_value(Description) LIKE '%{w}%'" for w in words)
        + f" THEN '{cat}'"
        for cat, words in CATEGORIES
    )
    con.execute(
        f"""
        COPY (
            SELECT StockCode AS item_id, any_value(Description) AS name,
                   CASE {case} ELSE 'Gifts' END AS category,
                   mode(TRY_CAST(UnitPrice AS DOUBLE)) AS price,
                   round(mode(TRY_CAST(UnitPrice AS DOUBLE)) * 0.55, 2) AS cost,
                   100 AS stock
            FROM lines WHERE Description IS NOT NULL AND TRY_CAST(UnitPrice AS DOUBLE) > 0
            GROUP BY StockCode ORDER BY StockCode
        ) TO '{OUT / "catalog.csv"}' (HEADER)
        """
    )
    print("wrote", *sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main(sys.argv[1])
