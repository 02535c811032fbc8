"""PostgreSQL ``QuarantineStore``: the ``quarantine`` table.

Rejected input may hold any character, NUL among them, which a PostgreSQL text column
refuses. The payload is therefore kept as UTF-8 bytes and comes back exactly; in the
reason and the event id (text, for people to read and query) a NUL becomes U+FFFD.
The rejections naming a person are found by their event id, or by a needle's UTF-8 bytes
inside the payload's (``position`` over ``bytea``).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from retailor.domain.privacy import Subject
from retailor.domain.quarantine import Rejection
from retailor.storage.base import QuarantineStore
from retailor.storage.postgres.database import PostgresDatabase

_FIELDS = ("quarantine_id", "received_at", "source", "reason", "payload", "event_id", "index")
_COLUMNS = ", ".join(f'"{f}"' for f in _FIELDS)
_INSERT = (
    f"INSERT INTO quarantine ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (quarantine_id) DO NOTHING"
)


def _to_bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


def _to_text(text: str | None) -> str | None:
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def _to_rejection(row: tuple[Any, ...]) -> Rejection:
    quarantine_id, received_at, source, reason, payload, event_id, index = row
    return Rejection(
        quarantine_id=quarantine_id,
        received_at=received_at,
        source=source,
        reason=reason,
        payload=bytes(payload).decode("utf-8", errors="surrogatepass"),
        event_id=event_id,
        index=index,
    )


class PostgresQuarantineStore(QuarantineStore):
    """Rejections in the ``quarantine`` table of a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def add(self, rejections: Sequence[Rejection]) -> None:
        if not rejections:
            return
        rows = [
            (_to_text(r.quarantine_id), r.received_at, _to_text(r.source), _to_text(r.reason),
             _to_bytes(r.payload), _to_text(r.event_id), r.index)
            for r in rejections
        ]  # fmt: skip
        with self._db.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(_INSERT, rows)

    @staticmethod
    def _where(source: str | None, reason: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if source is not None:
            clauses.append("source = %s")
            params.append(source)
        if reason is not None:
            clauses.append("reason = %s")
            params.append(_to_text(reason))
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
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM quarantine {where} "
                "ORDER BY received_at DESC, quarantine_id DESC LIMIT %s OFFSET %s",
                [*params, limit, offset],
            ).fetchall()
        return [_to_rejection(row) for row in rows]

    def count(self, *, source: str | None = None, reason: str | None = None) -> int:
        where, params = self._where(source, reason)
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM quarantine {where}", params).fetchone()
        return int(row[0]) if row else 0

    def tally(self, start: datetime, end: datetime) -> builtins.list[tuple[datetime, str, int]]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT date_trunc('hour', received_at AT TIME ZONE 'UTC') AS hour, reason, "
                "count(*) FROM quarantine WHERE received_at >= %s AND received_at < %s "
                'GROUP BY hour, reason ORDER BY hour, reason COLLATE "C"',
                [start, end],
            ).fetchall()
        return [(hour.replace(tzinfo=UTC), reason, int(n)) for hour, reason, n in rows]

    def naming(self, subject: Subject) -> builtins.list[Rejection]:
        where, params = _naming(subject)
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM quarantine WHERE {where} "
                "ORDER BY received_at DESC, quarantine_id DESC",
                params,
            ).fetchall()
        return [_to_rejection(row) for row in rows]

    def erase(self, subject: Subject) -> int:
        where, params = _naming(subject)
        with self._db.connection() as conn:
            return conn.execute(f"DELETE FROM quarantine WHERE {where}", params).rowcount


def _naming(subject: Subject) -> tuple[str, builtins.list[Any]]:
    """The condition on ``quarantine`` rows that name ``subject``."""
    clauses = ["event_id = ANY(%s)"]
    params: builtins.list[Any] = [[_to_text(i) for i in subject.ids]]
    for needle in subject.needles():
        clauses.append("position(%b IN payload) > 0")
        params.append(_to_bytes(needle))
    return " OR ".join(clauses), params
