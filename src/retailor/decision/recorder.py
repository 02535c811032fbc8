"""The decision log writer: decisions are queued by the engine (no I/O on the request
path) and appended by a background thread in small batches; recent decisions stay in
memory so feedback and ``GET /v1/decisions/{id}`` find them before and after the write.

A crash loses at most the last ``flush_seconds`` (half a second) of decisions, never events.
When workers share hot state, each decision is also put in the shared cache (for
``SHARED_SECONDS``) by a thread of its own as soon as it is queued, off the request path;
a look-up of a decision made by another worker (``get(…, wait=True)``, for feedback
and reads through the API) waits up to ``SHARED_WAIT_SECONDS`` for it to arrive there, so
feedback sent to another worker finds a decision before the log holds it.
While the log cannot be written (its database is down), decisions are kept in memory and
written with the next batch once it can (up to ``RETRY_LIMIT``; older ones beyond are
dropped and counted): the failure is logged once, the return once, and ``unwritten`` and
``dropped`` say how many wait and how many were given up.
Recent decisions are kept encoded (bytes are invisible to the garbage collector, so a
large memory of decisions costs no collection time).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import msgspec

from retailor.domain.decisions import DecisionRecord
from retailor.storage.base import DecisionLog
from retailor.storage.errors import StorageUnavailableError
from retailor.storage.hot import HotCache

log = logging.getLogger("retailor.decisions")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(DecisionRecord).decode
RECENT = 100_000
#: How long a decision stays in the cache shared with other workers (it is in the log long
#: before: written every ``flush_seconds``).
SHARED_SECONDS = 120.0
#: How long the sharing thread gathers decisions before putting them in one round trip.
SHARE_GATHER_SECONDS = 0.02
#: How long a look-up through the API waits for a decision made by another worker.
SHARED_WAIT_SECONDS = 1.0
#: Decisions kept for another try when the log cannot be written.
RETRY_LIMIT = 100_000


class DecisionRecorder:
    """Queue, batch and remember decisions (see the module docstring)."""

    def __init__(
        self,
        store: DecisionLog,
        *,
        flush_seconds: float = 0.5,
        on_flush: Callable[[], None] | None = None,
        shared: HotCache | None = None,
    ) -> None:
        self.store = store
        self.shared = shared
        self.flush_seconds = flush_seconds
        self._on_flush = on_flush
        self._queue: queue.SimpleQueue[DecisionRecord | None] = queue.SimpleQueue()
        self._recent: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._written = threading.Condition()
        self._queued_count = 0
        self._written_count = 0
        self._closed = False
        # rounds (a write of what is queued, then ``on_flush``) begun and ended: ``wait_idle``
        self._rounds = threading.Condition()
        self._rounds_begun = 0
        self._rounds_ended = 0
        self._stopped = False
        self._wake = threading.Event()
        self._failed: list[DecisionRecord] = []
        self._failing = False
        #: decisions given up after the log could not be written for too long
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="retailor-decisions", daemon=True)
        self._thread.start()
        self._sharing: queue.SimpleQueue[tuple[str, bytes] | None] = queue.SimpleQueue()
        self._share_thread: threading.Thread | None = None
        if shared is not None:
            self._share_thread = threading.Thread(
                target=self._share, name="retailor-decisions-share", daemon=True
            )
            self._share_thread.start()

    def add(self, record: DecisionRecord) -> None:
        encoded = _encode(record)
        if self.shared is not None:
            self._sharing.put((record.decision_id, encoded))
        with self._lock:
            self._recent[record.decision_id] = encoded
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
            self._queued_count += 1
        self._queue.put(record)

    @property
    def unwritten(self) -> int:
        """Decisions kept for another try because the log could not be written."""
        return len(self._failed)

    def get(self, decision_id: str, *, wait: bool = False) -> DecisionRecord | None:
        """A decision by id: from memory when recent, else from the shared cache (made by
        another worker), else from the log. ``wait``: when it is in none of them, look
        again for up to ``SHARED_WAIT_SECONDS`` (a decision another worker just made is
        on its way to the cache)."""
        with self._lock:
            found = self._recent.get(decision_id)
        if found is not None:
            return _decode(found)
        if self.shared is None:
            return self.store.get(decision_id)
        deadline = time.monotonic() + (SHARED_WAIT_SECONDS if wait else 0.0)
        while True:
            found = self.shared.get("decision", decision_id)
            if found is not None:
                return _decode(found)
            record = self.store.get(decision_id)
            if record is not None or time.monotonic() >= deadline:
                return record
            time.sleep(0.02)

    def _share(self) -> None:
        """Put queued decisions in the shared cache, as many at once as are waiting."""
        assert self.shared is not None
        failing = False
        while True:
            item = self._sharing.get()
            if item is not None:
                # gather a few milliseconds' worth: one round trip for many decisions, and
                # this thread does not take the interpreter from the requests at each one
                time.sleep(SHARE_GATHER_SECONDS)
            batch: list[tuple[str, bytes]] = []
            stop = item is None
            if item is not None:
                batch.append(item)
            while not stop:
                try:
                    more = self._sharing.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                else:
                    batch.append(more)
            if batch:
                try:
                    self.shared.put_many("decision", batch, SHARED_SECONDS)
                    failing = False
                except Exception as exc:  # Redis away: the log still gets them
                    if not failing:
                        log.warning("cannot share decisions with other workers: %s", exc)
                    failing = True
            if stop:
                return

    def _run(self) -> None:
        """Every ``flush_seconds`` (or when woken by flush/close), write what is queued in
        one append: one statement per interval, whatever the request rate."""
        stop = False
        try:
            while not stop:
                self._wake.wait(self.flush_seconds)
                self._wake.clear()
                with self._rounds:
                    self._rounds_begun += 1
                try:
                    stop = self._round()
                finally:
                    with self._rounds:
                        self._rounds_ended += 1
                        self._rounds.notify_all()
        finally:
            with self._rounds:
                self._stopped = True
                self._rounds.notify_all()

    def _round(self) -> bool:
        """Write what is queued, then call ``on_flush``; whether the recorder was closed."""
        stop = False
        batch: list[DecisionRecord] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            batch.append(item)
        batch = self._failed + batch
        self._failed = []
        if batch:
            try:
                self.store.append(batch)
            except Exception as exc:
                # keep them for the next round (bounded): a passing error loses nothing
                if not self._failing:  # once per outage, not twice a second
                    log.error(
                        "could not write %d decisions to the decision log (%s); they are kept "
                        "and written when it can be",
                        len(batch),
                        exc,
                        exc_info=not isinstance(exc, StorageUnavailableError),
                    )
                self._failing = True
                self._failed = batch[-RETRY_LIMIT:]
                if len(batch) > RETRY_LIMIT:
                    self.dropped += len(batch) - RETRY_LIMIT
                    log.error(
                        "dropped %d decisions after repeated failures", len(batch) - RETRY_LIMIT
                    )
                return stop
            if self._failing:
                self._failing = False
                log.warning("the decision log is written again (%d decisions)", len(batch))
            with self._written:
                self._written_count += len(batch)
                self._written.notify_all()
        if self._on_flush is not None:
            self._on_flush()
        return stop

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        with self._lock:
            target = self._queued_count
        self._wake.set()
        with self._written:
            return self._written.wait_for(lambda: self._written_count >= target, timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until a round begun after the call has ended: everything queued before it
        is handled (written, or kept for another try when the log cannot be written) and
        ``on_flush`` (feedback processing) has run over what waited for it. False on
        timeout, or when the recorder stopped first."""
        with self._rounds:
            target = self._rounds_begun + 1
        self._wake.set()
        with self._rounds:
            self._rounds.wait_for(lambda: self._rounds_ended >= target or self._stopped, timeout)
            return self._rounds_ended >= target

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._wake.set()
        self._thread.join(timeout=10)
        if self._share_thread is not None:
            self._sharing.put(None)
            self._share_thread.join(timeout=10)
