"""DuckDB ``AuditLog``: the ``audit_log`` table (one process owns the file)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from retailor.storage.audit import MAX_LIMIT, AuditEntry, AuditLog, like_prefix
from retailor.storage.duckdb.database import DuckDBDatabase

_COLUMNS = '"at", key_id, action, target_hash, status'


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    at: datetime = row[0]
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return AuditEntry(at=at, key_id=row[1], action=row[2], target_hash=row[3], status=int(row[4]))


class DuckDBAuditLog(AuditLog):
    """Entries in the ``audit_log`` table of a ``DuckDBDatabase``."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def append(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        with self._db.use() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                cur.executemany(
                    f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                    [[e.at, e.key_id, e.action, e.target_hash, e.status] for e in entries],
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def list(
        self,
        limit: int = 100,
        *,
        since: datetime | None = None,
        action: str | None = None,
        key_id: str | None = None,
        target_hash: str | None = None,
    ) -> list[AuditEntry]:
        where: list[str] = ["TRUE"]
        params: list[object] = []
        if since is not None:
            where.append('"at" >= ?')
            params.append(since)
        if action is not None:
            where.append("action LIKE ? ESCAPE '\\'")
            params.append(like_prefix(action))
        if key_id is not None:
            where.append("key_id = ?")
            params.append(key_id)
        if target_hash is not None:
            where.append("target_hash = ?")
            params.append(target_hash)
        params.append(max(0, min(limit, MAX_LIMIT)))
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM audit_log WHERE {' AND '.join(where)} "
            'ORDER BY "at" DESC, seq DESC LIMIT ?',
            params,
        )
        return [_entry(r) for r in rows]
