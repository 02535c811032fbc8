"""Reading an interaction history file (CSV, TSV, JSONL, Parquet) for offline evaluation.

Columns are found by name or a common alias, so the Online Retail file
(``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID``)
and session files such as YOOCHOOSE (``SessionId, ItemId, Time``) need no mapping. Rows
with a negative quantity or a cancelled invoice (``C…``) are returns and are dropped.
Without an event-type column, rows are purchases when the file has orders or quantities,
else views.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from retailor.ingest.bulk.source import (
    ImportInputError,
    detect_format,
    quote,
    read_source,
    resolve_columns,
)
from retailor.ingest.bulk.transactions import ID_MACRO, TIMESTAMP_FORMATS
from retailor.models.interactions import Interactions, ItemAttributes

WANTED: dict[str, tuple[str, ...]] = {
    "user_id": ("customer_id", "customerid", "userid", "user", "visitorid", "visitor_id", "client_id", "member_id"),
    "item_id": ("stockcode", "stock_code", "itemid", "item", "product_id", "productid", "sku", "article_id"),
    "timestamp": ("time", "invoicedate", "invoice_date", "ts", "datetime", "date", "eventdate", "created_at", "order_date"),
    "kind": ("event", "event_type", "type", "action", "behavior", "behaviour"),
    "session_id": ("sessionid", "session"),
    "basket_id": ("order_id", "invoiceno", "invoice_no", "invoice", "orderid", "transaction_id", "transactionid"),
    "quantity": ("qty", "units"),
    "price": ("unitprice", "unit_price"),
    "name": ("description", "title", "product_name"),
    "category": ("category_path", "categories"),
    "brand": ("brand_name",),
    "store_id": ("store", "shop_id"),
}  # fmt: skip

_KINDS = """CASE
    WHEN k IS NULL THEN {default}
    WHEN k IN ('view', 'views', 'click', 'clicks', 'product_viewed', 'pageview', 'page_view', 'pv', 'detail') THEN 'view'
    WHEN k IN ('cart', 'addtocart', 'add_to_cart', 'product_added', 'basket', 'added_to_cart') THEN 'cart'
    WHEN k IN ('purchase', 'buy', 'transaction', 'order', 'order_completed', 'sale', 'bought') THEN 'purchase'
    ELSE NULL END"""


def read_interactions(
    path: Path, catalog: Path | None = None, mapping: dict[str, str] | None = None
) -> Interactions:
    """The interactions of ``path`` (see the module docstring), with item attributes from
    the file's own name/category/price columns and from ``catalog`` when given; columns
    renamed by ``mapping`` (target=source) first."""
    source = read_source(
        path, detect_format(path, None), mapping or {}, all_strings=False,
        source_name=f"evaluate:{path.name}", received_at=datetime.now(UTC),
    )  # fmt: skip
    cols = resolve_columns(source.columns, WANTED, ("item_id", "timestamp"), "interactions")
    if "user_id" not in cols and "session_id" not in cols:
        raise ImportInputError(
            f"{path.name} needs a customer column (customer_id, user_id, CustomerID…) or a "
            f"session column (session_id, SessionId); it has {', '.join(source.columns)}"
        )

    def col(name: str) -> str:
        return quote(cols[name]) if name in cols else "NULL"

    ordered = "basket_id" in cols or "quantity" in cols
    kinds = _KINDS.format(default="'purchase'" if ordered else "'view'")
    formats = list(TIMESTAMP_FORMATS)
    ts = col("timestamp")
    parsed = f"""CASE
        WHEN TRY_CAST({ts} AS DOUBLE) IS NOT NULL THEN
            to_timestamp(CASE WHEN TRY_CAST({ts} AS DOUBLE) > 1e11 THEN TRY_CAST({ts} AS DOUBLE) / 1000 ELSE TRY_CAST({ts} AS DOUBLE) END)
        WHEN TRY_CAST({ts} AS TIMESTAMPTZ) IS NOT NULL THEN TRY_CAST({ts} AS TIMESTAMPTZ)
        ELSE CAST(TRY_STRPTIME(CAST({ts} AS VARCHAR), {formats!r}) AS TIMESTAMPTZ) END"""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(ID_MACRO)
        con.register("src", source.table)
        table = con.sql(
            f"""
            WITH typed AS (
                SELECT retailor_id({col("user_id")}) AS user_id,
                       retailor_id({col("item_id")}) AS item_id,
                       retailor_id({col("session_id")}) AS session_id,
                       retailor_id({col("basket_id")}) AS basket_id,
                       retailor_id({col("store_id")}) AS store_id,
                       lower(trim(CAST({col("kind")} AS VARCHAR))) AS k,
                       TRY_CAST({col("quantity")} AS DOUBLE) AS quantity,
                       TRY_CAST({col("price")} AS DOUBLE) AS price,
                       CAST({col("name")} AS VARCHAR) AS name,
                       CAST({col("category")} AS VARCHAR) AS category,
                       CAST({col("brand")} AS VARCHAR) AS brand,
                       {parsed} AS "timestamp"
                FROM src
            )
            SELECT user_id, item_id, session_id, basket_id, store_id, {kinds} AS kind,
                   coalesce(quantity, 1.0) AS quantity, price, name, category, brand, "timestamp"
            FROM typed
            WHERE item_id IS NOT NULL AND "timestamp" IS NOT NULL
              AND coalesce(quantity, 1.0) > 0
              AND NOT coalesce(starts_with(upper(basket_id), 'C'), false)
              AND (user_id IS NOT NULL OR session_id IS NOT NULL)
            """
        ).to_arrow_table()
    finally:
        con.close()
    table = table.filter(pa.compute.is_valid(table.column("kind")))
    if table.num_rows == 0:
        raise ImportInputError(
            f"{path.name} has no usable rows (item, time and customer or session)"
        )
    attributes = _attributes(table)
    if catalog is not None:
        attributes.update(read_catalog(catalog))
    return Interactions.from_arrow(table, attributes)


def _attributes(table: pa.Table) -> dict[str, ItemAttributes]:
    """Each item's latest name, category, brand and price as the file tells them."""
    out: dict[str, ItemAttributes] = {}
    if all(
        table.column(c).null_count == table.num_rows for c in ("name", "category", "brand", "price")
    ):
        return out
    columns = [
        table.column(c).to_pylist() for c in ("item_id", "name", "category", "brand", "price")
    ]
    for item, name, category, brand, price in zip(*columns, strict=True):
        out[item] = ItemAttributes(
            category=_path(category), brand=brand, price=price, name=(name or "").strip() or None
        )
    return out


