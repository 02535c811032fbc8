"""DuckDB ``QuarantineStore``: the ``quarantine`` table."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import pyarrow as pa

from retailor.domain.quarantine import Rejection
from retailor.storage.base import QuarantineStore
from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.schema import TIMESTAMP

_FIELDS = ("quarantine_id", "received_at", "source", "reason", "payload", "event_id", "index")
_COLUMNS = ", ".join(f'"{f}"' for f in _FIELDS)
_ARROW = pa.schema(
    [
        ("quarantine_id", pa.string()),
        ("received_at", TIMESTAMP),
        ("source", pa.string()),
        ("reason", pa.string()),
        ("payload", pa.string()),
        ("event_id", pa.string()),
        ("index", pa.int64()),
    ]
)


class DuckDBQuarantineStore(QuarantineStore):
    """Rejections in the ``quarantine`` table of a ``DuckDBDatabase``."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def add(self, rejections: Sequence[Rejection]) -> None:
        if not rejections:
            return
        rows = [msgspec.structs.asdict(r) for r in rejections]
        cur = self._db.cursor()
        cur.register("_rejected", pa.Table.from_pylist(rows, schema=_ARROW))
        try:
            cur.execute(f"INSERT OR IGNORE INTO quarantine SELECT {_COLUMNS} FROM _rejected")
        finally:
            cur.unregister("_rejected")

    @staticmethod
    def _where(source: str | None, reason: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if source is not None:
            clauses.append("source = ?")
            params.append(source)
        if reason is not None:
            clauses.append("reason = ?")
            params.append(reason)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params

    def list(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        source: str | None = None,
        reason: str | None = None,
    ) -> list[Rejection]:
        where, params = self._where(source, reason)
        table = self._db.arrow(
            f"SELECT {_COLUMNS} FROM quarantine {where} "
            "ORDER BY received_at DESC, quarantine_id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [msgspec.convert(row, Rejection) for row in table.to_pylist()]

    def count(self, *, source: str | None = None, reason: str | None = None) -> int:
        where, params = self._where(source, reason)
        rows = self._db.cursor().execute(f"SELECT count(*) FROM quarantine {where}", params)
        return int(rows.fetchall()[0][0])

    def tally(self, start: datetime, end: datetime) -> builtins.list[tuple[datetime, str, int]]:
        cur = self._db.cursor().cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            rows = cur.execute(
                "SELECT date_trunc('hour', received_at::TIMESTAMP) AS hour, reason, count(*) "
                "FROM quarantine WHERE received_at >= ? AND received_at < ? "
                "GROUP BY hour, reason ORDER BY hour, reason",
                [start, end],
            ).fetchall()
        finally:
            cur.close()
        return [(hour.replace(tzinfo=UTC), reason, int(n)) for hour, reason, n in rows]
