"""DuckDB ``SegmentSizeStore``: the ``segment_sizes`` table (one process owns the file)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.segment_sizes import SegmentSize, SegmentSizeStore


def _sample(row: tuple[Any, ...]) -> SegmentSize:
    at: datetime = row[1]
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return SegmentSize(segment_id=row[0], at=at, size=int(row[2]))


class DuckDBSegmentSizeStore(SegmentSizeStore):
    """Size samples in the ``segment_sizes`` table of a ``DuckDBDatabase``."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def record(self, sample: SegmentSize) -> None:
        self._db.rows(
            'INSERT OR REPLACE INTO segment_sizes (segment_id, "at", size) VALUES (?, ?, ?)',
            [sample.segment_id, sample.at, sample.size],
        )

    def history(
        self, segment_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[SegmentSize]:
        where, params = "segment_id = ?", [segment_id]
        if start is not None:
            where += ' AND "at" >= ?'
            params.append(start)  # type: ignore[arg-type]
        if end is not None:
            where += ' AND "at" < ?'
            params.append(end)  # type: ignore[arg-type]
        rows = self._db.rows(f'SELECT segment_id, "at", size FROM segment_sizes WHERE {where} ORDER BY "at"',
                     params)  # fmt: skip
        return [_sample(r) for r in rows]

    def latest(self, segment_id: str) -> SegmentSize | None:
        row = self._db.rows(
            'SELECT segment_id, "at", size FROM segment_sizes WHERE segment_id = ? '
            'ORDER BY "at" DESC LIMIT 1',
            [segment_id],
        )
        return _sample(row[0]) if row else None

    def delete(self, segment_id: str) -> int:
        with self._db.use() as cur:
            rows = cur.execute(
                "SELECT count(*) FROM segment_sizes WHERE segment_id = ?", [segment_id]
            ).fetchall()
            cur.execute("DELETE FROM segment_sizes WHERE segment_id = ?", [segment_id])
        return int(rows[0][0])
