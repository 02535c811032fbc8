"""DuckDB ``DecisionLog``: the ``decisions`` and ``decision_feedback`` tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import msgspec
import pyarrow as pa

from retailor.domain.decisions import DecisionRecord, FeedbackRecord
from retailor.storage.base import DecisionLog
from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.schema import TIMESTAMP

_DECISIONS = pa.schema(
    [
        ("decision_id", pa.string()),
        ("at", TIMESTAMP),
        ("placement", pa.string()),
        ("customer", pa.string()),
        ("record", pa.string()),
    ]
)
_FEEDBACK = pa.schema(
    [
        ("decision_id", pa.string()),
        ("at", TIMESTAMP),
        ("type", pa.string()),
        ("item_id", pa.string()),
        ("offer_id", pa.string()),
        ("value", pa.float64()),
        ("source", pa.string()),
    ]
)
_decode = msgspec.json.Decoder(DecisionRecord)


class DuckDBDecisionLog(DecisionLog):
    """Decisions (the whole record as JSON beside id, time, placement and customer) and
    their feedback. No primary key: decision ids are unique by construction, and a key
    would cost four times the insert; ids grow within a process, so DuckDB's zone maps
    keep a look-up by id from scanning the whole table."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def _insert(self, table: str, rows: pa.Table, sql: str) -> None:
        cur = self._db.cursor()
        cur.register(table, rows)
        try:
            cur.execute(sql)
        finally:
            cur.unregister(table)

    def append(self, records: Sequence[DecisionRecord]) -> None:
        if not records:
            return
        encode = msgspec.json.encode
        rows = pa.table(
            [
                [r.decision_id for r in records],
                [r.at for r in records],
                [r.placement for r in records],
                [r.customer for r in records],
                [encode(r).decode() for r in records],
            ],
            schema=_DECISIONS,
        )
        self._insert("_decided", rows, "INSERT INTO decisions SELECT * FROM _decided")

    def get(self, decision_id: str) -> DecisionRecord | None:
        rows = (
            self._db.cursor()
            .execute("SELECT record FROM decisions WHERE decision_id = ?", [decision_id])
            .fetchall()
        )
        return _decode.decode(rows[0][0]) if rows else None

    def scan(self, *, start: datetime | None = None) -> Iterator[DecisionRecord]:
        params: list[Any] = []
        where = ""
        if start is not None:
            where, params = 'WHERE "at" >= ?', [start]
        cur = self._db.cursor().execute(
            f'SELECT record FROM decisions {where} ORDER BY "at", decision_id', params
        )
        while True:
            rows = cur.fetchmany(10_000)
            if not rows:
                return
            for (record,) in rows:
                yield _decode.decode(record)

    def add_feedback(self, records: Sequence[FeedbackRecord]) -> None:
        if not records:
            return
        rows = pa.Table.from_pylist([msgspec.structs.asdict(r) for r in records], schema=_FEEDBACK)
        self._insert("_fed", rows, "INSERT INTO decision_feedback SELECT * FROM _fed")

    def feedback(self, *, decision_id: str | None = None) -> list[FeedbackRecord]:
        where, params = ("WHERE decision_id = ?", [decision_id]) if decision_id else ("", [])
        table = self._db.arrow(f'SELECT * FROM decision_feedback {where} ORDER BY "at"', params)
        return [msgspec.convert(row, FeedbackRecord) for row in table.to_pylist()]

    def count(self) -> int:
        rows = self._db.cursor().execute("SELECT count(*) FROM decisions").fetchall()
        return int(rows[0][0]) if rows else 0
