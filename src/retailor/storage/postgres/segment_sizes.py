"""PostgreSQL ``SegmentSizeStore``: the ``segment_sizes`` table, shared by every worker
(the lease holder writes, every server reads)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from retailor.storage.postgres.database import PostgresDatabase
from retailor.storage.segment_sizes import SegmentSize, SegmentSizeStore


def _sample(row: tuple[Any, ...]) -> SegmentSize:
    return SegmentSize(segment_id=row[0], at=row[1].astimezone(UTC), size=int(row[2]))


class PostgresSegmentSizeStore(SegmentSizeStore):
    """Size samples in the ``segment_sizes`` table of a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def record(self, sample: SegmentSize) -> None:
        with self._db.connection() as conn:
            conn.execute(
                'INSERT INTO segment_sizes (segment_id, "at", size) VALUES (%s, %s, %s) '
                'ON CONFLICT (segment_id, "at") DO UPDATE SET size = EXCLUDED.size',
                [sample.segment_id, sample.at, sample.size],
            )

    def history(
        self, segment_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[SegmentSize]:
        where, params = "segment_id = %s", [segment_id]
        if start is not None:
            where += ' AND "at" >= %s'
            params.append(start)  # type: ignore[arg-type]
        if end is not None:
            where += ' AND "at" < %s'
            params.append(end)  # type: ignore[arg-type]
        with self._db.connection() as conn:
            rows = conn.execute(
                f'SELECT segment_id, "at", size FROM segment_sizes WHERE {where} ORDER BY "at"',
                params,
            ).fetchall()
        return [_sample(r) for r in rows]

    def latest(self, segment_id: str) -> SegmentSize | None:
        with self._db.connection() as conn:
            row = conn.execute(
                'SELECT segment_id, "at", size FROM segment_sizes WHERE segment_id = %s '
                'ORDER BY "at" DESC LIMIT 1',
                [segment_id],
            ).fetchone()
        return None if row is None else _sample(row)

    def delete(self, segment_id: str) -> int:
        with self._db.connection() as conn:
            cur = conn.execute("DELETE FROM segment_sizes WHERE segment_id = %s", [segment_id])
            return cur.rowcount
