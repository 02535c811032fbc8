"""Types that exist to document request and response bodies in the OpenAPI document."""

from __future__ import annotations

from typing import Any

import msgspec

from retailor.domain.catalog import CatalogItem, CatalogPatch
from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.ingest.validation import DocumentedEvent


class EventBatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 10,000 events in one request."""

    events: list[DocumentedEvent]


EventsBody = DocumentedEvent | EventBatchIn


class Timeline(msgspec.Struct):
    """A customer's events, newest first."""

    events: list[Event]


class CatalogBatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """Items to create or change; fields an item does not give keep their values."""

    items: list[CatalogPatch]


class RejectedItem(msgspec.Struct):
    index: int
    item_id: str | None
    reason: str


class CatalogUpsertOut(msgspec.Struct):
    created: int
    updated: int
    rejected: list[RejectedItem]


class QuarantinePage(msgspec.Struct):
    """Rejected input, newest first."""

    total: int
    items: list[Rejection]


class SegmentOut(msgspec.Struct):
    success: bool
    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]


class IdentifierOut(msgspec.Struct):
    kind: str
    value: str


class CustomerOut(msgspec.Struct):
    """The single customer view."""

    customer_id: str
    identifiers: list[IdentifierOut]
    traits: dict[str, Any]
    segments: list[str]
    consent: dict[str, bool]
    recent_events: list[Event]  # served from memory as encoded events (msgspec.Raw)
    #: when each purpose's consent was last given or withdrawn
    consent_at: dict[str, str] = msgspec.field(default_factory=dict)


#: Catalog items (``PUT /v1/catalog/items``) or quarantine records (``POST /v1/quarantine``)
#: one request may carry.
MAX_BATCH_ITEMS = 10_000


class Limits(msgspec.Struct):
    """What one request may carry; a client sending in bulk packs its batches under them."""

    max_body_bytes: int
    max_batch_events: int
    max_batch_items: int


class Health(msgspec.Struct):
    """``background``: whether this server process runs the background jobs (scheduled
    retraining and the like) because it holds the background lease; of the processes
    sharing one database, one at a time does."""

    status: str
    version: str
    limits: Limits
    background: bool = False
    #: why each backend that cannot be used now cannot (``status`` is then "degraded")
    unavailable: list[str] = msgspec.field(default_factory=list)


__all__ = ["CatalogItem"]
