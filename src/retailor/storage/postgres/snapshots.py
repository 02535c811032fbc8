"""PostgreSQL ``SnapshotStore``: the ``snapshots`` table, one row per snapshot (``bytea``),
older ones of a kind deleted in the transaction that saves a new one."""

from __future__ import annotations

from retailor.storage.base import SnapshotStore
from retailor.storage.postgres.database import PostgresDatabase


class PostgresSnapshotStore(SnapshotStore):
    """See the module docstring."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def save(self, kind: str, position: int, data: bytes, *, keep: int = 2) -> None:
        with self._db.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO snapshots (kind, position, data) VALUES (%s, %s, %s) "
                "ON CONFLICT (kind, position) DO UPDATE SET data = excluded.data, "
                "created_at = now()",
                [kind, position, data],
            )
            conn.execute(
                "DELETE FROM snapshots WHERE kind = %s AND position NOT IN "
                "(SELECT position FROM snapshots WHERE kind = %s "
                "ORDER BY position DESC LIMIT %s)",
                [kind, kind, keep],
            )

    def latest(self, kind: str) -> tuple[int, bytes] | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT position, data FROM snapshots WHERE kind = %s "
                "ORDER BY position DESC LIMIT 1",
                [kind],
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None
