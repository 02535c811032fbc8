"""Per-customer counts of the events segment conditions look at, kept up to date as events
are folded into profiles, so that evaluating a customer never reads the event log.

For each event count in use (``EventCount``, shared by every definition using it) and each
canonical customer the index keeps the times of matching events, as a sorted tuple of
microseconds, bounded:

- times before ``newest - within`` are dropped: windows end at the newest event seen
  (``as_of``, which only moves forward), so they can never be in a window again;
- of the times at or before ``newest`` only the latest ``count.enough`` are kept: a
  window is a suffix of them, and a count capped there decides the condition as the
  true count does; times after ``newest`` (stamped ahead of the clock) are all kept.

Both rules are monotone, so the state is order-independent and two customers' states
merge into the state of their union (identity merges). A condition the index does not
know yet is *building* until ``CountBuilder`` has filled it from one scan of the log;
an item changing category (for conditions naming a category) refreshes it the same
way, while the current counts keep answering.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from retailor.domain.events import Event
from retailor.profiles.segments import CategoryOf, EventCount, event_items, in_category, matches

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

Times = tuple[int, ...]


def micros(at: datetime) -> int:
    """A time as whole microseconds since 1970 (exact, unlike a float timestamp)."""
    return (at - EPOCH) // _MICRO


def window_of(count: EventCount) -> int | None:
    return count.within // _MICRO if count.within is not None else None


def first_kept(times: Sequence[int], newest: int, enough: int, window: int | None) -> int:
    """Where the times worth keeping start in ``times`` (sorted): every later one is kept
    (see the module docstring)."""
    settled = bisect_right(times, newest)
    low = bisect_left(times, newest - window) if window is not None else 0
    return max(low, settled - enough)


def bounded(times: Sequence[int], newest: int, enough: int, window: int | None) -> Times:
    """``times`` (sorted) without what can no longer matter."""
    return tuple(times[first_kept(times, newest, enough, window) :])


def counted(times: Times, as_of: int, window: int | None) -> int:
    """How many of ``times`` fall in the window ending at ``as_of``."""
    low = bisect_left(times, as_of - window) if window is not None else 0
    return max(0, bisect_right(times, as_of) - low)


@dataclass
class Found:
    """What a scan found for one counter: per customer the (time, event id) of matching
    events, and the times worth keeping of them (prepared outside any lock)."""

    entries: dict[str, list[tuple[int, str]]]
    times: dict[str, Times] = field(default_factory=dict)

    def prepare(self, newest: int | None, enough: int, window: int | None) -> None:
        for key, entries in self.entries.items():
            ats = sorted(at for at, _ in entries)
            kept = bounded(ats, newest, enough, window) if newest is not None else tuple(ats)
            if kept:
                self.times[key] = kept


@dataclass
class Build:
    """A fill of some counters from the log, in progress: what happened meanwhile."""

    counters: list[Counter]
    newest: int | None
    #: events folded meanwhile: (event, its customer then, how many merges were noted then)
    live: list[tuple[Event, str, int]] = field(default_factory=list)
    merges: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    future: Future[None] = field(default_factory=Future)


@dataclass
class Counter:
    """One event count's per-customer times (``times`` None until first built)."""

    condition: EventCount
    enough: int
    window: int | None
    users: int = 0
    times: dict[str, Times] | None = None
    #: items seen in events of its types (category conditions: what a change of category
    #: may concern)
    items: set[str] = field(default_factory=set)
    build: Build | None = None
    stale: bool = False  # the catalog moved while it was being built: build again

    def add(self, key: str, at: int, newest: int) -> None:
        assert self.times is not None
        current = self.times.get(key, ())
        if not current or at >= current[-1]:
            grown: Sequence[int] = (*current, at)
        else:
            grown = list(current)
            insort(grown, at)
        kept = bounded(grown, newest, self.enough, self.window)
        if kept:
            self.times[key] = kept
        else:  # nothing that can matter (a late event before the window, or no count needed)
            self.times.pop(key, None)

    def join(self, absorbed: str, kept: str, newest: int | None) -> None:
        assert self.times is not None
        gone = self.times.pop(absorbed, None)
        if gone:
            both = sorted((*self.times.get(kept, ()), *gone))
            self.times[kept] = (
                bounded(both, newest, self.enough, self.window)
                if newest is not None
                else tuple(both)
            )


