"""PostgreSQL ``CatalogStore``: the ``catalog`` table.

An upsert reads the items it patches, applies the patches in Python (``apply_patch``, as
every adapter does) and writes the results back, in one transaction that holds an
advisory lock: catalog writers, in this process or another, take turns, so two workers
patching one item never lose each other's fields. Readers never wait. The upsert takes
the next catalog revision under that lock, so revisions commit in the order they are
drawn and a reader that sees revision ``r`` sees every upsert up to ``r``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg

from retailor.domain.catalog import CatalogItem, CatalogPatch, apply_patch
from retailor.storage.base import CatalogChanges, CatalogStore, UpsertResult
from retailor.storage.postgres.database import PostgresDatabase
from retailor.storage.schema import to_json_text

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
_UPSERT = (
    f"INSERT INTO catalog ({_COLUMNS}, revision) VALUES "
    "(%s, %s, %s::text[], %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (item_id) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in (*_FIELDS[1:], "revision"))
)
_WRITERS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('retailor.catalog:' || current_schema()))"
_CHUNK = 2_000
_decode = msgspec.json.Decoder().decode


def _to_item(row: tuple[Any, ...]) -> CatalogItem:
    fields = dict(zip(_FIELDS, row, strict=True))
    fields["attributes"] = _decode(fields["attributes"])
    return msgspec.convert(fields, CatalogItem)


def _text(value: str | None) -> str | None:
    """PostgreSQL text holds no NUL: one is kept as U+FFFD."""
    return value.replace("\x00", "\ufffd") if value and "\x00" in value else value


def _to_row(item: CatalogItem) -> tuple[Any, ...]:
    return (
        item.item_id,
        _text(item.name),
        [_text(c) for c in item.category],
        _text(item.brand),
        item.price,
        item.cost,
        item.stock,
        to_json_text(item.attributes),
        item.created_at,
        item.updated_at,
    )


class PostgresCatalogStore(CatalogStore):
    """Items in the ``catalog`` table of a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def upsert(self, patches: Sequence[CatalogPatch], now: datetime) -> UpsertResult:
        created = updated = 0
        with self._db.connection() as conn, conn.transaction():
            conn.execute(_WRITERS_LOCK)
            row = conn.execute("SELECT nextval('catalog_revision')").fetchone() if patches else None
            revision = int(row[0]) if row else 0
            for start in range(0, len(patches), _CHUNK):
                chunk = patches[start : start + _CHUNK]
                current = _read(conn, [p.item_id for p in chunk])
                for patch in chunk:
                    if patch.item_id in current:
                        updated += 1
                    else:
                        created += 1
                    current[patch.item_id] = apply_patch(current.get(patch.item_id), patch, now)
                with conn.cursor() as cur:
                    cur.executemany(
                        _UPSERT, [(*_to_row(item), revision) for item in current.values()]
                    )
        return UpsertResult(created=created, updated=updated)

    def get(self, item_id: str) -> CatalogItem | None:
        return self.get_many([item_id]).get(item_id)

    def get_many(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        if not item_ids:
            return {}
        with self._db.connection() as conn:
            return _read(conn, list(item_ids))

    def items(self) -> Iterator[CatalogItem]:
        with (
            self._db.connection() as conn,
            conn.transaction(),
            conn.cursor(name="retailor_catalog") as cur,
        ):
            cur.execute(f"SELECT {_COLUMNS} FROM catalog ORDER BY item_id")
            while rows := cur.fetchmany(_CHUNK):
                yield from (_to_item(row) for row in rows)

    def count(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT count(*) FROM catalog").fetchone()
        return int(row[0]) if row else 0

    def revision(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT coalesce(max(revision), 0) FROM catalog").fetchone()
        return int(row[0]) if row else 0

    def changed_since(self, revision: int) -> CatalogChanges:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS}, revision FROM catalog WHERE revision > %s ORDER BY item_id",
                [revision],
            ).fetchall()
        latest = max([revision, *(int(row[-1]) for row in rows)])
        return CatalogChanges(revision=latest, items=[_to_item(row[:-1]) for row in rows])


def _read(conn: psycopg.Connection[Any], item_ids: list[str]) -> dict[str, CatalogItem]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM catalog WHERE item_id = ANY(%s)", [item_ids]
    ).fetchall()
    return {row[0]: _to_item(row) for row in rows}
