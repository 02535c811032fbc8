"""The profile projection: identity graph plus one ``ProfileState`` per canonical customer,
updated from stored events (in the ingest path, before the events are acknowledged) and
rebuilt from the event log at start. Other per-customer projections (segments' event
counts) attach as observers and see every event with its customer, every merge and every
change of an item's category, in the same order and under the same lock."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pyarrow as pa

from retailor.domain.catalog import CatalogItem
from retailor.domain.customers import CustomerRef, IdentifierKind
from retailor.domain.events import Event, EventType
from retailor.features.online import CLOCK_SKEW_SECONDS
from retailor.identity.graph import IdentityGraph, IdentityRules
from retailor.identity.identifiers import (
    event_identifiers,
    hashed,
    normalize_email,
    normalize_phone,
    prefixed,
)
from retailor.profiles.lifetime import LifetimeModel, train_lifetime
from retailor.profiles.rfm import RFMScale
from retailor.profiles.state import ProfileState
from retailor.profiles.traits import compute_traits
from retailor.storage.schema import table_to_events

RFM_REFRESH_SECONDS = 5.0


class ProfileObserver(Protocol):
    """A projection kept per canonical customer alongside the profiles (called with the
    profiles' lock held, in the order things happen)."""

    def folded(self, key: str, event: Event, newest: datetime) -> None:
        """``event`` was attributed to customer ``key``; ``newest`` is the newest event time
        seen so far (where windows end; it never moves back until a rebuild)."""

    def merged(self, absorbed: str, kept: str) -> None:
        """Customer ``absorbed`` is now part of customer ``kept``."""

    def recategorized(self, changes: list[tuple[str, list[str], list[str]]]) -> None:
        """Items changed category: ``(item_id, before, after)``, ``[]`` for unknown."""

    def reset(self) -> None:
        """Everything is folded again from the log (a rebuild)."""


@dataclass(frozen=True)
class ProfileView:
    """What the API shows of one customer; ``recent`` are encoded events, newest first."""

    key: str
    identifiers: list[CustomerRef]
    traits: dict[str, Any]
    consent: dict[str, bool]
    recent: list[bytes]
    #: when each purpose's consent was last given or withdrawn (ISO 8601, UTC)
    consent_at: dict[str, str] = dataclasses.field(default_factory=dict)


class ProfileService:
    """Identity resolution and profiles, in memory (see the module docstring)."""

    def __init__(self, salt: str, rules: IdentityRules | None = None) -> None:
        self.salt = salt
        self.graph = IdentityGraph(rules)
        self.states: dict[str, ProfileState] = {}
        self._items: dict[str, tuple[list[str], str | None]] = {}
        self._unplaced: set[str] = set()  # profiles with interest in items not in the catalog yet
        self._lock = threading.RLock()
        self._scale: RFMScale | None = None
        self._scale_at = 0.0
        self._scale_version = -1
        self._newest: datetime | None = None
        self.lifetime: LifetimeModel | None = None
        self.version = 0  # grows with every change, for caches of derived results
        self._observers: list[ProfileObserver] = []

    def attach(self, observer: ProfileObserver) -> None:
        """Feed ``observer`` every event, merge and category change from now on."""
        with self._lock:
            self._observers.append(observer)

    @property
    def lock(self) -> threading.RLock:
        """Held while identities or profiles change (and while observers are fed)."""
        return self._lock

    @property
    def newest(self) -> datetime | None:
        """The newest event time seen (as passed to observers)."""
        return self._newest

    # -- writing ------------------------------------------------------------------

    def remember_items(self, items: Iterable[CatalogItem]) -> None:
        """Keep what profiles need of catalog items (category path, brand); profiles that
        showed interest in these items before the catalog knew them place it now."""
        with self._lock:
            fresh, placed = set(), False
            moved: list[tuple[str, list[str], list[str]]] = []
            for item in items:
                before = self._items.get(item.item_id, ([], None))[0]
                if list(before) != list(item.category):
                    moved.append((item.item_id, before, item.category))
                self._items[item.item_id] = (item.category, item.brand)
                fresh.add(item.item_id)
            if moved:
                for observer in self._observers:
                    observer.recategorized(moved)
            for key in list(self._unplaced):
                state = self.states.get(key)
                if state is None or not state.unplaced:
                    self._unplaced.discard(key)
                elif not fresh.isdisjoint(state.unplaced):
                    state.place(self._item_info)
                    placed = True
                    if not state.unplaced:
                        self._unplaced.discard(key)
            if placed:
                self.version += 1

    def category_of(self, item_id: str) -> list[str]:
        """The category path of an item, as far as the catalog says."""
        return self._items.get(item_id, ([], None))[0]

    def _item_info(self, item_id: str) -> tuple[list[str], str | None]:
        return self._items.get(item_id, ([], None))

    def apply(self, events: Iterable[Event]) -> None:
        """Fold newly stored events into identities and profiles."""
        with self._lock:
            # an event stamped ahead of this server's clock does not move "now" past it
            latest = datetime.now(UTC) + timedelta(seconds=CLOCK_SKEW_SECONDS)
            for event in events:
                refs = event_identifiers(event, self.salt)
                if event.type is EventType.ALIAS:
                    refs = [self._alias_target(r) for r in refs]
                resolution = self.graph.observe(
                    refs,
                    at=event.timestamp,
                    event_id=event.event_id,
                    explicit=event.type is EventType.ALIAS,
                )
                for absorbed, kept in resolution.merges:
                    gone = self.states.pop(absorbed, None)
                    if gone is not None:
                        self.states.setdefault(kept, ProfileState()).merge(gone)
                    for observer in self._observers:
                        observer.merged(absorbed, kept)
                state = self.states.setdefault(resolution.key, ProfileState())
                state.fold(event, self._item_info)
                if state.unplaced:
                    self._unplaced.add(resolution.key)
                if self._newest is None or event.timestamp > self._newest:
                    self._newest = min(event.timestamp, latest)
                for observer in self._observers:
                    observer.folded(resolution.key, event, self._newest)
            self.version += 1

    def _alias_target(self, ref: CustomerRef) -> CustomerRef:
        """An alias's previous id names a known customer when the graph knows one by it."""
        if ref.kind is IdentifierKind.ANONYMOUS_ID:
            known = CustomerRef(IdentifierKind.CUSTOMER_ID, ref.value)
            if self.graph.key_of(known) is not None:
                return known
        return ref

    def apply_table(self, table: pa.Table) -> None:
        self.apply(table_to_events(table))

    def rebuild(
        self,
        batches: Iterable[pa.RecordBatch],
        also: Callable[[list[Event]], None] | None = None,
    ) -> int:
        """Replace everything with what the log says; returns the number of events folded.
        ``also`` sees every decoded batch (other projections rebuilt in the same pass)."""
        with self._lock:
            self.graph = IdentityGraph(self.graph.rules)
            self.states = {}
            self._unplaced = set()
            self._scale, self._newest = None, None
            for observer in self._observers:
                observer.reset()
            count = 0
            for batch in batches:
                events = table_to_events(batch)
                self.apply(events)
                if also is not None:
                    also(events)
                count += len(events)
            return count

    def export_state(self) -> dict[str, Any]:
        """What a snapshot keeps: the identity graph and every profile (plain objects;
        the caller holds the lock while it encodes them)."""
        with self._lock:
            return {
                "graph": self.graph,
                "states": self.states,
                "items": self._items,
                "unplaced": self._unplaced,
                "newest": self._newest,
            }

    def import_state(self, state: dict[str, Any]) -> None:
        """Replace identities and profiles with a snapshot's ``export_state`` (before any
        observer is attached: they build what they keep from the log)."""
        with self._lock:
            graph: IdentityGraph = state["graph"]
            graph.rules = self.graph.rules
            self.graph = graph
            self.states = state["states"]
            self._items = {**state["items"], **self._items}  # the catalog read now wins
            self._unplaced = state["unplaced"]
            self._newest = state["newest"]
            self._scale = None
            self.version += 1

    # -- reading ------------------------------------------------------------------

    def resolve(self, identifier: str) -> str | None:
        """The canonical customer of an identifier: a customer or anonymous id, or
        ``email:…``, ``phone:…``, ``loyalty_card:…``, ``payment_token:…``."""
        split = prefixed(identifier)
        with self._lock:
            if split is not None:
                ref_kind, value = split
                if ref_kind is IdentifierKind.EMAIL:
                    value = hashed(ref_kind, normalize_email(value) or value, self.salt)
                elif ref_kind is IdentifierKind.PHONE:
                    value = hashed(ref_kind, normalize_phone(value) or value, self.salt)
                elif ref_kind is IdentifierKind.PAYMENT_TOKEN:
                    value = hashed(ref_kind, value, self.salt)
                return self.graph.key_of(CustomerRef(ref_kind, value))
            for ref_kind in (IdentifierKind.CUSTOMER_ID, IdentifierKind.ANONYMOUS_ID):
                key = self.graph.key_of(CustomerRef(ref_kind, identifier))
                if key is not None:
                    return key
        return None

    def resolve_anonymous(self, anonymous_id: str) -> str | None:
        """The canonical customer of a visitor id, looked up only as an anonymous id (a
        visitor cannot claim a customer by sending their email or customer id)."""
        with self._lock:
            return self.graph.key_of(CustomerRef(IdentifierKind.ANONYMOUS_ID, anonymous_id))

    def scale(self) -> RFMScale | None:
        """RFM quintiles over the base (recomputed at most every few seconds when events
        arrive, so reads stay fast), measured to the newest event seen."""
        with self._lock:
            now = time.monotonic()
            stale = (
                self._scale_version != self.version and now - self._scale_at > RFM_REFRESH_SECONDS
            )
            if self._scale is None or stale:
                seen = [s.last_seen for s in self.states.values() if s.last_seen is not None]
                if not seen:
                    return None
                as_of = max(seen)
                rows = []
                for state in self.states.values():
                    live = state.live_orders()
                    if live:
                        last = max(o.at for o in live.values())
                        rows.append(
                            (
                                (as_of - last).total_seconds() / 86_400,
                                float(len(live)),
                                state.revenue(),
                            )
                        )
                self._scale = RFMScale.fit(as_of, rows)
                self._scale_at = now
                self._scale_version = self.version
            if self._newest is not None and self._newest > self._scale.as_of:
                self._scale = dataclasses.replace(self._scale, as_of=self._newest)
            return self._scale

    def view(self, key: str) -> ProfileView | None:
        scale = self.scale()
        with self._lock:
            state = self.states.get(key)
            if state is None:
                return None
            traits = compute_traits(
                state, scale, duplicates=self.graph.shared_identifier_conflicts(key)
            )
            lifetime = self.lifetime
            traits["clv"] = lifetime.predict(state, scale.as_of) if lifetime and scale else None
            return ProfileView(
                key=key,
                identifiers=self.graph.members(key),
                traits=traits,
                consent={purpose: bool(s.value) for purpose, s in sorted(state.consent.items())},
                recent=state.newest_events(),
                consent_at={
                    purpose: s.at.isoformat() for purpose, s in sorted(state.consent.items())
                },
            )

    def train_lifetime(self) -> tuple[LifetimeModel, dict[str, Any]]:
        """Fit the lifetime-value models on the whole base and start using them."""
        scale = self.scale()
        if scale is None:
            raise ValueError("no events yet: nothing to learn lifetime value from")
        with self._lock:  # known customers only: a guest order is not a customer's history
            states = [
                state
                for key, state in self.states.items()
                if self.graph.key_of(CustomerRef(IdentifierKind.CUSTOMER_ID, key)) == key
            ]
        model, metrics = train_lifetime(states, scale.as_of)
        self.lifetime = model
        return model, metrics

    def customer_keys(self) -> Iterator[str]:
        with self._lock:
            yield from list(self.states)

    def primary_ref(self, event: Event) -> CustomerRef | None:
        """The identifier an event is attributed by (its customer is that identifier's):
        the first of ``event_identifiers``."""
        if event.customer_id:
            return CustomerRef(IdentifierKind.CUSTOMER_ID, event.customer_id)
        if event.anonymous_id:
            return CustomerRef(IdentifierKind.ANONYMOUS_ID, event.anonymous_id)
        refs = event_identifiers(event, self.salt)
        return refs[0] if refs else None

    def customer_of(self, event: Event, ref: CustomerRef) -> str | None:
        """The canonical customer an already folded event belongs to now (``ref`` is its
        ``primary_ref``): where its fold put it, followed through every merge since."""
        with self._lock:
            if event.type is EventType.ALIAS:
                ref = self._alias_target(ref)
            return self.graph.key_of(ref)

    def consent(self, key: str) -> dict[str, tuple[bool, datetime]] | None:
        """The latest choice and its time per purpose of customer ``key`` (None when no
        profile has that key): what exports read, without computing any trait."""
        with self._lock:
            state = self.states.get(key)
            if state is None:
                return None
            return {purpose: (bool(s.value), s.at) for purpose, s in state.consent.items()}

    def consents(self, keys: Sequence[str]) -> list[dict[str, bool] | None]:
        """The consent per purpose of each of ``keys`` (None for a key no profile has),
        under one hold of the lock."""
        with self._lock:
            found = [self.states.get(key) for key in keys]
            return [
                None
                if state is None
                else {purpose: bool(s.value) for purpose, s in state.consent.items()}
                for state in found
            ]

    def identifiers_of(self, key: str) -> Sequence[str]:
        """Customer and anonymous ids of the cluster, for reading its events from the log."""
        with self._lock:
            return [
                r.value
                for r in self.graph.members(key)
                if r.kind in (IdentifierKind.CUSTOMER_ID, IdentifierKind.ANONYMOUS_ID)
            ] or [key]
