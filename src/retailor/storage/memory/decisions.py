"""In-memory ``DecisionLog`` for tests and throwaway servers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime

from retailor.domain.decisions import DecisionRecord, FeedbackRecord
from retailor.storage.base import DecisionLog


class MemoryDecisionLog(DecisionLog):
    """Decisions and feedback in lists (see ``DecisionLog`` for the contract)."""

    def __init__(self) -> None:
        self._decisions: dict[str, DecisionRecord] = {}
        self._feedback: list[FeedbackRecord] = []
        self._lock = threading.Lock()

    def append(self, records: Sequence[DecisionRecord]) -> None:
        with self._lock:
            for record in records:
                self._decisions[record.decision_id] = record

    def get(self, decision_id: str) -> DecisionRecord | None:
        return self._decisions.get(decision_id)

    def scan(self, *, start: datetime | None = None) -> Iterator[DecisionRecord]:
        with self._lock:
            records = sorted(self._decisions.values(), key=lambda r: (r.at, r.decision_id))
        yield from (r for r in records if start is None or r.at >= start)

    def add_feedback(self, records: Sequence[FeedbackRecord]) -> None:
        with self._lock:
            self._feedback.extend(records)

    def feedback(self, *, decision_id: str | None = None) -> list[FeedbackRecord]:
        with self._lock:
            found = [f for f in self._feedback if decision_id in (None, f.decision_id)]
        return sorted(found, key=lambda f: f.at)

    def count(self) -> int:
        return len(self._decisions)

    def decisions_between(
        self, after: tuple[datetime, str] | None, until: datetime, limit: int
    ) -> list[DecisionRecord]:
        with self._lock:
            found = [
                r
                for r in self._decisions.values()
                if r.at <= until and (after is None or (r.at, r.decision_id) > after)
            ]
        found.sort(key=lambda r: (r.at, r.decision_id))
        return found[:limit]

    def feedback_for(self, decision_ids: Sequence[str]) -> list[FeedbackRecord]:
        wanted = set(decision_ids)
        with self._lock:
            found = [f for f in self._feedback if f.decision_id in wanted]
        return sorted(found, key=lambda f: f.at)
