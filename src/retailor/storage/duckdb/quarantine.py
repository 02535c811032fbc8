"""DuckDB ``QuarantineStore``: the ``quarantine`` table."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import pyarrow as pa

from retailor.domain.privacy import Subject
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
        with self._db.use() as cur:
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
        rows = self._db.rows(f"SELECT count(*) FROM quarantine {where}", params)
        return int(rows[0][0])

    def tally(self, start: datetime, end: datetime) -> builtins.list[tuple[datetime, str, int]]:
        with self._db.own() as cur:
            rows = cur.execute(
                "SELECT date_trunc('hour', received_at::TIMESTAMP) AS hour, reason, count(*) "
                "FROM quarantine WHERE received_at >= ? AND received_at < ? "
                "GROUP BY hour, reason ORDER BY hour, reason",
                [start, end],
            ).fetchall()
        return [(hour.replace(tzinfo=UTC), reason, int(n)) for hour, reason, n in rows]

    def naming(self, subject: Subject) -> builtins.list[Rejection]:
        where, params = _naming(subject)
        table = self._db.arrow(
            f"SELECT {_COLUMNS} FROM quarantine WHERE {where} "
            "ORDER BY received_at DESC, quarantine_id DESC",
            params,
        )
        return [msgspec.convert(row, Rejection) for row in table.to_pylist()]

    def erase(self, subject: Subject) -> int:
        where, params = _naming(subject)
        rows = self._db.rows(f"DELETE FROM quarantine WHERE {where}", params)
        return int(rows[0][0]) if rows else 0


def _naming(subject: Subject) -> tuple[str, builtins.list[Any]]:
    """The condition on ``quarantine`` rows that name ``subject``."""
    clauses = ["event_id IN (SELECT UNNEST(?))"]
    params: builtins.list[Any] = [builtins.list(subject.ids)]
    for needle in subject.needles():
        clauses.append("strpos(payload, ?) > 0")
        params.append(needle)
    return " OR ".join(clauses), params
