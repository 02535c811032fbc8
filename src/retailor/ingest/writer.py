"""Group commit: one background thread makes submitted events durable in micro-batches.

Callers submit events (and rejections to quarantine) and get a future; the thread
drains everything queued, writes it in one append, commits, and resolves each future
with its own share of the result. An event is acknowledged only after its commit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import pyarrow as pa

from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.storage.base import AppendResult, EventLog, QuarantineStore
from retailor.storage.schema import EVENT_SCHEMA, events_to_table

log = logging.getLogger(__name__)

CommitObserver = Callable[[int, float], None]


@dataclass
class _Submission:
    table: pa.Table
    rejections: Sequence[Rejection]
    future: Future[AppendResult] = field(default_factory=Future)


class WriterClosedError(RuntimeError):
    """The writer was stopped; nothing more can be submitted."""


class GroupCommitWriter:
    """The single writer of an event log (see the module docstring)."""

    def __init__(
        self,
        events: EventLog,
        quarantine: QuarantineStore,
        *,
        max_rows: int = 200_000,
        on_commit: CommitObserver | None = None,
    ) -> None:
        self._events = events
        self._quarantine = quarantine
        self._max_rows = max_rows
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="retailor-writer", daemon=True)
        self._thread.start()

    def submit(
        self, events: Sequence[Event] | pa.Table, rejections: Sequence[Rejection] = ()
    ) -> Future[AppendResult]:
        """Queue events for the next commit; the future resolves once they are durable."""
        if self._closed:
            raise WriterClosedError("the event writer is stopped")
        table = events if isinstance(events, pa.Table) else events_to_table(events)
        submission = _Submission(table, rejections)
        self._queue.put(submission)
        return submission.future

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            rows = first.table.num_rows
            while rows < self._max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
                rows += nxt.table.num_rows
            self._commit(group)

    def _commit(self, group: list[_Submission]) -> None:
        started = time.perf_counter()
        try:
            rejections = [r for s in group for r in s.rejections]
            if rejections:
                self._quarantine.add(rejections)
            tables, repeated = _unique_across(group)
            fresh = [t for t in tables if t.num_rows]
            existing: set[str] = set()
            if fresh:
                result = self._events.append(pa.concat_tables(fresh).cast(EVENT_SCHEMA))
                existing = set(result.duplicates)
        except BaseException as exc:  # the futures carry the failure to every caller
            log.exception("commit of %d submissions failed", len(group))
            for s in group:
                s.future.set_exception(exc)
            return
        for s, table, again in zip(group, tables, repeated, strict=True):
            dups = [i for i in table.column("event_id").to_pylist() if i in existing]
            dups += again
            s.future.set_result(AppendResult(accepted=s.table.num_rows - len(dups), duplicates=dups))
        if self._on_commit:
            self._on_commit(sum(s.table.num_rows for s in group), time.perf_counter() - started)


def _unique_across(group: list[_Submission]) -> tuple[list[pa.Table], list[list[str]]]:
    """Keep the first occurrence of each id across the group; list each submission's repeats."""
    seen: set[str] = set()
    tables: list[pa.Table] = []
    repeated: list[list[str]] = []
    for s in group:
        keep: list[bool] = []
        again: list[str] = []
        for event_id in s.table.column("event_id").to_pylist():
            if event_id in seen:
                keep.append(False)
                again.append(event_id)
            else:
                keep.append(True)
                seen.add(event_id)
        tables.append(s.table.filter(pa.array(keep, pa.bool_())) if again else s.table)
        repeated.append(again)
    return tables, repeated
