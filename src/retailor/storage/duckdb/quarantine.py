"""DuckDB ``QuarantineStore``: the ``quarantine`` table."""

from __future__ import annotations

from collections.abc import Sequence
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

    def list(
        self, *, limit: int = 100, offset: int = 0, source: str | None = None
    ) -> list[Rejection]:
        params: list[Any] = []
        where = ""
        if source is not None:
            where = "WHERE source = ?"
            params.append(source)
        table = self._db.arrow(
            f"SELECT {_COLUMNS} FROM quarantine {where} "
            "ORDER BY received_at DESC, quarantine_id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [msgspec.convert(row, Rejection) for row in table.to_pylist()]

    def count(self, *, source: str | None = None) -> int:
        if source is None:
            row = self._db.cursor().execute("SELECT count(*) FROM quarantine").fetchall()[0]
        else:
            row = (
                self._db.cursor()
                .execute("SELECT count(*) FROM quarantine WHERE source = ?", [source])
                .fetchall()[0]
            )
        return int(row[0]) if row else 0
