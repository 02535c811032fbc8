"""Segment membership: definitions parsed once and kept in memory, evaluated against the
profiles and the maintained event counts (``EventCountIndex``), never by reading the event
log on a request. One customer's segments are evaluated on every read (always current);
the members of a segment over the whole base are cached until something changes.

A definition whose event counts are new is *building* until one scan of the log (on a
background thread) has filled them: meanwhile nobody is a member of it (decisions and a
customer's segments leave it out) and its base-wide membership waits for the build.

Definitions live in the definition store; a change another process stored is taken up by
:meth:`SegmentService.reload`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retailor.profiles.count_builds import CountBuilder
from retailor.profiles.event_counts import EventCountIndex, micros
from retailor.profiles.segments import (
    Condition,
    EventCount,
    SegmentError,
    event_counts,
    holds,
    parse,
    trait_value,
)
from retailor.profiles.service import ProfileService, ProfileView
from retailor.storage.base import DefinitionStore, EventLog, StoredDefinition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Membership:
    members: list[str]
    evaluated_at: datetime | None


@dataclass(frozen=True)
class Defined:
    """A stored definition with its parsed condition."""

    stored: StoredDefinition
    condition: Condition
    counts: tuple[EventCount, ...]

    @property
    def segment_id(self) -> str:
        return self.stored.id


class SegmentBuildingError(RuntimeError):
    """A segment's event counts are still being built from the log."""


