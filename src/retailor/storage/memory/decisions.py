"""In-memory ``DecisionLog`` for tests and throwaway servers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

from retailor.domain.decisions import DecisionRecord, FeedbackRecord
from retailor.domain.privacy import Subject
from retailor.storage.base import DecisionLog, LoggedDecision


class MemoryDecisionLog(DecisionLog):
    """Decisions and feedback in lists (see ``DecisionLog`` for the contract); ``clock``
    stamps what is appended (tests give theirs)."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._decisions: dict[str, DecisionRecord] = {}
        self._logged: dict[str, datetime] = {}
        self._feedback: list[FeedbackRecord] = []
        self._clock = clock
        self._lock = threading.Lock()

    def append(self, records: Sequence[DecisionRecord]) -> None:
        with self._lock:
            stamp = self._clock()
            for record in records:
                self._decisions[record.decision_id] = record
                self._logged[record.decision_id] = stamp

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

    def logged_between(
        self, after: tuple[datetime, str] | None, until: datetime, limit: int
    ) -> list[LoggedDecision]:
        with self._lock:
            found = [
                LoggedDecision(self._logged[r.decision_id], r)
                for r in self._decisions.values()
                if self._logged[r.decision_id] <= until
                and (after is None or (self._logged[r.decision_id], r.decision_id) > after)
            ]
        found.sort(key=lambda d: (d.logged_at, d.record.decision_id))
        return found[:limit]

    def naming(self, subject: Subject) -> list[DecisionRecord]:
        with self._lock:
            found = [
                r for r in self._decisions.values() if subject.names(r.customer, r.anonymous_id)
            ]
        return sorted(found, key=lambda r: (r.at, r.decision_id))

    def erase(self, subject: Subject) -> int:
        with self._lock:
            gone = {
                r.decision_id
                for r in self._decisions.values()
                if subject.names(r.customer, r.anonymous_id)
            }
            for decision_id in gone:
                del self._decisions[decision_id]
                self._logged.pop(decision_id, None)
            kept = [f for f in self._feedback if f.decision_id not in gone]
            removed = len(gone) + len(self._feedback) - len(kept)
            self._feedback = kept
        return removed
