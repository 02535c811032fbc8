"""Group commit: one background thread makes submitted events durable in micro-batches.

Callers submit events (and rejections to quarantine) and get a future; the thread
drains everything queued, writes it in one append, commits, and resolves each future
with its own share of the result. An event is acknowledged only after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.storage.base import AppendResult, EventLog, QuarantineStore
from retailor.storage.schema import EVENT_SCHEMA, events_to_table, table_to_events

log = logging.getLogger(__name__)

CommitObserver = Callable[[int, float], None]
StoredObserver = Callable[[list[Event]], None]  # newly stored events, before anyone is answered
#: newly stored events and the log position their append took, before anyone is answered
CommittedObserver = Callable[[list[Event], int | None], None]


@dataclass
class _Submission:
    batch: Sequence[Event] | pa.Table
    rejections: Sequence[Rejection]
    future: Future[AppendResult] | asyncio.Future[AppendResult] = field(default_factory=Future)

    @property
    def size(self) -> int:
        return self.batch.num_rows if isinstance(self.batch, pa.Table) else len(self.batch)

    def ids(self) -> list[str]:
        if isinstance(self.batch, pa.Table):
            return self.batch.column("event_id").to_pylist()  # type: ignore[no-any-return]
        return [e.event_id for e in self.batch]


@dataclass
class _Task:
    """Work to run on the writer thread once what was submitted before it is stored and
    handed to the projections."""

    run: Callable[[], None]
    future: Future[None] = field(default_factory=Future)

    def execute(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # the future carries it to whoever waits
            self.future.set_exception(exc)
        else:
            self.future.set_result(None)


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
        on_stored: CommittedObserver | None = None,
    ) -> None:
        self._events = events
        self._quarantine = quarantine
        self._max_rows = max_rows
        self._on_commit = on_commit
        self._on_stored = on_stored
        self._queue: queue.SimpleQueue[_Submission | _Task | None] = queue.SimpleQueue()
        self._closed = False
        # what was queued and what the thread has handled, for ``wait_idle``
        self._idle = threading.Condition()
        self._queued = 0
        self._handled = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="retailor-writer", daemon=True)
        self._thread.start()

    def submit(
        self, events: Sequence[Event] | pa.Table, rejections: Sequence[Rejection] = ()
    ) -> Future[AppendResult]:
        """Queue events for the next commit; the future resolves once they are durable."""
        future: Future[AppendResult] = Future()
        self._put(_Submission(events, rejections, future))
        return future

    def submit_async(
        self, events: Sequence[Event] | pa.Table, rejections: Sequence[Rejection] = ()
    ) -> asyncio.Future[AppendResult]:
        """Like ``submit``, for a caller on an event loop: awaitable, and every submission of
        a commit is settled with one wake-up of the loop instead of one per submission."""
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._put(_Submission(events, rejections, future))
        return future

    def after_stored(self, task: Callable[[], None]) -> Future[None]:
        """Run ``task`` on the writer thread between two commits, once everything submitted
        before it is stored and handed to ``on_stored`` (nothing committed is then waiting
        to reach the projections); the future settles when it has run."""
        queued = _Task(task)
        self._put(queued)
        return queued.future

    def _put(self, item: _Submission | _Task) -> None:
        with self._idle:
            if self._closed:
                raise WriterClosedError("the event writer is stopped")
            self._queued += 1
            self._queue.put(item)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted before the call is committed and handed to
        ``on_stored`` (and every task queued before it has run); False on timeout, or when
        the writer stopped first."""
        with self._idle:
            target = self._queued
            self._idle.wait_for(lambda: self._handled >= target or self._stopped, timeout)
            return self._handled >= target

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._idle:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            with self._idle:
                self._stopped = True
                self._idle.notify_all()

    def _handled_some(self, count: int) -> None:
        with self._idle:
            self._handled += count
            self._idle.notify_all()

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            if isinstance(first, _Task):
                first.execute()
                self._handled_some(1)
                continue
            group = [first]
            rows = first.size
            task = None
            while rows < self._max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                if isinstance(nxt, _Task):
                    task = nxt
                    break
                group.append(nxt)
                rows += nxt.size
            self._commit(group)
            if task is not None:
                task.execute()
            self._handled_some(len(group) + (task is not None))

    def _commit(self, group: list[_Submission]) -> None:
        started = time.perf_counter()
        try:
            rejections = [r for s in group for r in s.rejections]
            if rejections:
                self._quarantine.add(rejections)
            ids, keeps, repeated = _first_occurrences(group)
            table, loose, tables = _combined_table(group, keeps)
            existing: set[str] = set()
            position: int | None = None
            if table.num_rows:
                appended = self._events.append(table)
                existing, position = set(appended.duplicates), appended.position
        except Exception as exc:  # the futures carry the failure to every caller
            log.exception("commit of %d submissions failed", len(group))
            _settle([(s, exc) for s in group])
            return
        outcomes: list[tuple[_Submission, AppendResult | BaseException]] = []
        for s, sub_ids, keep, again in zip(group, ids, keeps, repeated, strict=True):
            dups = [i for i, k in zip(sub_ids, keep, strict=True) if k and i in existing]
            outcomes.append(
                (s, AppendResult(accepted=s.size - len(dups) - len(again), duplicates=dups + again))
            )
        if self._on_stored is not None:
            self._notify_stored(loose, tables, existing, position)
        _settle(outcomes)
        if self._on_commit:
            self._on_commit(sum(s.size for s in group), time.perf_counter() - started)

    def _notify_stored(
        self, loose: list[Event], tables: list[pa.Table], existing: set[str], position: int | None
    ) -> None:
        """Hand the newly stored events to the projections (read-your-writes). A failure
        here is logged: the events are stored and the projections can be rebuilt."""
        assert self._on_stored is not None
        try:
            stored = [e for e in loose if e.event_id not in existing] if existing else loose
            for table in tables:
                if existing:
                    ids = table.column("event_id")
                    table = table.filter(
                        pc.invert(pc.is_in(ids, value_set=pa.array(sorted(existing))))
                    )
                stored.extend(table_to_events(table))
            if stored:
                self._on_stored(stored, position)
        except Exception:
            log.exception(
                "updating projections after a commit failed; they will be rebuilt at start"
            )


