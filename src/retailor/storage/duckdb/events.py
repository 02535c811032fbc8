"""DuckDB ``EventLog``: the ``events`` table, deduplicated by its primary key. Removing
events (erasure, retention) records the last position given in ``event_position``, so
that after a restart the next append does not take a removed event's position."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from retailor.domain.events import Event
from retailor.domain.privacy import Subject
from retailor.storage.base import AppendResult, EventLog
from retailor.storage.dedupe import first_occurrences
from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.schema import EVENT_COLUMNS, EVENT_SCHEMA, row_to_event

_COLUMNS = ", ".join(EVENT_COLUMNS)
_LOOKUP_LIMIT = 2_000  # up to this many ids, look each up in the primary-key index


class DuckDBEventLog(EventLog):
    """Events in the ``events`` table of a ``DuckDBDatabase``."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db
        # one writer process: the next position is counted here, from the newest stored
        # or the last given before events were removed, whichever is later
        row = db.rows(
            "SELECT greatest(coalesce((SELECT max(position) FROM events), 0), "
            "coalesce((SELECT max(position) FROM event_position), 0))"
        )
        self._position = int(row[0][0])
        self._append_lock = threading.Lock()  # appends take positions one at a time

    def append(self, table: pa.Table) -> AppendResult:
        table, repeated = first_occurrences(table.cast(EVENT_SCHEMA))
        if table.num_rows == 0:
            return AppendResult(accepted=0, duplicates=repeated)
        with self._append_lock:
            return self._append(table, repeated)

    def _append(self, table: pa.Table, repeated: list[str]) -> AppendResult:
        with self._db.use() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                existing = self._existing(table)
                if existing:
                    ids = table.column("event_id")
                    table = table.filter(pc.invert(pc.is_in(ids, value_set=pa.array(existing))))
                position = self._position + 1
                if table.num_rows:
                    cur.register("_incoming", table)
                    try:
                        cur.execute(
                            f"INSERT INTO events ({_COLUMNS}, position) "
                            f"SELECT {_COLUMNS}, ? FROM _incoming",
                            [position],
                        )
                    finally:
                        cur.unregister("_incoming")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        if not table.num_rows:
            return AppendResult(accepted=0, duplicates=existing + repeated)
        self._position = position
        return AppendResult(
            accepted=table.num_rows, duplicates=existing + repeated, position=position
        )

    def position(self) -> int:
        return self._position

    def read_after(
        self, position: int | None, upto: int, *, batch_size: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        low = -1 if position is None else position
        yield from self._read(
            f"SELECT {_COLUMNS} FROM events "
            "WHERE coalesce(position, 0) > ? AND coalesce(position, 0) <= ? "
            "ORDER BY coalesce(position, 0), rowid",
            [low, upto],
            batch_size,
        )

    def _read(self, query: str, params: list[Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        """Stream the rows of ``query`` as batches of ``EVENT_SCHEMA``."""
        with self._db.own() as cur:  # own cursor: the caller may interleave other calls
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                reader = cur.execute(query, params).to_arrow_reader(batch_size)
            assert reader is not None
            for batch in reader:
                yield batch.cast(EVENT_SCHEMA)

    def _existing(self, table: pa.Table) -> list[str]:
        """The ids of ``table`` the log already holds (an index lookup for small batches)."""
        with self._db.use() as cur:
            if table.num_rows <= _LOOKUP_LIMIT:
                ids = table.column("event_id").to_pylist()
                rows = cur.execute(
                    f"SELECT event_id FROM events WHERE event_id IN ({', '.join('?' * len(ids))})",
                    ids,
                ).fetchall()
            else:
                cur.register("_probe", table.select(["event_id"]))
                try:
                    rows = cur.execute(
                        "SELECT event_id FROM events WHERE event_id IN (SELECT event_id FROM _probe)"
                    ).fetchall()
                finally:
                    cur.unregister("_probe")
        if not rows:
            return []
        found = {r[0] for r in rows}
        return [i for i in table.column("event_id").to_pylist() if i in found]

    def scan(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        customer_id: str | None = None,
        types: Sequence[str] | None = None,
        batch_size: int = 65_536,
    ) -> Iterator[pa.RecordBatch]:
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if start is not None:
            where.append("timestamp >= ?")
            params.append(start)
        if end is not None:
            where.append("timestamp < ?")
            params.append(end)
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        if types:
            where.append("type IN (SELECT UNNEST(?))")
            params.append(list(types))
        yield from self._read(
            f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)} "
            "ORDER BY timestamp, received_at",
            params,
            batch_size,
        )

    def timeline(
        self, identifiers: str | Sequence[str], limit: int, types: Sequence[str] | None = None
    ) -> list[Event]:
        wanted = [identifiers] if isinstance(identifiers, str) else list(identifiers)
        typed = "" if types is None else "AND type IN (SELECT UNNEST($3::VARCHAR[])) "
        table = self._db.arrow(
            f"SELECT {_COLUMNS} FROM events "
            "WHERE (customer_id IN (SELECT UNNEST($1::VARCHAR[])) "
            f"OR anonymous_id IN (SELECT UNNEST($1::VARCHAR[]))) {typed}"
            "ORDER BY timestamp DESC, received_at DESC LIMIT $2",
            [wanted, limit] if types is None else [wanted, limit, list(types)],
        )
        return [row_to_event(row) for row in table.to_pylist()]

    def count(self) -> int:
        row = self._db.rows("SELECT count(*) FROM events")[0]
        return int(row[0]) if row else 0

    def arrivals(self, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
        rows = self._rows(
            "SELECT date_trunc('minute', received_at::TIMESTAMP) AS minute, count(*) FROM events "
            "WHERE received_at >= ? AND received_at < ? GROUP BY minute ORDER BY minute",
            [start, end],
        )
        return [(_utc(minute), int(n)) for minute, n in rows]

    def visitors(
        self, start: datetime, end: datetime, interval: str | None = None
    ) -> list[tuple[datetime | None, str | None, str | None]]:
        # truncated as plain UTC times (the session is in UTC): twice as fast as on
        # TIMESTAMPTZ, which goes through the time zone library
        period = f"date_trunc('{_unit(interval)}', timestamp::TIMESTAMP)" if interval else "NULL"
        rows = self._rows(
            f"SELECT DISTINCT {period} AS period, customer_id, anonymous_id FROM events "
            "WHERE timestamp >= ? AND timestamp < ? "
            "ORDER BY period, customer_id NULLS FIRST, anonymous_id NULLS FIRST",
            [start, end],
        )
        periods: dict[datetime, datetime] = {}  # a few distinct periods: convert each once
        return [
            (None if p is None else periods.get(p) or periods.setdefault(p, _utc(p)), c, a)
            for p, c, a in rows
        ]

    def _rows(self, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self._db.own() as cur:
            return cur.execute(query, params).fetchall()

    def erase(self, subject: Subject) -> int:
        where, params = _naming(subject)
        return self._delete(f"DELETE FROM events WHERE {where}", params)

    def expire(self, event_type: str, before: datetime) -> int:
        return self._delete(
            "DELETE FROM events WHERE type = ? AND timestamp < ?", [event_type, before]
        )

    def _delete(self, sql: str, params: list[Any]) -> int:
        with self._append_lock, self._db.use() as cur:  # not under an append
            cur.execute("BEGIN TRANSACTION")
            try:
                row = cur.execute(sql, params).fetchall()
                cur.execute(
                    "INSERT OR REPLACE INTO event_position VALUES (true, ?)", [self._position]
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return int(row[0][0]) if row else 0


def _naming(subject: Subject) -> tuple[str, list[Any]]:
    """The condition on ``events`` rows of ``subject``'s events (see ``EventLog.erase``)."""
    clauses = ["customer_id IN (SELECT UNNEST(?)) OR anonymous_id IN (SELECT UNNEST(?))"]
    params: list[Any] = [list(subject.ids), list(subject.ids)]
    for needle in subject.needles():
        clauses.append("strpos(CAST(properties AS VARCHAR), ?) > 0")
        clauses.append("strpos(CAST(context AS VARCHAR), ?) > 0")
        params += [needle, needle]
    return " OR ".join(clauses), params


def _unit(interval: str) -> str:
    """The ``date_trunc`` unit of a report interval."""
    if interval not in ("hour", "day"):
        raise ValueError(f"interval must be hour or day, not {interval!r}")
    return interval


def _utc(at: datetime) -> datetime:
    """``at`` as an aware UTC datetime (DuckDB gives naive UTC for some expressions)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
