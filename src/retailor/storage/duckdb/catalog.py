"""DuckDB ``CatalogStore``: the ``catalog`` table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import msgspec
import pyarrow as pa

from retailor.domain.catalog import CatalogItem, CatalogPatch, apply_patch
from retailor.storage.base import CatalogChanges, CatalogStore, UpsertResult
from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.schema import TIMESTAMP, to_json_text

_FIELDS = (
    "item_id",
    "name",
    "category",
    "brand",
    "price",
    "cost",
    "stock",
    "attributes",
    "created_at",
    "updated_at",
)
_COLUMNS = ", ".join(_FIELDS)
_ARROW = pa.schema(
    [
        ("item_id", pa.string()),
        ("name", pa.string()),
        ("category", pa.list_(pa.string())),
        ("brand", pa.string()),
        ("price", pa.float64()),
        ("cost", pa.float64()),
        ("stock", pa.int64()),
        ("attributes", pa.string()),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("revision", pa.int64()),
    ]
)
_CHUNK = 2_000


def _to_item(row: dict[str, Any]) -> CatalogItem:
    row = dict(row)
    row["attributes"] = msgspec.json.decode(row["attributes"])
    row["category"] = list(row["category"] or [])
    return msgspec.convert(row, CatalogItem)


class DuckDBCatalogStore(CatalogStore):
    """Items in the ``catalog`` table of a ``DuckDBDatabase``."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def upsert(self, patches: Sequence[CatalogPatch], now: datetime) -> UpsertResult:
        created = updated = 0
        with self._db.use() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                top = cur.execute("SELECT coalesce(max(revision), 0) + 1 FROM catalog").fetchall()
                revision = int(top[0][0])
                for start in range(0, len(patches), _CHUNK):
                    chunk = patches[start : start + _CHUNK]
                    current = self.get_many([p.item_id for p in chunk])
                    for patch in chunk:
                        if patch.item_id in current:
                            updated += 1
                        else:
                            created += 1
                        current[patch.item_id] = apply_patch(current.get(patch.item_id), patch, now)
                    rows = [
                        {
                            **msgspec.structs.asdict(item),
                            "attributes": to_json_text(item.attributes),
                            "revision": revision,
                        }
                        for item in current.values()
                    ]
                    cur.register("_items", pa.Table.from_pylist(rows, schema=_ARROW))
                    cur.execute(
                        f"INSERT OR REPLACE INTO catalog ({_COLUMNS}, revision) "
                        f"SELECT {_COLUMNS}, revision FROM _items"
                    )
                    cur.unregister("_items")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return UpsertResult(created=created, updated=updated)

    def get(self, item_id: str) -> CatalogItem | None:
        return self.get_many([item_id]).get(item_id)

    def get_many(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        if not item_ids:
            return {}
        table = self._db.arrow(
            f"SELECT {_COLUMNS} FROM catalog WHERE item_id IN (SELECT UNNEST(?))",
            [list(item_ids)],
        )
        return {row["item_id"]: _to_item(row) for row in table.to_pylist()}

    def items(self) -> Iterator[CatalogItem]:
        table = self._db.arrow(f"SELECT {_COLUMNS} FROM catalog ORDER BY item_id")
        for row in table.to_pylist():
            yield _to_item(row)

    def count(self) -> int:
        row = self._db.rows("SELECT count(*) FROM catalog")[0]
        return int(row[0]) if row else 0

    def revision(self) -> int:
        rows = self._db.rows("SELECT coalesce(max(revision), 0) FROM catalog")
        return int(rows[0][0])

    def changed_since(self, revision: int) -> CatalogChanges:
        table = self._db.arrow(
            f"SELECT {_COLUMNS}, revision FROM catalog WHERE revision > ? ORDER BY item_id",
            [revision],
        )
        rows = table.to_pylist()
        latest = max([revision, *(int(row.pop("revision")) for row in rows)])
        return CatalogChanges(revision=latest, items=[_to_item(row) for row in rows])
