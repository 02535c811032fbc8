"""Segment membership: stored definitions evaluated over the whole base (cached until new
events arrive) and for a single customer on every read (always current)."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retailor.domain.events import Event
from retailor.profiles.segments import Condition, evaluate, event_types, longest_window, parse
from retailor.profiles.service import ProfileService
from retailor.storage.base import EventLog
from retailor.storage.files.segments import FileSegmentStore, StoredSegment
from retailor.storage.schema import table_to_events


@dataclass(frozen=True)
class Membership:
    members: list[str]
    evaluated_at: datetime | None


class SegmentService:
    """Definitions (files), their parsed conditions, and membership."""

    def __init__(self, store: FileSegmentStore, profiles: ProfileService, events: EventLog) -> None:
        self.store = store
        self.profiles = profiles
        self.events = events
        self._cache: dict[str, tuple[int, float, Membership]] = {}
        self._lock = threading.Lock()

    def put(self, segment_id: str, definition: Any) -> StoredSegment:
        """Validate (``SegmentError`` says where) and store a definition."""
        parse(definition)
        stored = self.store.put(segment_id, definition)
        with self._lock:
            self._cache.pop(segment_id, None)
        return stored

    def _condition(self, stored: StoredSegment) -> Condition:
        return parse(stored.definition)

    def members(self, segment_id: str) -> Membership | None:
        """Everyone in the segment now (recomputed when events arrived since last time)."""
        stored = self.store.get(segment_id)
        if stored is None:
            return None
        version = self.profiles.version
        stamp = stored.updated_at.timestamp()
        with self._lock:
            cached = self._cache.get(segment_id)
            if cached and cached[0] == version and cached[1] == stamp:
                return cached[2]
        membership = self._evaluate_all(self._condition(stored))
        with self._lock:
            self._cache[segment_id] = (version, stamp, membership)
        return membership

    def _evaluate_all(self, condition: Condition) -> Membership:
        scale = self.profiles.scale()
        if scale is None:
            return Membership([], None)
        as_of = scale.as_of
        by_key: dict[str, list[Event]] = defaultdict(list)
        kinds = event_types(condition)
        if kinds:
            window = longest_window(condition)
            start = as_of - window if window is not None else None
            for batch in self.events.scan(start=start, types=sorted(kinds)):
                for event in table_to_events(batch):
                    key = self.profiles.resolve(event.customer_id or event.anonymous_id or "")
                    if key is not None:
                        by_key[key].append(event)
        members = []
        for key in self.profiles.customer_keys():
            view = self.profiles.view(key)
            if view is not None and evaluate(
                condition,
                view.traits,
                view.consent,
                by_key.get(key, []),
                as_of,
                self.profiles.category_of,
            ):
                members.append(key)
        return Membership(sorted(members), as_of)

    def reads_events(self) -> bool:
        """Whether some segment counts events (then evaluating one customer reads the log)."""
        return any(event_types(parse(s.definition)) for s in self.store.all())

    def segments_of(self, key: str, traits: dict[str, Any], consent: dict[str, bool]) -> list[str]:
        """The segments one customer belongs to, evaluated now on its own events."""
        scale = self.profiles.scale()
        stored = self.store.all()
        if scale is None or not stored:
            return []
        conditions = [(s.segment_id, self._condition(s)) for s in stored]
        events: list[Event] = []
        if any(event_types(c) for _, c in conditions):
            events = self.events.timeline(self.profiles.identifiers_of(key), 100_000)
        return [
            segment_id
            for segment_id, condition in conditions
            if evaluate(condition, traits, consent, events, scale.as_of, self.profiles.category_of)
        ]
