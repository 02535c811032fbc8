"""PostgreSQL ``SnapshotStore``: ``snapshots`` (one row per snapshot: its kind, position,
size) and ``snapshot_parts`` (its bytes in parts of ``PART_BYTES``, one row each), written
in one transaction that also deletes the older snapshots of the kind beyond ``keep``.

A large snapshot goes through the connection one part at a time, in binary: a client's
buffers grow to the largest message it sends or receives and stay that size for the
connection's life, so whole snapshots would leave every pooled connection that carried
one holding its size in memory.
"""

from __future__ import annotations

from retailor.storage.base import SnapshotStore
from retailor.storage.postgres.database import PostgresDatabase

#: Bytes of a snapshot per row of ``snapshot_parts``.
PART_BYTES = 8 * 1024 * 1024


class PostgresSnapshotStore(SnapshotStore):
    """See the module docstring."""

    def __init__(self, db: PostgresDatabase, part_bytes: int = PART_BYTES) -> None:
        self._db = db
        self._part_bytes = part_bytes

    def save(self, kind: str, position: int, data: bytes, *, keep: int = 2) -> None:
        view = memoryview(data)
        parts = range(0, len(view), self._part_bytes)
        with self._db.connection() as conn, conn.transaction():
            conn.execute(
                "DELETE FROM snapshots WHERE kind = %s AND position = %s", [kind, position]
            )
            conn.execute(
                "INSERT INTO snapshots (kind, position, bytes, parts) VALUES (%s, %s, %s, %s)",
                [kind, position, len(view), len(parts)],
            )
            with conn.cursor() as cur:
                for number, start in enumerate(parts):
                    cur.execute(
                        "INSERT INTO snapshot_parts (kind, position, part, data) "
                        "VALUES (%s, %s, %s, %b)",
                        [kind, position, number, view[start : start + self._part_bytes]],
                    )
            conn.execute(
                "DELETE FROM snapshots WHERE kind = %s AND position NOT IN "
                "(SELECT position FROM snapshots WHERE kind = %s "
                "ORDER BY position DESC LIMIT %s)",
                [kind, kind, keep],
            )

    def latest(self, kind: str) -> tuple[int, bytes] | None:
        with self._db.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT position, bytes, parts FROM snapshots WHERE kind = %s "
                "ORDER BY position DESC LIMIT 1",
                [kind],
            ).fetchone()
            if row is None:
                return None
            position, size, count = int(row[0]), int(row[1]), int(row[2])
            data = bytearray(size)
            at = 0
            with conn.cursor(binary=True) as cur:
                for number in range(count):
                    cur.execute(
                        "SELECT data FROM snapshot_parts "
                        "WHERE kind = %s AND position = %s AND part = %s",
                        [kind, position, number],
                    )
                    part = cur.fetchone()
                    assert part is not None
                    data[at : at + len(part[0])] = part[0]
                    at += len(part[0])
        return position, bytes(data)

    def clear(self) -> int:
        with self._db.connection() as conn:  # their parts go with them (ON DELETE CASCADE)
            return conn.execute("DELETE FROM snapshots").rowcount