class EventCountIndex:
    """The maintained counts, fed as a ``ProfileObserver`` (see the module docstring).

    Readers (``count``, ``ready``) take no lock: every customer's times are an immutable
    tuple replaced whole. Changes happen under the profiles' lock, then this one.
    """

    def __init__(self, category_of: CategoryOf) -> None:
        self._category_of = category_of
        self._counters: dict[EventCount, Counter] = {}
        self._by_type: dict[str, list[Counter]] = {}
        self._newest: int | None = None
        self._lock = threading.Lock()
        #: grows whenever counts change other than by a folded event (a build installed)
        self.generation = 0
        #: called with conditions whose counts must be built again (catalog changes)
        self.on_stale: Callable[[list[EventCount]], object] | None = None

    # -- which conditions are counted ---------------------------------------------------

    def acquire(self, conditions: Iterable[EventCount], *, fresh: bool) -> list[EventCount]:
        """Count ``conditions`` from now on; returns those that must be built from the log.
        ``fresh``: no event was folded yet (the rebuild at start feeds them)."""
        unbuilt = []
        with self._lock:
            for condition in conditions:
                counter = self._counters.get(condition)
                if counter is None:
                    counter = Counter(condition, condition.enough, window_of(condition))
                    self._counters[condition] = counter
                    for kind in condition.types:
                        self._by_type.setdefault(kind, []).append(counter)
                    if fresh:
                        counter.times = {}
                    else:
                        unbuilt.append(condition)
                counter.users += 1
        return unbuilt

    def release(self, conditions: Iterable[EventCount]) -> None:
        """Stop counting conditions no definition uses any more (their state is freed)."""
        with self._lock:
            for condition in conditions:
                counter = self._counters.get(condition)
                if counter is None:
                    continue
                counter.users -= 1
                if counter.users <= 0:
                    del self._counters[condition]
                    for kind in condition.types:
                        self._by_type[kind].remove(counter)

    def ready(self, conditions: Iterable[EventCount]) -> bool:
        """Whether every one of ``conditions`` has been built."""
        for condition in conditions:
            counter = self._counters.get(condition)
            if counter is None or counter.times is None:
                return False
        return True

    def pending(self, conditions: Iterable[EventCount]) -> list[Future[None]]:
        """The builds ``conditions`` wait for."""
        found = []
        for condition in conditions:
            counter = self._counters.get(condition)
            if counter is not None and counter.times is None and counter.build is not None:
                found.append(counter.build.future)
        return found

    def unbuilt(self, conditions: Iterable[EventCount]) -> list[EventCount]:
        """Those of ``conditions`` neither built nor being built (a build failed)."""
        return [
            condition
            for condition in conditions
            if (counter := self._counters.get(condition)) is not None
            and counter.times is None
            and counter.build is None
        ]

    def under_way(self) -> list[Future[None]]:
        """Every build in progress (first builds and refreshes)."""
        with self._lock:
            return list(
                {id(c.build): c.build.future for c in self._counters.values() if c.build}.values()
            )

    def count(self, condition: EventCount, key: str, as_of: int) -> int:
        """Customer ``key``'s matching events in the window ending at ``as_of`` (capped at
        ``condition.enough`` when there are more); 0 for a condition not built."""
        counter = self._counters.get(condition)
        if counter is None or counter.times is None:
            return 0
        return counted(counter.times.get(key, ()), as_of, counter.window)

    # -- fed by the profiles (ProfileObserver) -------------------------------------------

    def folded(self, key: str, event: Event, newest: datetime) -> None:
        if not self._counters:
            return  # nothing counted (``begin`` catches up with the newest event time)
        top = micros(newest)
        self._newest = top
        counters = self._by_type.get(event.type.value)
        if not counters:
            return
        at = micros(event.timestamp)
        with self._lock:
            noted: list[Build] = []
            for counter in counters:
                if counter.condition.category is not None:
                    counter.items.update(event_items(event))
                build = counter.build
                if build is not None and all(b is not build for b in noted):
                    build.live.append((event, key, len(build.merges)))
                    noted.append(build)
                if counter.times is not None and matches(
                    event, counter.condition, self._category_of
                ):
                    counter.add(key, at, top)

    def merged(self, absorbed: str, kept: str) -> None:
        with self._lock:
            noted: list[Build] = []
            for counter in self._counters.values():
                if counter.times is not None:
                    counter.join(absorbed, kept, self._newest)
                build = counter.build
                if build is not None and all(b is not build for b in noted):
                    build.merges.append((absorbed, kept))
                    noted.append(build)

    def recategorized(self, changes: list[tuple[str, list[str], list[str]]]) -> None:
        moved = []
        with self._lock:
            for counter in self._counters.values():
                condition = counter.condition
                if condition.category is None or not counter.items:
                    continue
                if any(
                    item in counter.items
                    and in_category(before, condition) != in_category(after, condition)
                    for item, before, after in changes
                ):
                    if counter.build is not None:
                        counter.stale = True
                    else:
                        moved.append(condition)
        if moved and self.on_stale is not None:
            self.on_stale(moved)

    def reset(self) -> None:
        with self._lock:
            self._newest = None
            cancelled: dict[int, Build] = {}
            for counter in self._counters.values():
                counter.times, counter.items, counter.stale = {}, set(), False
                if counter.build is not None:
                    cancelled[id(counter.build)] = counter.build
                    counter.build = None
            self.generation += 1
        for build in cancelled.values():
            build.cancelled = True
            build.future.set_result(None)

    # -- builds (driven by CountBuilder) --------------------------------------------------

    def begin(self, conditions: Iterable[EventCount], newest: datetime | None) -> Build | None:
        """Start filling ``conditions`` (those counted and not being built already); from
        now on what is folded and merged is also noted for the build."""
        with self._lock:
            counters = [
                c
                for c in (self._counters.get(condition) for condition in conditions)
                if c is not None and c.build is None
            ]
            if not counters:
                return None
            start = micros(newest) if newest is not None else None
            if start is not None and (self._newest is None or start > self._newest):
                self._newest = start
            build = Build(counters, start)
            for counter in counters:
                counter.build = build
                counter.stale = False
            return build

    def note_items(self, build: Build, items: dict[int, set[str]]) -> None:
        """Items seen by the scan, by position of the counter in ``build.counters``."""
        with self._lock:
            for position, seen in items.items():
                build.counters[position].items |= seen

    def merges_since(self, build: Build, position: int) -> list[tuple[str, str]]:
        """The merges noted for ``build`` from ``position`` on (call with the profiles'
        lock held, so none is being added)."""
        return build.merges[position:]

    def finish(self, build: Build, found: list[Found], applied: int) -> list[EventCount]:
        """Install what the scan found (``found[i]`` for ``build.counters[i]``, keyed as of
        the first ``applied`` merges noted) with the events folded meanwhile. Call with the
        profiles' lock held and nothing committed to the log but not yet folded: only the
        customers merged or seen meanwhile are worked on here. Returns the conditions to
        build again (the catalog moved meanwhile)."""
        again = []
        with self._lock:
            if build.cancelled:
                return []
            top = self._newest if self._newest is not None else 0
            live_ids = {event.event_id for event, _, _ in build.live}
            for position, counter in enumerate(build.counters):
                if self._counters.get(counter.condition) is not counter:
                    continue  # no longer used
                scanned, times = found[position].entries, found[position].times
                touched: set[str] = set()
                for absorbed, kept in build.merges[applied:]:
                    if absorbed in scanned:
                        scanned.setdefault(kept, []).extend(scanned.pop(absorbed))
                        times.pop(absorbed, None)
                        touched.add(kept)
                live: dict[str, list[int]] = {}
                for event, key, noted in build.live:
                    if matches(event, counter.condition, self._category_of):
                        whose = _followed(key, build.merges[noted:])
                        live.setdefault(whose, []).append(micros(event.timestamp))
                for key in touched | set(live):  # seen twice (scan and live): counted once
                    ats = [at for at, event_id in scanned.get(key, ()) if event_id not in live_ids]
                    ats += live.get(key, [])
                    kept_times = bounded(sorted(ats), top, counter.enough, counter.window)
                    if kept_times:
                        times[key] = kept_times
                    else:
                        times.pop(key, None)
                counter.times = times
                counter.build = None
                if counter.stale:
                    counter.stale = False
                    again.append(counter.condition)
            self.generation += 1
        build.future.set_result(None)
        return again

    def abandon(self, build: Build, error: BaseException) -> None:
        """A build that failed: its conditions are built again on the next request."""
        with self._lock:
            for counter in build.counters:
                if counter.build is build:
                    counter.build = None
        build.future.set_exception(error)


def _followed(key: str, merges: list[tuple[str, str]]) -> str:
    """Where customer ``key`` ended up after ``merges`` (in order)."""
    for absorbed, kept in merges:
        if key == absorbed:
            key = kept
    return key
