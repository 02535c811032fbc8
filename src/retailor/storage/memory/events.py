"""In-memory ``EventLog``."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from retailor.domain.events import Event
from retailor.domain.privacy import Subject
from retailor.storage.base import AppendResult, EventLog
from retailor.storage.schema import EVENT_SCHEMA, row_to_event


class MemoryEventLog(EventLog):
    """Rows kept in a list in arrival order, with a set of known ids and each row's
    position (kept beside the row: the row itself is exactly the stored event)."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._positions: list[int] = []
        self._ids: set[str] = set()
        self._position = 0
        self._lock = threading.Lock()

    def append(self, table: pa.Table) -> AppendResult:
        rows = table.cast(EVENT_SCHEMA).to_pylist()
        duplicates: list[str] = []
        with self._lock:
            position = self._position + 1
            for row in rows:
                if row["event_id"] in self._ids:
                    duplicates.append(row["event_id"])
                else:
                    self._ids.add(row["event_id"])
                    self._rows.append(row)
                    self._positions.append(position)
            accepted = len(rows) - len(duplicates)
            if accepted:
                self._position = position
        return AppendResult(
            accepted=accepted, duplicates=duplicates, position=position if accepted else None
        )

    def position(self) -> int:
        with self._lock:
            return self._position

    def read_after(
        self, position: int | None, upto: int, *, batch_size: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        low = -1 if position is None else position
        with self._lock:
            rows = [
                row for row, at in zip(self._rows, self._positions, strict=True) if low < at <= upto
            ]
        for i in range(0, len(rows), batch_size):
            yield pa.RecordBatch.from_pylist(rows[i : i + batch_size], schema=EVENT_SCHEMA)

    def scan(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        customer_id: str | None = None,
        types: Sequence[str] | None = None,
        batch_size: int = 65_536,
    ) -> Iterator[pa.RecordBatch]:
        wanted = set(types) if types else None
        with self._lock:
            rows = [
                r
                for r in self._rows
                if (start is None or r["timestamp"] >= start)
                and (end is None or r["timestamp"] < end)
                and (customer_id is None or r["customer_id"] == customer_id)
                and (wanted is None or r["type"] in wanted)
            ]
        rows.sort(key=lambda r: r["timestamp"])
        for i in range(0, len(rows), batch_size):
            yield pa.RecordBatch.from_pylist(rows[i : i + batch_size], schema=EVENT_SCHEMA)

    def timeline(
        self, identifiers: str | Sequence[str], limit: int, types: Sequence[str] | None = None
    ) -> list[Event]:
        wanted = {identifiers} if isinstance(identifiers, str) else set(identifiers)
        kinds = set(types) if types is not None else None
        with self._lock:
            rows = [
                (n, r)
                for n, r in enumerate(self._rows)
                if (r["customer_id"] in wanted or r["anonymous_id"] in wanted)
                and (kinds is None or r["type"] in kinds)
            ]
        rows.sort(key=lambda nr: (nr[1]["timestamp"], nr[1]["received_at"], nr[0]), reverse=True)
        return [row_to_event(r) for _, r in rows[:limit]]

    def count(self) -> int:
        with self._lock:
            return len(self._rows)

    def arrivals(self, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
        with self._lock:
            minutes = Counter(
                r["received_at"].replace(second=0, microsecond=0)
                for r in self._rows
                if start <= r["received_at"] < end
            )
        return sorted(minutes.items())

    def visitors(
        self, start: datetime, end: datetime, interval: str | None = None
    ) -> list[tuple[datetime | None, str | None, str | None]]:
        with self._lock:
            found = {
                (_period(r["timestamp"], interval), r["customer_id"], r["anonymous_id"])
                for r in self._rows
                if start <= r["timestamp"] < end
            }
        return sorted(found, key=_visitor_order)

    def erase(self, subject: Subject) -> int:
        return self._drop(lambda r: _names(subject, r))

    def expire(self, event_type: str, before: datetime) -> int:
        return self._drop(lambda r: r["type"] == event_type and r["timestamp"] < before)

    def _drop(self, gone: Callable[[dict[str, Any]], bool]) -> int:
        with self._lock:
            kept = [
                (r, at) for r, at in zip(self._rows, self._positions, strict=True) if not gone(r)
            ]
            removed = len(self._rows) - len(kept)
            self._rows = [r for r, _ in kept]
            self._positions = [at for _, at in kept]
            self._ids = {r["event_id"] for r in self._rows}
        return removed


def _names(subject: Subject, row: dict[str, Any]) -> bool:
    """Whether a stored row is one of ``subject``'s events (see ``EventLog.erase``)."""
    if subject.names(row["customer_id"], row["anonymous_id"]):
        return True
    text = f"{row['properties']}\x1f{row['context']}"
    return subject.mentioned_in(text)


def _period(at: datetime, interval: str | None) -> datetime | None:
    """The start of ``at``'s UTC hour or day (None without an interval)."""
    if interval == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    if interval == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return None


def _visitor_order(
    row: tuple[datetime | None, str | None, str | None],
) -> tuple[datetime, str, str, str, str]:
    period, customer, anonymous = row
    return (period or datetime.min, "" if customer is None else "~", customer or "",
            "" if anonymous is None else "~", anonymous or "")  # fmt: skip
