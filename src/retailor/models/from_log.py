"""Training data from the event log: product views, cart adds and order lines, each
attributed to the canonical customer, with item attributes from the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import duckdb
import numpy as np
import pyarrow as pa

from retailor.domain.catalog import CatalogItem
from retailor.models.interactions import Interactions, ItemAttributes

_LINES = "STRUCT(item_id VARCHAR, quantity DOUBLE, price DOUBLE)[]"

_QUERY = f"""
SELECT coalesce(customer_id, anonymous_id) AS who, session_id, store_id, "timestamp",
       CASE type WHEN 'product_viewed' THEN 'view' ELSE 'cart' END AS kind,
       json_extract_string(properties, '$.item_id') AS item_id, NULL::VARCHAR AS basket_id,
       coalesce(TRY_CAST(json_extract(properties, '$.quantity') AS DOUBLE), 1.0) AS quantity
FROM events WHERE type IN ('product_viewed', 'product_added')
UNION ALL
SELECT who, session_id, store_id, "timestamp", 'purchase', line.item_id, basket_id,
       coalesce(line.quantity, 1.0)
FROM (
    SELECT coalesce(customer_id, anonymous_id) AS who, session_id, store_id, "timestamp",
           json_extract_string(properties, '$.order_id') AS basket_id,
           unnest(TRY_CAST(json_extract(properties, '$.lines') AS {_LINES})) AS line
    FROM events WHERE type = 'order_completed'
)
"""


def interactions_from_batches(
    batches: Iterable[pa.RecordBatch],
    resolve: Callable[[str], str | None] | None = None,
    catalog: Iterable[CatalogItem] = (),
) -> Interactions:
    """Interactions of the stored events in ``batches`` (``EVENT_SCHEMA``); ``resolve``
    maps a customer or anonymous id to its canonical customer."""
    parts = []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for batch in batches:
            con.register("events", pa.Table.from_batches([batch]))
            parts.append(con.sql(_QUERY).to_arrow_table())
            con.unregister("events")
    finally:
        con.close()
    table = pa.concat_tables(parts) if parts else _empty()
    table = table.filter(pa.compute.is_valid(table.column("item_id")))
    who = table.column("who").to_pylist()
    if resolve is not None:
        cache: dict[str, str | None] = {}
        users: list[str | None] = []
        for w in who:
            if w is None:
                users.append(None)
                continue
            if w not in cache:
                cache[w] = resolve(w) or w
            users.append(cache[w])
    else:
        users = who
    table = table.append_column("user_id", pa.array(users, pa.string()))
    return Interactions.from_arrow(table, attributes_of(catalog))


def attributes_of(items: Iterable[CatalogItem]) -> dict[str, ItemAttributes]:
    return {
        item.item_id: ItemAttributes(
            category=tuple(item.category), brand=item.brand, price=item.price, name=item.name
        )
        for item in items
    }


def _empty() -> pa.Table:
    return pa.table(
        {
            "who": pa.array([], pa.string()),
            "session_id": pa.array([], pa.string()),
            "store_id": pa.array([], pa.string()),
            "timestamp": pa.array(
                np.array([], dtype="datetime64[us]"), pa.timestamp("us", tz="UTC")
            ),
            "kind": pa.array([], pa.string()),
            "item_id": pa.array([], pa.string()),
            "basket_id": pa.array([], pa.string()),
            "quantity": pa.array([], pa.float64()),
        }
    )
