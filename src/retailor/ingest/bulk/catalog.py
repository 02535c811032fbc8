"""The ``catalog`` preset: one item per row. Known columns fill the item's fields (by name
or a common alias); every other column becomes an attribute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgspec

from retailor.domain.catalog import CatalogPatch
from retailor.domain.quarantine import Rejection
from retailor.ingest.bulk.events import plain_id
from retailor.ingest.bulk.source import Source, converted_chunks, resolve_columns

WANTED: dict[str, tuple[str, ...]] = {
    "item_id": ("id", "sku", "product_id", "productid", "stockcode", "stock_code", "article_id"),
    "name": ("title", "product_name", "description"),
    "category": ("category_path", "categories", "product_category"),
    "brand": ("manufacturer", "vendor"),
    "price": ("unit_price", "unitprice", "list_price"),
    "cost": ("unit_cost", "cogs"),
    "stock": ("inventory", "quantity_in_stock", "stock_level", "on_hand"),
    "created_at": ("first_available", "launch_date", "created"),
}
CHUNK = 5_000


def catalog_chunks(
    source: Source, received_at: datetime, source_name: str
) -> Iterator[tuple[list[CatalogPatch], list[Rejection], int]]:
    """Patches per chunk of rows, with the rows that are not valid items."""
    found = resolve_columns(source.columns, WANTED, ("item_id",), "catalog")
    by_column = {column: field for field, column in found.items()}

    def convert(row: dict[str, Any]) -> list[CatalogPatch]:
        item: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for column, value in row.items():
            if value is None or value == "":
                continue
            if column in by_column:
                field = by_column[column]
                item[field] = plain_id(value) if field == "item_id" else value
            else:
                attributes[column] = value
        if attributes:
            item["attributes"] = attributes
        if isinstance(item.get("stock"), float) and item["stock"].is_integer():
            item["stock"] = int(item["stock"])
        return [msgspec.convert(item, CatalogPatch, strict=False)]

    yield from converted_chunks(
        source, convert, chunk=CHUNK, received_at=received_at, source_name=source_name
    )
