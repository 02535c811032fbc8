"""In-memory ``CatalogStore``."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime

from retailor.domain.catalog import CatalogItem, CatalogPatch, apply_patch
from retailor.storage.base import CatalogChanges, CatalogStore, UpsertResult


class MemoryCatalogStore(CatalogStore):
    """Items in a dict by id, with the revision each was last written at."""

    def __init__(self) -> None:
        self._items: dict[str, CatalogItem] = {}
        self._revisions: dict[str, int] = {}
        self._revision = 0
        self._lock = threading.Lock()

    def upsert(self, patches: Sequence[CatalogPatch], now: datetime) -> UpsertResult:
        created = updated = 0
        with self._lock:
            if patches:
                self._revision += 1
            for patch in patches:
                self._revisions[patch.item_id] = self._revision
                current = self._items.get(patch.item_id)
                if current is None:
                    created += 1
                else:
                    updated += 1
                self._items[patch.item_id] = apply_patch(current, patch, now)
        return UpsertResult(created=created, updated=updated)

    def get(self, item_id: str) -> CatalogItem | None:
        with self._lock:
            return self._items.get(item_id)

    def get_many(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        with self._lock:
            return {i: self._items[i] for i in item_ids if i in self._items}

    def items(self) -> Iterator[CatalogItem]:
        with self._lock:
            snapshot = sorted(self._items.values(), key=lambda item: item.item_id)
        yield from snapshot

    def count(self) -> int:
        with self._lock:
            return len(self._items)

    def revision(self) -> int:
        with self._lock:
            return self._revision

    def changed_since(self, revision: int) -> CatalogChanges:
        with self._lock:
            ids = sorted(i for i, r in self._revisions.items() if r > revision)
            return CatalogChanges(
                revision=max(revision, self._revision), items=[self._items[i] for i in ids]
            )