def _path(category: str | None) -> tuple[str, ...]:
    if not category:
        return ()
    for separator in (">", "/", "|"):
        if separator in category:
            return tuple(p.strip() for p in category.split(separator) if p.strip())
    return (category.strip(),)


def read_catalog(path: Path) -> dict[str, ItemAttributes]:
    """Item attributes from a catalog file (item_id, name, category, brand, price)."""
    source = read_source(
        path, detect_format(path, None), {}, all_strings=True,
        source_name=f"evaluate:{path.name}", received_at=datetime.now(UTC),
    )  # fmt: skip
    wanted = {k: WANTED[k] for k in ("item_id", "name", "category", "brand", "price")}
    wanted["price"] = (*wanted["price"], "list_price")
    cols = resolve_columns(source.columns, wanted, ("item_id",), "catalog")
    rows = source.table.to_pylist()
    out = {}
    for row in rows:
        item = row.get(cols["item_id"])
        if not item:
            continue
        price = _number(row.get(cols["price"])) if "price" in cols else None
        out[str(item).strip()] = ItemAttributes(
            category=_path(row.get(cols["category"])) if "category" in cols else (),
            brand=row.get(cols["brand"]) if "brand" in cols else None,
            price=price,
            name=row.get(cols["name"]) if "name" in cols else None,
        )
    return out


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None