class SegmentService:
    """Definitions (read at start and on change), their parsed conditions, and membership
    (see the module docstring)."""

    def __init__(self, store: DefinitionStore, profiles: ProfileService, events: EventLog) -> None:
        self.store = store
        self.profiles = profiles
        self.events = events
        self.counts = EventCountIndex(profiles.category_of)
        self.builder = CountBuilder(self.counts, profiles, events)
        self.counts.on_stale = self.builder.start
        self._defined: dict[str, Defined] = {}
        self._ordered: tuple[Defined, ...] = ()
        self._cache: dict[str, tuple[tuple[int, int, datetime], Membership]] = {}
        self._lock = threading.Lock()
        #: held while a definition is written or reloaded: the store and memory agree
        self._writing = threading.Lock()
        profiles.attach(self.counts)
        with profiles.lock:
            fresh = not profiles.states  # else: built from the log, in the background
            for stored in store.all("segment"):
                try:
                    defined = _defined(stored)
                except SegmentError as exc:
                    log.warning("dropping stored segment %r: %s", stored.id, exc)
                    continue
                self._defined[stored.id] = defined
                self.builder.start(self.counts.acquire(defined.counts, fresh=fresh))
            self._ordered = tuple(sorted(self._defined.values(), key=lambda d: d.segment_id))

    def forget(self) -> None:
        """Drop the memberships held (an erasure: they are computed again)."""
        with self._lock:
            self._cache.clear()

    # -- definitions --------------------------------------------------------------------

    def put(self, segment_id: str, definition: Any, wait: float | None = None) -> StoredDefinition:
        """Validate (``SegmentError`` says where), store and start using a definition; its
        new event counts are built in the background, waited for up to ``wait`` seconds
        (None: until built). Call off the event loop (it writes to the store)."""
        condition = parse(definition)
        with self._writing:
            stored = self.store.put("segment", segment_id, definition)
            defined = Defined(stored, condition, tuple(event_counts(condition)))
            self._use(defined)
        if wait is None or wait > 0:
            self._wait(defined, wait)
        return stored

    def reload(self, segment_id: str) -> None:
        """Take up the stored definition as it is now (another process wrote or deleted
        it); its new event counts are built in the background. Read under the lock of
        :meth:`put`, so it never undoes a later write of this process."""
        with self._writing:
            stored = self.store.get("segment", segment_id)
            if stored is None:
                self._drop(segment_id)
                return
            current = self._defined.get(segment_id)
            if current is not None and current.stored.revision == stored.revision:
                return
            try:
                defined = _defined(stored)
            except SegmentError as exc:
                log.warning("dropping stored segment %r: %s", segment_id, exc)
                self._drop(segment_id)
                return
            self._use(defined)

    def _use(self, defined: Defined) -> None:
        """Start using ``defined`` in place of the definition of its id, if any."""
        with self._lock:
            before = self._defined.get(defined.segment_id)
            self.builder.start(self.counts.acquire(defined.counts, fresh=False))
            self._defined[defined.segment_id] = defined
            self._ordered = tuple(sorted(self._defined.values(), key=lambda d: d.segment_id))
            self._cache.pop(defined.segment_id, None)
            if before is not None:
                self.counts.release(before.counts)

    def _drop(self, segment_id: str) -> None:
        """Stop using the definition of ``segment_id``, if any."""
        with self._lock:
            before = self._defined.pop(segment_id, None)
            if before is None:
                return
            self._ordered = tuple(sorted(self._defined.values(), key=lambda d: d.segment_id))
            self._cache.pop(segment_id, None)
            self.counts.release(before.counts)

    def get(self, segment_id: str) -> Defined | None:
        return self._defined.get(segment_id)

    def defined(self) -> bool:
        """Whether any segment is defined."""
        return bool(self._ordered)

    def ids(self) -> list[str]:
        """The ids of the defined segments, in order."""
        return [d.segment_id for d in self._ordered]

    def ready(self, segment_id: str) -> bool:
        """Whether a defined segment's event counts are built."""
        defined = self._defined.get(segment_id)
        return defined is not None and self.counts.ready(defined.counts)

    def building(self, segment_id: str) -> list[Future[None]]:
        """The builds a segment waits for (empty: ready); a failed build is started again."""
        defined = self._defined.get(segment_id)
        if defined is None:
            return []
        retry = self.counts.unbuilt(defined.counts)
        if retry:
            self.builder.start(retry)
        return self.counts.pending(defined.counts)

    def _wait(self, defined: Defined, timeout: float | None) -> bool:
        """Wait for a definition's builds; whether it is ready."""
        pending = self.building(defined.segment_id)
        if pending:
            futures.wait(pending, timeout)
        return self.counts.ready(defined.counts)

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until no count is being built or refreshed; whether none is."""
        while pending := self.counts.under_way():
            done, _ = futures.wait(pending, timeout)
            if len(done) < len(pending):
                return False
        return True

    def close(self) -> None:
        self.builder.close()

    # -- membership -----------------------------------------------------------------------

    def members(self, segment_id: str, wait: float | None = None) -> Membership | None:
        """Everyone in the segment now, from the profiles and the maintained counts (cached
        until either changes). Blocks until the segment is built, up to ``wait`` seconds
        (then ``SegmentBuildingError``); call off the event loop."""
        defined = self._defined.get(segment_id)
        if defined is None:
            return None
        if not self._wait(defined, wait):
            raise SegmentBuildingError(segment_id)
        version = (self.profiles.version, self.counts.generation, defined.stored.updated_at)
        with self._lock:
            cached = self._cache.get(segment_id)
            if cached and cached[0] == version:
                return cached[1]
        membership = self._evaluate_all(defined)
        with self._lock:
            if self._defined.get(segment_id) is defined:
                self._cache[segment_id] = (version, membership)
        return membership

    def _evaluate_all(self, defined: Defined) -> Membership:
        scale = self.profiles.scale()
        if scale is None:
            return Membership([], None)
        as_of = micros(scale.as_of)
        members = [
            key
            for key in self.profiles.customer_keys()
            if self._holds(defined, key, as_of, self._lazy_traits(key))
        ]
        return Membership(sorted(members), scale.as_of)

    def segments_of(
        self, key: str, traits: dict[str, Any] | None = None, consent: dict[str, bool] | None = None
    ) -> list[str]:
        """The segments one customer belongs to now (a building segment is left out).
        Memory only: the traits are computed when a definition tests one and none were
        given."""
        defined = self._ordered
        if not defined:
            return []
        scale = self.profiles.scale()
        if scale is None:
            return []
        as_of = micros(scale.as_of)
        trait_of = (
            self._lazy_traits(key)
            if traits is None
            else (lambda path: trait_value(traits, consent or {}, path))
        )
        return [
            d.segment_id
            for d in defined
            if self.counts.ready(d.counts) and self._holds(d, key, as_of, trait_of)
        ]

    def _holds(
        self, defined: Defined, key: str, as_of: int, trait_of: Callable[[str], Any]
    ) -> bool:
        count = self.counts.count
        return holds(defined.condition, trait_of, lambda c: count(c, key, as_of))

    def _lazy_traits(self, key: str) -> Callable[[str], Any]:
        """Reads a customer's traits, computing them on first use."""
        seen: list[ProfileView | None] = []

        def trait_of(path: str) -> Any:
            if not seen:
                seen.append(self.profiles.view(key))
            view = seen[0]
            return trait_value(view.traits, view.consent, path) if view is not None else None

        return trait_of


def _defined(stored: StoredDefinition) -> Defined:
    condition = parse(stored.document)
    return Defined(stored, condition, tuple(event_counts(condition)))
