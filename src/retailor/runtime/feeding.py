"""Keeping this process's projections in step with an event log that other processes
append to (PostgreSQL), so that many workers answer as one Retailor.

Every append to the log has a position (1, 2, 3, … with no gap, in commit order; see
``EventLog``). Each worker folds every append into its projections (identities and
profiles, online features, segments' event counts, the models' stream) exactly once and in
position order, whoever appended it:

- its own appends, on the writer thread after the commit and before the answer, after
  the earlier positions it has not folded yet; then it announces the position on the
  shared ``EventFeed`` (Redis) with the events encoded, still before the answer;
- before a read that must see every acknowledged event (a decision, a profile), one look
  at the feed's head (one Redis round trip, shared by the requests that were waiting
  for it; ``catch_up_async``); when another worker appended since, the missing
  positions are folded first, from the payloads the feed still holds or else from the
  log;
- every ``poll_seconds`` in the background, up to the log's own newest position too, so
  appends nobody announced (``retailor import``, a worker killed between its commit and
  its announcement) are folded within a second.

Since every worker folds the same appends in the same order, each one's profiles equal a
rebuild from the log. A new worker starts from the newest snapshot of the projections
(``SnapshotStore``, taken at a position) and folds only the appends after it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import msgspec

from retailor.domain.events import Event
from retailor.storage.base import EventLog
from retailor.storage.hot import EventFeed
from retailor.storage.schema import table_to_events

log = logging.getLogger(__name__)

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[Event]).decode

#: Folds a batch of stored events into every projection of this process.
Project = Callable[[list[Event]], None]


def encode_events(events: list[Event]) -> bytes | None:
    """The payload an append is announced with; None when the events hold what the
    payload format cannot (an integer past 64 bits): readers then take them from the log."""
    try:
        return _encode(events)
    except OverflowError:
        return None


def decode_events(payload: bytes) -> list[Event]:
    return _decode(payload)


@dataclass
class _HeadReads:
    """The reads of the feed's head of one event loop: who waits for the next one, and
    the task sending them (None when none is out)."""

    waiting: list[asyncio.Future[int]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class FeedFollower:
    """This process's place in the shared log (see the module docstring)."""

    def __init__(
        self,
        events: EventLog,
        feed: EventFeed,
        project: Project,
        position: int,
        *,
        poll_seconds: float = 0.5,
    ) -> None:
        self._events = events
        self._feed = feed
        self._project = project
        self._position = position
        self._lock = threading.Lock()
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # per event loop: the requests waiting for a read of the head, and the reader
        self._reads: dict[asyncio.AbstractEventLoop, _HeadReads] = {}
        #: appends folded from the feed's payloads and from the log (for metrics)
        self.folded_from_feed = 0
        self.folded_from_log = 0

    @property
    def position(self) -> int:
        """The newest position folded into this process's projections."""
        return self._position

    @property
    def lock(self) -> threading.Lock:
        """Held while appends are folded (a snapshot holds it to read a consistent state)."""
        return self._lock

    def committed(self, position: int | None, events: list[Event]) -> None:
        """This process appended ``events`` at ``position`` (writer thread, before the
        answer): fold what comes before, then them, then announce them."""
        if position is None:
            return
        with self._lock:
            if position > self._position:
                self._fold_upto(position - 1)
                self._project(events)
                self._position = position
            # else: a read already folded it from the log, between the commit and now
        self._feed.announce(position, encode_events(events))

    def catch_up(self) -> int:
        """Fold every append announced so far (before a read); returns the position."""
        head = self._feed.head()
        if head > self._position:
            with self._lock:
                self._fold_upto(head)
        return self._position

    async def catch_up_async(self) -> int:
        """``catch_up`` for a request on the event loop: the feed's head is read without
        blocking the loop, and reads are shared. A read of the head serves every request
        that was waiting when it was sent; a request arriving while one is on its way
        waits for the next, which is sent as soon as that one is back. So each request is
        answered from a head read that began after it arrived (it sees every event
        acknowledged before), with one round trip in flight at a time, whatever the
        request rate."""
        loop = asyncio.get_running_loop()
        reads = self._reads.get(loop)
        if reads is None:
            reads = self._reads[loop] = _HeadReads()
        waiter: asyncio.Future[int] = loop.create_future()
        reads.waiting.append(waiter)
        if reads.task is None:
            reads.task = loop.create_task(self._read_heads(reads))
        head = await waiter
        if head > self._position:
            with self._lock:
                self._fold_upto(head)
        return self._position

    async def _read_heads(self, reads: _HeadReads) -> None:
        try:
            while reads.waiting:
                batch, reads.waiting = reads.waiting, []
                try:
                    head = await self._feed.head_async()
                except Exception as exc:  # each request answers it (a 503 when Redis is away)
                    for waiter in batch:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                for waiter in batch:
                    if not waiter.done():
                        waiter.set_result(head)
        finally:
            reads.task = None

    def catch_up_with_log(self) -> int:
        """Fold every append the log holds, announced or not."""
        upto = max(self._feed.head(), self._events.position())
        if upto > self._position:
            with self._lock:
                self._fold_upto(upto)
        return self._position

    def settle(self, task: Callable[[], None]) -> Future[None]:
        """Run ``task`` once every append the log holds now is folded, with no fold
        running meanwhile (segment count builds install their counts so: what their scan
        of the log saw is then folded, and nothing is folded twice)."""
        done: Future[None] = Future()
        try:
            with self._lock:
                self._fold_upto(max(self._feed.head(), self._events.position()))
                task()
        except BaseException as exc:
            done.set_exception(exc)
        else:
            done.set_result(None)
        return done

    def _fold_upto(self, upto: int) -> None:
        """Fold positions ``(self._position, upto]`` in order (lock held)."""
        if upto <= self._position:
            return
        held = self._feed.payloads(self._position, upto)
        at = self._position + 1
        while at <= upto:
            if at in held:
                self._project(decode_events(held[at]))
                self.folded_from_feed += 1
                self._position = at
                at += 1
                continue
            last = at  # a run of positions the feed no longer holds: read it from the log
            while last < upto and last + 1 not in held:
                last += 1
            for batch in self._events.read_after(at - 1, last):
                self._project(table_to_events(batch))
            self.folded_from_log += last - at + 1
            self._position = last
            at = last + 1

    def start(self) -> None:
        """Poll the feed and the log every ``poll_seconds`` in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="feed-follower", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self._poll):
            try:
                self.catch_up_with_log()
            except Exception as exc:  # the database or Redis is away: try again later
                if not failing:  # once per outage, not twice a second
                    log.warning("could not follow the shared event log: %s", exc)
                failing = True
            else:
                if failing:
                    log.info("following the shared event log again")
                failing = False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
