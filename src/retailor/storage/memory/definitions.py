"""In-memory ``DefinitionStore``: definitions and the revisions of deletions in dicts."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.domain.ids import check_definition_id
from retailor.storage.base import (
    DefinitionChanges,
    DefinitionStore,
    StoredDefinition,
    check_kind,
)


class MemoryDefinitionStore(DefinitionStore):
    """Definitions of one process; nothing survives it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], StoredDefinition] = {}
        self._deleted: dict[tuple[str, str], int] = {}
        self._revision = 0

    def put(self, kind: str, definition_id: str, document: dict[str, Any]) -> StoredDefinition:
        key = (check_kind(kind), check_definition_id(kind, definition_id))
        with self._lock:
            self._revision += 1
            stored = StoredDefinition(
                kind=kind,
                id=definition_id,
                document=_json_like(document),
                updated_at=datetime.now(UTC),
                revision=self._revision,
            )
            self._held[key] = stored
            self._deleted.pop(key, None)
        return _copy(stored)

    def get(self, kind: str, definition_id: str) -> StoredDefinition | None:
        key = (check_kind(kind), check_definition_id(kind, definition_id))
        with self._lock:
            stored = self._held.get(key)
        return None if stored is None else _copy(stored)

    def delete(self, kind: str, definition_id: str) -> bool:
        key = (check_kind(kind), check_definition_id(kind, definition_id))
        with self._lock:
            if self._held.pop(key, None) is None:
                return False
            self._revision += 1
            self._deleted[key] = self._revision
        return True

    def all(self, kind: str) -> list[StoredDefinition]:
        check_kind(kind)
        with self._lock:
            found = [s for (k, _), s in self._held.items() if k == kind]
        return [_copy(s) for s in sorted(found, key=lambda s: s.id)]

    def revision(self) -> int:
        with self._lock:
            return self._revision

    def changed_since(self, revision: int) -> DefinitionChanges:
        with self._lock:
            changed = [s for s in self._held.values() if s.revision > revision]
            deleted = [key for key, at in self._deleted.items() if at > revision]
            now = self._revision
        return DefinitionChanges(
            revision=max(now, revision),
            changed=[_copy(s) for s in sorted(changed, key=lambda s: s.revision)],
            deleted=sorted(deleted),
        )


def _json_like(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as the other stores give it back: through JSON."""
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(document))
    return decoded


def _copy(stored: StoredDefinition) -> StoredDefinition:
    """A copy whose document the caller may change without changing the store."""
    return msgspec.structs.replace(stored, document=copy.deepcopy(stored.document))
