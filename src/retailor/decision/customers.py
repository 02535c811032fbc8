"""One customer's 360, read the same way by the API (``GET /v1/customers/{id}`` and its
``/identity``, ``/events``, ``/decisions`` and ``/preview``) and by the dashboard's customer
pages. It sits above the profiles and the decision engine (and reads the report facts
through their port), so it lives here:

- :func:`customer_view`: identifiers (emails, phones and payment tokens only as salted
  hashes), computed traits, segments and consent per purpose with when it was given;
- :func:`customer_merges`: how the identifiers were linked (and the links refused);
- :func:`customer_events`: the newest events of every identifier of the cluster;
- :func:`consent_history`: the consent they gave or withdrew, newest first, from the log;
  :func:`consent_subject`: whom a consent recorded for an identifier is written about;
- :func:`customer_decisions`: the decisions made for the person, from the report facts;
- :func:`preview_placements`: what a decision would answer now on each placement, made
  with :meth:`DecisionEngine.preview` (nothing logged, no exposure recorded, no offer
  drawn);
- :func:`recently_active`: the customers of the newest events received, for a list to
  start from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retailor.decision.engine import DecisionEngine, UnknownPlacementError
from retailor.domain.customers import CustomerRef, IdentifierKind
from retailor.domain.decisions import DecisionPreview, DecisionRequest
from retailor.domain.events import Event, EventType
from retailor.identity.graph import MergeRecord
from retailor.identity.identifiers import prefixed
from retailor.privacy.consent import ConsentChange, consent_changes
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.storage.base import EventLog
from retailor.storage.facts import DecisionFact, FactStore
from retailor.storage.schema import table_to_events

#: How many of the newest appends to the event log :func:`recently_active` reads.
RECENT_APPENDS = 20


@dataclass(frozen=True)
class CustomerView:
    """The single customer view of one canonical customer (``recent``: encoded events,
    newest first)."""

    key: str
    identifiers: list[CustomerRef]
    traits: dict[str, Any]
    segments: list[str]
    consent: dict[str, bool]
    consent_at: dict[str, str]
    recent: list[bytes]


@dataclass(frozen=True)
class RecentCustomer:
    """A customer of a recent event: the canonical id, what they did and when it came."""

    key: str
    event: Event


def customer_view(
    profiles: ProfileService, segments: SegmentService, key: str
) -> CustomerView | None:
    """The view of customer ``key`` (a canonical id, from ``profiles.resolve``), or None."""
    view = profiles.view(key)
    if view is None:
        return None
    return CustomerView(
        key=view.key,
        identifiers=view.identifiers,
        traits=view.traits,
        segments=segments.segments_of(key, view.traits, view.consent),
        consent=view.consent,
        consent_at=view.consent_at,
        recent=view.recent,
    )


def customer_merges(profiles: ProfileService, key: str) -> list[MergeRecord]:
    """Every merge that made customer ``key`` and every link the guard rails refused (with
    the reason), in order."""
    with profiles.lock:
        return profiles.graph.explain(key)


def customer_events(
    profiles: ProfileService, events: EventLog, identifier: str, limit: int
) -> list[Event]:
    """The newest ``limit`` events of the customer ``identifier`` resolves to and of every
    identifier linked to it (anonymous browsing before a login included); an identifier no
    profile knows reads as itself."""
    key = profiles.resolve(identifier)
    wanted = profiles.identifiers_of(key) if key is not None else [identifier]
    return events.timeline(wanted, limit)


def consent_history(
    profiles: ProfileService, events: EventLog, key: str, limit: int
) -> list[ConsentChange]:
    """The consent customer ``key`` gave or withdrew, newest first: the purposes of the
    newest ``limit`` ``consent_updated`` events of every identifier of the cluster."""
    found = events.timeline(
        profiles.identifiers_of(key), limit, types=[EventType.CONSENT_UPDATED.value]
    )
    return consent_changes(found)


def consent_subject(profiles: ProfileService, identifier: str) -> tuple[str, str] | None:
    """Whom a consent recorded for ``identifier`` names in its event: ``("customer_id",
    id)`` or ``("anonymous_id", id)``. A plain id no one is known by is a new customer id;
    one known as a visitor id stays a visitor id; ``email:…`` and the other written kinds
    name the cluster they resolve to (as its customer id when it has one), or None when
    no one is known by them."""
    key = profiles.resolve(identifier)
    if prefixed(identifier) is None:
        if key is None:
            return ("customer_id", identifier)
        with profiles.lock:
            members = profiles.graph.members(key)
        if CustomerRef(IdentifierKind.CUSTOMER_ID, identifier) in members:
            return ("customer_id", identifier)
        return ("anonymous_id", identifier)
    if key is None:
        return None
    with profiles.lock:
        members = profiles.graph.members(key)
    if any(r.kind is IdentifierKind.CUSTOMER_ID for r in members):
        return ("customer_id", key)
    return ("anonymous_id", key)


def customer_decisions(
    facts: FactStore,
    profiles: ProfileService,
    key: str,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[DecisionFact]:
    """The newest ``limit`` decisions made in ``[start, end)`` for customer ``key`` under
    any of its customer or visitor ids, newest first, from the report facts (bring them
    up to date first where the process can: ``Reports.refresh``)."""
    wanted = sorted({key, *profiles.identifiers_of(key)})
    found = facts.decisions_of(wanted, start, end)
    return found[::-1][:limit]


def preview_request(profiles: ProfileService, key: str, placement: str) -> DecisionRequest:
    """The request a preview asks for customer ``key``: as the customer id when the cluster
    has one, else as its visitor id (so the person's experiment unit is the one a
    decision would use); no context (no item on screen, an empty cart)."""
    with profiles.lock:
        members = profiles.graph.members(key)
    if any(r.kind is IdentifierKind.CUSTOMER_ID for r in members):
        return DecisionRequest(placement=placement, customer_id=key)
    return DecisionRequest(placement=placement, anonymous_id=key)


def preview_placements(
    engine: DecisionEngine,
    profiles: ProfileService,
    key: str,
    placements: Sequence[str] | None = None,
) -> list[DecisionPreview]:
    """What a decision would answer now for customer ``key`` on each placement (every
    default and defined one when ``placements`` is None, by id), without deciding.
    Raises :class:`UnknownPlacementError` for a placement named that does not exist."""
    names = sorted(engine.placements.all()) if placements is None else list(placements)
    previews = []
    for name in names:
        if engine.placements.get(name) is None:
            raise UnknownPlacementError(name)
        previews.append(engine.preview(preview_request(profiles, key, name)))
    return previews


def _latest(events: EventLog, limit: int) -> list[Event]:
    """The newest ``limit`` events of the last :data:`RECENT_APPENDS` appends, newest
    first (the overview's ``latest_events``: a look at the live stream)."""
    position = events.position()
    rows: list[Event] = []
    if position <= 0:
        return rows
    for batch in events.read_after(max(position - RECENT_APPENDS, 0), position):
        tail = batch.slice(max(0, batch.num_rows - limit))
        rows = (rows + table_to_events(tail))[-limit:]
    return rows[::-1]


def recently_active(profiles: ProfileService, events: EventLog, limit: int) -> list[RecentCustomer]:
    """Up to ``limit`` customers of the newest events received (the last appends to the
    log), newest first, each once with their newest event; events of no known customer
    are skipped."""
    seen: dict[str, Event] = {}
    for event in _latest(events, limit * 10):
        ref = profiles.primary_ref(event)
        key = profiles.customer_of(event, ref) if ref is not None else None
        if key is not None and key not in seen:
            seen[key] = event
            if len(seen) >= limit:
                break
    return [RecentCustomer(key, event) for key, event in seen.items()]
