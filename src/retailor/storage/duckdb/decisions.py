"""DuckDB ``DecisionLog``: the ``decisions`` and ``decision_feedback`` tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import pyarrow as pa

from retailor.domain.decisions import DecisionRecord, FeedbackRecord
from retailor.domain.privacy import Subject
from retailor.storage.base import DecisionLog, LoggedDecision
from retailor.storage.decision_rows import DECISION_COLUMNS, decision_row
from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.schema import TIMESTAMP

_TEXT_LIST = pa.list_(pa.string())
_NOT_TEXT = {
    "at": TIMESTAMP,
    "items": _TEXT_LIST,
    "offer_ids": _TEXT_LIST,
    "personalized": pa.bool_(),
    "holdout": pa.bool_(),
    "latency_ms": pa.float64(),
}
#: the decision's columns, then when it was logged
_LOGGED_COLUMNS = (*DECISION_COLUMNS, "logged_at")
_DECISIONS = pa.schema(
    [(c, _NOT_TEXT.get(c, pa.string())) for c in DECISION_COLUMNS] + [("logged_at", TIMESTAMP)]
)
_QUOTED = ", ".join(f'"{c}"' for c in _LOGGED_COLUMNS)
_INSERT_DECISIONS = f"INSERT INTO decisions ({_QUOTED}) SELECT {_QUOTED} FROM _decided"
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
    """Decisions (the columns analysis filters and groups by, see ``decision_rows``,
    beside the whole record as JSON) and their feedback. A look-up by id goes through the
    ``decisions_by_id`` index. The index is not unique: decision ids are unique by
    construction, and a key's check on every insert costs several times what the index
    does."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def _insert(self, table: str, rows: pa.Table, sql: str) -> None:
        with self._db.use() as cur:
            cur.register(table, rows)
            try:
                cur.execute(sql)
            finally:
                cur.unregister(table)

    def append(self, records: Sequence[DecisionRecord]) -> None:
        if not records:
            return
        logged_at = datetime.now(UTC)
        columns = zip(*((*decision_row(r), logged_at) for r in records), strict=True)
        rows = pa.table(list(columns), schema=_DECISIONS)
        self._insert("_decided", rows, _INSERT_DECISIONS)

    def get(self, decision_id: str) -> DecisionRecord | None:
        rows = self._db.rows("SELECT record FROM decisions WHERE decision_id = ?", [decision_id])
        return _decode.decode(rows[0][0]) if rows else None

    def scan(self, *, start: datetime | None = None) -> Iterator[DecisionRecord]:
        params: list[Any] = []
        where = ""
        if start is not None:
            where, params = 'WHERE "at" >= ?', [start]
        with self._db.own() as cur:
            cur.execute(f'SELECT record FROM decisions {where} ORDER BY "at", decision_id', params)
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
        rows = self._db.rows("SELECT count(*) FROM decisions")
        return int(rows[0][0]) if rows else 0

    def decisions_between(
        self, after: tuple[datetime, str] | None, until: datetime, limit: int
    ) -> list[DecisionRecord]:
        where, params = '"at" <= ?', list[Any]([until])
        if after is not None:
            where += ' AND ("at" > ? OR ("at" = ? AND decision_id > ?))'
            params += [after[0], after[0], after[1]]
        rows = self._db.rows(
            f'SELECT record FROM decisions WHERE {where} ORDER BY "at", decision_id LIMIT ?',
            [*params, limit],
        )
        return [_decode.decode(record) for (record,) in rows]

    def feedback_for(self, decision_ids: Sequence[str]) -> list[FeedbackRecord]:
        if not decision_ids:
            return []
        table = self._db.arrow(
            'SELECT * FROM decision_feedback WHERE list_contains(?, decision_id) ORDER BY "at"',
            [list(decision_ids)],
        )
        return [msgspec.convert(row, FeedbackRecord) for row in table.to_pylist()]

    def logged_between(
        self, after: tuple[datetime, str] | None, until: datetime, limit: int
    ) -> list[LoggedDecision]:
        where, params = "logged_at <= ?", list[Any]([until])
        if after is not None:
            where += " AND (logged_at > ? OR (logged_at = ? AND decision_id > ?))"
            params += [after[0], after[0], after[1]]
        rows = self._db.rows(
            f"SELECT logged_at, record FROM decisions WHERE {where} "
            "ORDER BY logged_at, decision_id LIMIT ?",
            [*params, limit],
        )
        return [LoggedDecision(logged, _decode.decode(record)) for logged, record in rows]

    def naming(self, subject: Subject) -> list[DecisionRecord]:
        rows = self._db.rows(
            f'SELECT record FROM decisions WHERE {_NAMING} ORDER BY "at", decision_id',
            [list(subject.ids), list(subject.ids)],
        )
        return [_decode.decode(record) for (record,) in rows]

    def erase(self, subject: Subject) -> int:
        ids = [list(subject.ids), list(subject.ids)]
        chosen = f"SELECT decision_id FROM decisions WHERE {_NAMING}"
        with self._db.use() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                fed = cur.execute(
                    f"DELETE FROM decision_feedback WHERE decision_id IN ({chosen})", ids
                ).fetchall()
                made = cur.execute(f"DELETE FROM decisions WHERE {_NAMING}", ids).fetchall()
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return int(fed[0][0]) + int(made[0][0])


_NAMING = "customer IN (SELECT UNNEST(?)) OR anonymous_id IN (SELECT UNNEST(?))"
