"""Catalog items and partial updates to them.

A patch names an item and only the fields it changes: fields it does not give keep
their values. ``attributes`` merge key by key; a key set to null is removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from retailor.domain.ids import IdChecked, Identifier
from retailor.domain.timestamps import Timestamp

CATEGORY_SEPARATOR = ">"


class CatalogItem(Struct, kw_only=True):
    """A product as Retailor knows it."""

    item_id: str
    name: str | None = None
    category: list[str] = msgspec.field(default_factory=list)
    brand: str | None = None
    price: float | None = None
    cost: float | None = None
    stock: int | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


NonNegative = Annotated[float, Meta(ge=0)]
Stock = Annotated[int, Meta(ge=-(10**12), le=10**12)]


class CatalogPatch(IdChecked, kw_only=True, forbid_unknown_fields=True):
    """What a client sends to create or change an item; absent fields stay as they were."""

    item_id: Identifier
    name: str | UnsetType | None = UNSET
    category: list[str] | str | UnsetType | None = UNSET
    brand: str | UnsetType | None = UNSET
    price: NonNegative | UnsetType | None = UNSET
    cost: NonNegative | UnsetType | None = UNSET
    stock: Stock | UnsetType | None = UNSET
    attributes: dict[str, Any] | UnsetType = UNSET
    created_at: Timestamp | UnsetType | None = UNSET


def category_path(value: list[str] | str | None) -> list[str]:
    """Normalise a category given as ``"Home > Kitchen"`` or as a list into a clean path.

    >>> category_path(" Home > Kitchen >Mugs ")
    ['Home', 'Kitchen', 'Mugs']
    """
    if value is None:
        return []
    parts = value.split(CATEGORY_SEPARATOR) if isinstance(value, str) else value
    return [p.strip() for p in parts if p and p.strip()]


def apply_patch(current: CatalogItem | None, patch: CatalogPatch, now: datetime) -> CatalogItem:
    """Return the item after ``patch``: a new item when ``current`` is None."""
    item = current or CatalogItem(item_id=patch.item_id, created_at=now)
    changes: dict[str, Any] = {"updated_at": now}
    for field in ("name", "brand", "price", "cost", "stock", "created_at"):
        value = getattr(patch, field)
        if value is not UNSET:
            changes[field] = value
    if changes.get("created_at", UNSET) is None:
        changes["created_at"] = item.created_at or now
    if patch.category is not UNSET:
        changes["category"] = category_path(patch.category)
    if not isinstance(patch.attributes, UnsetType):
        merged = dict(item.attributes)
        for key, value in patch.attributes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        changes["attributes"] = merged
    return msgspec.structs.replace(item, **changes)
