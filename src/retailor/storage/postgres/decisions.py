"""PostgreSQL ``DecisionLog``: the ``decisions`` and ``decision_feedback`` tables.

Each decision is a row of real columns, for the queries of later analysis (time, id,
placement, channel, store, customer, visitor, items, chosen offers, model versions,
personalized, fallback, latency, experiment and variant: see ``decision_rows``), beside
the whole record as JSON that ``get`` and ``scan`` give back. The decision id is the
primary key: a look-up by id is an index scan, and appending a record twice stores it once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.domain.decisions import DecisionRecord, FeedbackRecord
from retailor.domain.privacy import Subject
from retailor.storage.base import DecisionLog, LoggedDecision
from retailor.storage.decision_rows import DECISION_COLUMNS, decision_row
from retailor.storage.postgres.database import PostgresDatabase

_QUOTED = ", ".join(f'"{c}"' for c in (*DECISION_COLUMNS, "logged_at"))
_INSERT_DECISION = (
    f"INSERT INTO decisions ({_QUOTED}) VALUES "
    "(%s, %s, %s, %s, %s, %s, %s, %s::text[], %s::text[], %s::json, %s, %s, %s, %s, %s, "
    "%s, %s::json, %s) "
    "ON CONFLICT (decision_id) DO NOTHING"
)
_FEEDBACK_COLUMNS = '"decision_id", "at", "type", "item_id", "offer_id", "value", "source"'
_INSERT_FEEDBACK = (
    f"INSERT INTO decision_feedback ({_FEEDBACK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_decode = msgspec.json.Decoder(DecisionRecord).decode
#: The decisions made for a subject: its ids as customer or visitor.
_NAMING = "customer = ANY(%(ids)s) OR anonymous_id = ANY(%(ids)s)"


def _feedback(row: tuple[Any, ...]) -> FeedbackRecord:
    decision_id, at, kind, item_id, offer_id, value, source = row
    return FeedbackRecord(decision_id=decision_id, at=at, type=kind, item_id=item_id,
                          offer_id=offer_id, value=value, source=source)  # fmt: skip


class PostgresDecisionLog(DecisionLog):
    """Decisions and their feedback in a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def append(self, records: Sequence[DecisionRecord]) -> None:
        if not records:
            return
        logged_at = datetime.now(UTC)
        rows = [(*decision_row(r), logged_at) for r in records]
        with self._db.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(_INSERT_DECISION, rows)

    def get(self, decision_id: str) -> DecisionRecord | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT record::text FROM decisions WHERE decision_id = %s", [decision_id]
            ).fetchone()
        return _decode(row[0]) if row else None

    def scan(self, *, start: datetime | None = None) -> Iterator[DecisionRecord]:
        where, params = ('WHERE "at" >= %s', [start]) if start is not None else ("", [])
        with (
            self._db.connection() as conn,
            conn.transaction(),
            conn.cursor(name="retailor_decisions") as cur,
        ):
            cur.execute(
                f'SELECT record::text FROM decisions {where} ORDER BY "at", decision_id',
                params,
            )
            while rows := cur.fetchmany(10_000):
                for (record,) in rows:
                    yield _decode(record)

    def add_feedback(self, records: Sequence[FeedbackRecord]) -> None:
        if not records:
            return
        rows = [
            (r.decision_id, r.at, r.type, r.item_id, r.offer_id, r.value, r.source) for r in records
        ]
        with self._db.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(_INSERT_FEEDBACK, rows)

    def feedback(self, *, decision_id: str | None = None) -> list[FeedbackRecord]:
        where, params = ("WHERE decision_id = %s", [decision_id]) if decision_id else ("", [])
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_FEEDBACK_COLUMNS} FROM decision_feedback {where} "
                'ORDER BY "at", feedback_id',
                params,
            ).fetchall()
        return [_feedback(row) for row in rows]

    def count(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT count(*) FROM decisions").fetchone()
        return int(row[0]) if row else 0

    def decisions_between(
        self, after: tuple[datetime, str] | None, until: datetime, limit: int
    ) -> list[DecisionRecord]:
        where, params = '"at" <= %s', list[Any]([until])
        if after is not None:
            where += ' AND ("at", decision_id) > (%s, %s)'
            params += [after[0], after[1]]
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT record::text FROM decisions WHERE {where} "
                'ORDER BY "at", decision_id LIMIT %s',
                [*params, limit],
            ).fetchall()
        return [_decode(record) for (record,) in rows]

    def feedback_for(self, decision_ids: Sequence[str]) -> list[FeedbackRecord]:
        if not decision_ids:
            return []
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_FEEDBACK_COLUMNS} FROM decision_feedback "
                'WHERE decision_id = ANY(%s) ORDER BY "at", feedback_id',
                [list(decision_ids)],
            ).fetchall()
        return [_feedback(row) for row in rows]

    def logged_between(
        self, after: tuple[datetime, str] | None, until: datetime, limit: int
    ) -> list[LoggedDecision]:
        where, params = "logged_at <= %s", list[Any]([until])
        if after is not None:
            where += " AND (logged_at, decision_id) > (%s, %s)"
            params += [after[0], after[1]]
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT logged_at, record::text FROM decisions WHERE {where} "
                "ORDER BY logged_at, decision_id LIMIT %s",
                [*params, limit],
            ).fetchall()
        return [LoggedDecision(logged_at, _decode(record)) for logged_at, record in rows]

    def naming(self, subject: Subject) -> list[DecisionRecord]:
        if not subject.ids:
            return []
        with self._db.connection() as conn:
            rows = conn.execute(
                f'SELECT record::text FROM decisions WHERE {_NAMING} ORDER BY "at", decision_id',
                {"ids": list(subject.ids)},
            ).fetchall()
        return [_decode(record) for (record,) in rows]

    def erase(self, subject: Subject) -> int:
        if not subject.ids:
            return 0
        ids = {"ids": list(subject.ids)}
        with self._db.connection() as conn, conn.transaction():
            fed = conn.execute(
                "DELETE FROM decision_feedback WHERE decision_id IN "
                f"(SELECT decision_id FROM decisions WHERE {_NAMING})",
                ids,
            ).rowcount
            made = conn.execute(f"DELETE FROM decisions WHERE {_NAMING}", ids).rowcount
        return fed + made
