"""PostgreSQL ``AuditLog``: the ``audit_log`` table, shared by every worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from retailor.storage.audit import MAX_LIMIT, AuditEntry, AuditLog, like_prefix
from retailor.storage.postgres.database import PostgresDatabase

_COLUMNS = '"at", key_id, action, target_hash, status'


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        at=row[0].astimezone(UTC),
        key_id=row[1],
        action=row[2],
        target_hash=row[3],
        status=int(row[4]),
    )


class PostgresAuditLog(AuditLog):
    """Entries in the ``audit_log`` table of a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def append(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        with self._db.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO audit_log ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s)",
                [[e.at, e.key_id, e.action, e.target_hash, e.status] for e in entries],
            )

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
            where.append('"at" >= %s')
            params.append(since)
        if action is not None:
            where.append("action LIKE %s")  # backslash is LIKE's default escape
            params.append(like_prefix(action))
        if key_id is not None:
            where.append("key_id = %s")
            params.append(key_id)
        if target_hash is not None:
            where.append("target_hash = %s")
            params.append(target_hash)
        params.append(max(0, min(limit, MAX_LIMIT)))
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit_log WHERE {' AND '.join(where)} "
                'ORDER BY "at" DESC, seq DESC LIMIT %s',
                params,
            ).fetchall()
        return [_entry(r) for r in rows]
