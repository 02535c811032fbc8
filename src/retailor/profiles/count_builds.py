"""Filling new event counts from the log: one scan per new definition, on a background
thread, while events keep arriving.

The scan runs without the profiles' lock; each batch's events are attributed to their
customers under it (briefly), merges noted since the last batch applied first. The result
is installed together with the events folded meanwhile (counted once: by event id) at a
moment when everything committed to the log has been folded: in the writer thread between
two commits when there is a writer (``settle``), else at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from retailor.domain.customers import CustomerRef
from retailor.domain.events import Event, EventType
from retailor.profiles.event_counts import (
    EPOCH,
    Build,
    EventCountIndex,
    Found,
    first_kept,
    micros,
)
from retailor.profiles.segments import EventCount, event_items, matches
from retailor.profiles.service import ProfileService
from retailor.storage.base import EventLog
from retailor.storage.schema import table_to_events

log = logging.getLogger(__name__)

#: events per scanned batch (one brief hold of the profiles' lock each)
SCAN_BATCH = 8_192

#: runs a task where nothing committed is waiting to be folded; its future settles after
Settle = Callable[[Callable[[], None]], "Future[None]"]


def _at_once(task: Callable[[], None]) -> Future[None]:
    done: Future[None] = Future()
    task()
    done.set_result(None)
    return done


class CountBuilder:
    """Builds event counts from the log off the event loop (see the module docstring)."""

    def __init__(self, index: EventCountIndex, profiles: ProfileService, events: EventLog) -> None:
        self.index = index
        self.profiles = profiles
        self.events = events
        self.settle: Settle = _at_once
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segment-counts")
        self._closed = False
        # builds queued or running (a follow-up is queued before its first ends): wait_idle
        self._idle = threading.Condition()
        self._pending = 0

    def start(self, conditions: Iterable[EventCount]) -> Future[None] | None:
        """Build ``conditions`` (those not being built already) from one scan; returns the
        build's future, None when there was nothing to build."""
        with self.profiles.lock:
            build = self.index.begin(conditions, self.profiles.newest)
        if build is None:
            return None
        if self._closed:
            self.index.abandon(build, RuntimeError("the server is shutting down"))
            return build.future
        with self._idle:
            self._pending += 1
        try:
            running = self._pool.submit(self._run, build)
        except RuntimeError as exc:  # closed meanwhile
            self._ended()
            self.index.abandon(build, exc)
        else:
            running.add_done_callback(lambda _: self._ended())
        return build.future

    def _ended(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no build is queued or running: every build started before the call
        has been installed (or abandoned), and so have the follow-ups it started. False on
        timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop: a scan under way gives up at its next batch."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, build: Build) -> None:
        try:
            found, applied = self._scan(build)
            again: list[EventCount] = []

            def install() -> None:
                with self.profiles.lock:
                    again.extend(self.index.finish(build, found, applied))

            self.settle(install).result()
        except Exception as exc:
            if not self._closed:
                log.exception("building segment event counts from the log failed")
            self.index.abandon(build, exc)
            return
        if again:
            self.start(again)

    def _scan(self, build: Build) -> tuple[list[Found], int]:
        counters = build.counters
        conditions = [c.condition for c in counters]
        found = [Found({}) for _ in counters]
        items: dict[int, set[str]] = {}
        applied = 0
        kinds = sorted(set().union(*(c.types for c in conditions)))
        windows = [c.within for c in conditions]
        start = None
        if build.newest is not None and all(w is not None for w in windows):
            start = _from_micros(build.newest) - max(w for w in windows if w is not None)
        category_of = self.profiles.category_of
        for batch in self.events.scan(start=start, types=kinds, batch_size=SCAN_BATCH):
            if self._closed:
                raise RuntimeError("the server is shutting down")
            rows: list[tuple[Event, CustomerRef, list[int]]] = []
            for event in table_to_events(batch):
                ref = self.profiles.primary_ref(event)
                hits = []
                for position, condition in enumerate(conditions):
                    if condition.category is not None and event.type.value in condition.types:
                        items.setdefault(position, set()).update(event_items(event))
                    if matches(event, condition, category_of):
                        hits.append(position)
                if ref is not None and hits:
                    rows.append((event, ref, hits))
            with self.profiles.lock:
                for absorbed, kept in self.index.merges_since(build, applied):
                    for each in found:
                        gone = each.entries.pop(absorbed, None)
                        if gone:
                            each.entries.setdefault(kept, []).extend(gone)
                applied = len(build.merges)
                known: dict[CustomerRef, str | None] = {}
                keyed = []
                for event, ref, hits in rows:
                    if event.type is EventType.ALIAS:  # its previous id is read as the graph says
                        key = self.profiles.customer_of(event, ref)
                    elif ref in known:
                        key = known[ref]
                    else:
                        key = known[ref] = self.profiles.customer_of(event, ref)
                    keyed.append((key, event, hits))
            for key, event, hits in keyed:
                if key is None:
                    continue  # not folded into the profiles (yet): it arrives live
                entry = (micros(event.timestamp), event.event_id)
                for position in hits:
                    entries = found[position].entries.setdefault(key, [])
                    entries.append(entry)
                    counter = counters[position]
                    if len(entries) > 2 * counter.enough + 64 and build.newest is not None:
                        _trim(entries, build.newest, counter.enough, counter.window)
        self.index.note_items(build, items)
        for each, counter in zip(found, counters, strict=True):
            each.prepare(build.newest, counter.enough, counter.window)
        return found, applied


def _trim(entries: list[tuple[int, str]], newest: int, enough: int, window: int | None) -> None:
    """Drop the entries whose times could no longer matter (memory stays bounded)."""
    entries.sort()
    del entries[: first_kept([at for at, _ in entries], newest, enough, window)]


def _from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)