def _settle(outcomes: list[tuple[_Submission, AppendResult | BaseException]]) -> None:
    """Resolve every submission's future: thread futures at once, asyncio futures with one
    ``call_soon_threadsafe`` per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[AppendResult], Any]]] = {}
    for s, outcome in outcomes:
        if isinstance(s.future, asyncio.Future):
            by_loop.setdefault(s.future.get_loop(), []).append((s.future, outcome))
        elif isinstance(outcome, BaseException):
            s.future.set_exception(outcome)
        else:
            s.future.set_result(outcome)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(_settle_on_loop, items)


def _settle_on_loop(items: list[tuple[asyncio.Future[AppendResult], Any]]) -> None:
    for future, outcome in items:
        if future.done():  # the caller gave up (cancelled)
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _first_occurrences(
    group: list[_Submission],
) -> tuple[list[list[str]], list[list[bool]], list[list[str]]]:
    """Per submission: its ids, which of them are first occurrences in the group, and the
    ids it repeats (from itself or an earlier submission)."""
    seen: set[str] = set()
    all_ids, keeps, repeated = [], [], []
    for s in group:
        ids = s.ids()
        keep: list[bool] = []
        again: list[str] = []
        for event_id in ids:
            if event_id in seen:
                keep.append(False)
                again.append(event_id)
            else:
                keep.append(True)
                seen.add(event_id)
        all_ids.append(ids)
        keeps.append(keep)
        repeated.append(again)
    return all_ids, keeps, repeated


def _combined_table(
    group: list[_Submission], keeps: list[list[bool]]
) -> tuple[pa.Table, list[Event], list[pa.Table]]:
    """One table of every first occurrence (loose events converted together, in one go),
    with the loose events and the tables it was made of."""
    loose: list[Event] = []
    tables: list[pa.Table] = []
    for s, keep in zip(group, keeps, strict=True):
        if isinstance(s.batch, pa.Table):
            table = s.batch if all(keep) else s.batch.filter(pa.array(keep, pa.bool_()))
            tables.append(table.cast(EVENT_SCHEMA))
        else:
            loose.extend(e for e, k in zip(s.batch, keep, strict=True) if k)
    parts = [*tables, events_to_table(loose)] if loose else tables
    if not parts:
        return EVENT_SCHEMA.empty_table(), loose, tables
    return (parts[0] if len(parts) == 1 else pa.concat_tables(parts)), loose, tables
