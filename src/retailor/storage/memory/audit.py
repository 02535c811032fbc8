"""In-memory ``AuditLog``: entries in a list behind a lock (tests, throwaway runs, the
``memory://`` backend)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from retailor.storage.audit import MAX_LIMIT, AuditEntry, AuditLog


class MemoryAuditLog(AuditLog):
    """Entries in the order appended."""

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._lock = threading.Lock()

    def append(self, entries: Sequence[AuditEntry]) -> None:
        kept = [_utc(e) for e in entries]
        with self._lock:
            self._entries.extend(kept)

    def list(
        self,
        limit: int = 100,
        *,
        since: datetime | None = None,
        action: str | None = None,
        key_id: str | None = None,
        target_hash: str | None = None,
    ) -> list[AuditEntry]:
        with self._lock:
            held = list(enumerate(self._entries))
        found = [
            (n, e)
            for n, e in held
            if (since is None or e.at >= since)
            and (action is None or e.action.startswith(action))
            and (key_id is None or e.key_id == key_id)
            and (target_hash is None or e.target_hash == target_hash)
        ]
        found.sort(key=lambda ne: (ne[1].at, ne[0]), reverse=True)
        return [e for _, e in found[: max(0, min(limit, MAX_LIMIT))]]


def _utc(entry: AuditEntry) -> AuditEntry:
    """``entry`` with its time as an aware UTC datetime (a naive one is taken as UTC)."""
    at = entry.at
    if at.tzinfo is UTC:
        return entry
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return msgspec.structs.replace(entry, at=at)
