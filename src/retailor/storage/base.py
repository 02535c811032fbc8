"""The storage ports. Each abstract class's docstrings are its contract; ``tests/contract``
holds one suite per port that every adapter must pass.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from retailor.domain.access import ApiKey
from retailor.domain.catalog import CatalogItem, CatalogPatch
from retailor.domain.decisions import DecisionRecord, FeedbackRecord
from retailor.domain.events import Event
from retailor.domain.privacy import Subject
from retailor.domain.quarantine import Rejection
from retailor.storage.coordination import LeaseStore as LeaseStore  # re-exported port
from retailor.storage.coordination import SnapshotStore as SnapshotStore  # re-exported port

if TYPE_CHECKING:  # Arrow appears in signatures only: importing the ports stays light
    import pyarrow as pa


@dataclass(frozen=True)
class AppendResult:
    """What an append did: how many events were stored and which ids were duplicates.

    ``duplicates`` lists, in input order, the ids that were not stored because the log
    already held them or because they appeared earlier in the same input.
    """

    accepted: int
    duplicates: list[str] = field(default_factory=list)
    #: the position the log gave this append's new events (None when it stored none)
    position: int | None = None


@dataclass(frozen=True)
class UpsertResult:
    """How many catalog items an upsert created and how many it changed."""

    created: int
    updated: int


class EventLog(ABC):
    """The append-only, durable log of events: the only truth in Retailor.

    Contract:
    - ``append`` stores each event whose ``event_id`` the log does not hold yet, and
      only once: the first occurrence of an id wins, later ones are duplicates. When it
      returns, the stored events survive a crash of the process.
    - Events come back exactly as stored (``properties`` and ``context`` included).
    - Any order of timestamps is accepted (late and out-of-order events are normal).
    - Every append that stores at least one event gets the next **position**: 1, 2, 3, …
      with no gap, in the order the appends became durable, across every process that
      appends to the same log. ``read_after`` gives the events of a range of positions in
      position order, so that every reader folds the log in one order, and a reader that
      missed a position (a writer died before telling anyone) finds it there.
    """

    @abstractmethod
    def append(self, table: pa.Table) -> AppendResult:
        """Store the rows of ``table`` (``storage.schema.EVENT_SCHEMA``); see the class contract."""

    @abstractmethod
    def scan(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        customer_id: str | None = None,
        types: Sequence[str] | None = None,
        batch_size: int = 65_536,
    ) -> Iterator[pa.RecordBatch]:
        """Yield stored events as Arrow batches of ``EVENT_SCHEMA``, oldest first.

        ``start`` is inclusive and ``end`` exclusive, on the event ``timestamp``;
        ``customer_id`` and ``types`` filter when given.
        """

    @abstractmethod
    def position(self) -> int:
        """The position of the newest durable append (0 before the first)."""

    @abstractmethod
    def read_after(
        self, position: int | None, upto: int, *, batch_size: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        """The events of the appends after ``position`` (None: from the very start, events
        stored before positions existed included) up to ``upto`` inclusive, as Arrow batches
        of ``EVENT_SCHEMA``, in position order (within one append, in the order given)."""

    @abstractmethod
    def timeline(
        self, identifiers: str | Sequence[str], limit: int, types: Sequence[str] | None = None
    ) -> list[Event]:
        """The newest ``limit`` events whose ``customer_id`` or ``anonymous_id`` is one of
        ``identifiers`` (and whose type is one of ``types``, when given), newest first (by
        timestamp, then by arrival)."""

    @abstractmethod
    def count(self) -> int:
        """How many events the log holds."""

    @abstractmethod
    def arrivals(self, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
        """How many stored events were received (``received_at``, the server's clock) in
        each UTC minute of ``[start, end)``: ``(minute, count)`` for the minutes with any,
        oldest first, each minute an aware UTC datetime at its first second."""

    @abstractmethod
    def visitors(
        self, start: datetime, end: datetime, interval: str | None = None
    ) -> list[tuple[datetime | None, str | None, str | None]]:
        """The distinct ``(period, customer_id, anonymous_id)`` of the events whose
        ``timestamp`` is in ``[start, end)``: ``period`` is the start of the event's UTC
        hour or day (``interval`` ``"hour"`` or ``"day"``), None without an interval.
        Sorted by period, then customer id, then anonymous id (None first)."""

    @abstractmethod
    def erase(self, subject: Subject) -> int:
        """Remove every event of ``subject``: whose ``customer_id`` or ``anonymous_id`` is
        one of its ids, or whose ``properties`` or ``context`` (as JSON text) holds one of
        its ``needles()``; return how many were removed. Their ids may then be stored
        again. Positions of the events left do not change (readers keep their place)."""

    @abstractmethod
    def expire(self, event_type: str, before: datetime) -> int:
        """Remove the events of ``event_type`` whose ``timestamp`` is before ``before``
        (retention); return how many were removed."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


class CatalogChanges(msgspec.Struct, frozen=True, kw_only=True):
    """The catalog items written after a revision (as they are now), up to ``revision``."""

    revision: int
    items: list[CatalogItem]


class CatalogStore(ABC):
    """The product catalog: reference data the retailer owns and Retailor reads.

    Contract: ``upsert`` applies patches in order (``domain.catalog.apply_patch``): a
    field a patch does not give keeps its value; ``created_at`` is set once. (PostgreSQL
    keeps a NUL of a name, brand or category as U+FFFD.)

    The catalog has one revision, shared by every process over the same store: each
    ``upsert`` of at least one patch takes a revision above every earlier one (the items
    of one upsert share it). ``revision()`` never decreases, and once it returns ``r``
    every upsert up to ``r`` is visible to reads and to ``changed_since``, which names
    every item written after a revision, however many times and by whichever process
    (``changed_since(0)``: every item held). Servers ask about twice a second.
    """

    @abstractmethod
    def upsert(self, patches: Sequence[CatalogPatch], now: datetime) -> UpsertResult:
        """Create or change items; see the class contract."""

    @abstractmethod
    def get(self, item_id: str) -> CatalogItem | None:
        """The item, or None when the catalog does not hold it."""

    @abstractmethod
    def get_many(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The items the catalog holds among ``item_ids``, by id."""

    @abstractmethod
    def items(self) -> Iterator[CatalogItem]:
        """Every item, in id order."""

    @abstractmethod
    def count(self) -> int:
        """How many items the catalog holds."""

    @abstractmethod
    def revision(self) -> int:
        """The revision of the latest upsert (0 before any)."""

    @abstractmethod
    def changed_since(self, revision: int) -> CatalogChanges:
        """The items written after ``revision``, in id order; see the class contract."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


class QuarantineStore(ABC):
    """Rejected input with its reason and raw payload, kept for people to inspect.

    Contract: nothing added is ever dropped silently; ``list`` returns the newest first
    (``received_at``, then ``quarantine_id``, both descending), only those from
    ``source`` and with exactly ``reason`` when given; ``count`` counts the same;
    ``tally(start, end)`` counts the rejections received in ``[start, end)`` by UTC hour
    and reason: ``(hour, reason, count)`` for the pairs with any, by hour then reason,
    each hour an aware UTC datetime at its first second. (PostgreSQL keeps a NUL of a
    reason as U+FFFD: a NUL in ``reason`` finds it.)
    """

    @abstractmethod
    def add(self, rejections: Sequence[Rejection]) -> None:
        """Keep ``rejections``; durable when this returns."""

    @abstractmethod
    def list(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        source: str | None = None,
        reason: str | None = None,
    ) -> list[Rejection]:
        """The newest rejections first, optionally only those from ``source`` and with
        ``reason``."""

    @abstractmethod
    def count(self, *, source: str | None = None, reason: str | None = None) -> int:
        """How many rejections are kept (from ``source``, with ``reason`` when given)."""

    @abstractmethod
    def tally(self, start: datetime, end: datetime) -> builtins.list[tuple[datetime, str, int]]:
        """Rejections received in ``[start, end)`` by UTC hour and reason (see the class
        contract)."""

    @abstractmethod
    def naming(self, subject: Subject) -> builtins.list[Rejection]:
        """The rejections whose payload or event id holds one of ``subject.needles()``,
        newest first."""

    @abstractmethod
    def erase(self, subject: Subject) -> int:
        """Remove the rejections ``naming(subject)`` returns; return how many."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


class ModelRecord(msgspec.Struct, kw_only=True):
    """One trained version of a model: its parameters (or artifact path) and metrics."""

    name: str
    version: int
    created_at: datetime
    params: dict[str, Any]
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)


class ModelRegistry(ABC):
    """Trained model versions and which one is active.

    Contract: ``save`` assigns the next version number of that model and makes it active
    when ``activate`` is true; versions are never overwritten; the artifact saved with a
    version comes back byte for byte from ``artifact``; ``activate`` makes any stored
    version the active one (a rollback); another process's saves are visible to
    ``active``, ``active_versions`` and ``versions`` without a restart.
    """

    @abstractmethod
    def save(
        self,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, Any],
        *,
        activate: bool = True,
        artifact: bytes | None = None,
    ) -> ModelRecord:
        """Store a new version, with the fitted model's bytes when it has any."""

    @abstractmethod
    def artifact(self, name: str, version: int) -> bytes | None:
        """The bytes saved with that version, or None when it has none."""

    @abstractmethod
    def activate(self, name: str, version: int) -> ModelRecord:
        """Make a stored version active; KeyError when there is no such version."""

    @abstractmethod
    def active(self, name: str) -> ModelRecord | None:
        """The active version of ``name``, or None when none was trained."""

    @abstractmethod
    def versions(self, name: str) -> list[ModelRecord]:
        """Every version of ``name``, oldest first."""

    @abstractmethod
    def names(self) -> list[str]:
        """The models that have at least one version."""

    @abstractmethod
    def active_versions(self) -> dict[str, int]:
        """The active version number of every model that has one, by name: what servers
        poll (about twice a second) to learn that another process activated a version,
        so it is cheap."""

    @abstractmethod
    def delete(self, name: str, version: int) -> bool:
        """Remove a version that is not active, with its artifact (False when there is
        no such version); ValueError for the active one. Later versions keep their
        numbers and a new one is never given a removed number."""


class KeyStore(ABC):
    """API keys, stored only as hashes of their secrets.

    Contract: ``find`` returns the key whose ``secret_hash`` matches, revoked or expired or
    not (the caller decides); a key added by another process becomes visible without a
    restart, a change made elsewhere (revocation, expiry) within a few seconds. Keys stored
    before a field existed read with its default (no expiry, no origins, no rate limit).
    ``expire`` and ``touch`` change one field of stored keys and leave every other as it is.
    """

    @abstractmethod
    def add(self, key: ApiKey) -> None:
        """Store a new key."""

    @abstractmethod
    def find(self, secret_hash: str) -> ApiKey | None:
        """The key with this secret hash, or None."""

    def find_at_once(self, secret_hash: str) -> tuple[bool, ApiKey | None]:
        """``(True, what find would return)`` when the store can tell without a network
        round trip (memory, a local file, a key it looked up moments ago), else
        ``(False, None)``: then ``find`` may wait on a server, and the caller should call
        it where waiting blocks nothing else (a worker thread). The default asks ``find``."""
        return True, self.find(secret_hash)

    @abstractmethod
    def all(self) -> list[ApiKey]:
        """Every key, oldest first."""

    @abstractmethod
    def revoke(self, key_id: str) -> bool:
        """Mark the key revoked; False when no key has that id."""

    @abstractmethod
    def expire(self, key_id: str, at: datetime) -> bool:
        """Make the key stop working at ``at`` (a key that expires sooner already keeps its
        time); False when no key has that id."""

    @abstractmethod
    def touch(self, used: Mapping[str, datetime]) -> None:
        """Record when keys were last used, by key id: each keeps the later of its stored
        ``last_used_at`` and the time given (processes that record at once never move it
        back); ids of no key are skipped."""


class LoggedDecision(NamedTuple):
    """A decision record and when the log stored it."""

    logged_at: datetime
    record: DecisionRecord


class DecisionLog(ABC):
    """Every decision Retailor made and the feedback on it, for attribution, learning and
    offline evaluation of policies.

    Contract: ``append`` stores every record it is given (decision ids are unique: the
    engine makes them so); ``get`` returns a stored record or None; ``scan`` yields records oldest first, from
    ``start`` (inclusive) when given; ``add_feedback`` keeps every record it is given;
    ``feedback`` returns feedback oldest first, for one decision when asked.

    Reading the log as it grows (what a learner shared by many writers does):
    ``decisions_between(after, until, limit)`` returns, in ``(at, decision_id)`` order, at
    most ``limit`` decisions strictly after the cursor ``after`` (an ``(at, decision_id)``
    pair, None: from the first) and with ``at`` at or before ``until``; the last one's
    ``(at, decision_id)`` is the cursor of the next call. ``feedback_for(ids)`` returns
    the feedback of those decisions, oldest first.

    Reading the log in the order it was written (what the report facts do, so that a
    decision made "in the past" — a replay with a ``timestamp`` — is read all the same):
    ``append`` stamps its records with the time it stores them (``logged_at``, by the
    clock of the process that appends); ``logged_between(after, until, limit)`` returns, in ``(logged_at,
    decision_id)`` order, at most ``limit`` :class:`LoggedDecision` strictly after the
    cursor ``after`` (a ``(logged_at, decision_id)`` pair, None: from the first) and
    logged at or before ``until``. Records stored before stamps existed count as logged
    at their ``at``.
    """

    @abstractmethod
    def append(self, records: Sequence[DecisionRecord]) -> None:
        """Store decisions (see the class contract)."""

    @abstractmethod
    def get(self, decision_id: str) -> DecisionRecord | None:
        """One decision by id."""

    @abstractmethod
    def scan(self, *, start: datetime | None = None) -> Iterator[DecisionRecord]:
        """Decisions oldest first."""

    @abstractmethod
    def add_feedback(self, records: Sequence[FeedbackRecord]) -> None:
        """Store feedback records."""

    @abstractmethod
    def feedback(self, *, decision_id: str | None = None) -> list[FeedbackRecord]:
        """Feedback oldest first, of one decision or of all."""

    @abstractmethod
    def count(self) -> int:
        """How many decisions are stored."""

    @abstractmethod
    def decisions_between(
        self, after: tuple[datetime, str] | None, until: datetime, limit: int
    ) -> list[DecisionRecord]:
        """Decisions after a cursor, up to a time (see the class contract)."""

    @abstractmethod
    def feedback_for(self, decision_ids: Sequence[str]) -> list[FeedbackRecord]:
        """The feedback of some decisions, oldest first."""

    @abstractmethod
    def logged_between(
        self, after: tuple[datetime, str] | None, until: datetime, limit: int
    ) -> list[LoggedDecision]:
        """Decisions in the order they were logged, after a cursor, up to a time (see the
        class contract)."""

    @abstractmethod
    def naming(self, subject: Subject) -> list[DecisionRecord]:
        """The decisions made for ``subject`` (``customer`` or ``anonymous_id`` one of its
        ids), oldest first."""

    @abstractmethod
    def erase(self, subject: Subject) -> int:
        """Remove the decisions ``naming(subject)`` returns and their feedback; return
        how many rows went (decisions plus feedback)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


#: What a definition store keeps: one document per id in each kind.
DEFINITION_KINDS = ("placement", "offer", "segment", "experiment", "holdout")


class StoredDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """One stored definition: its ``document`` as given (JSON-like data), when it was
    last written and the store's revision of that write."""

    kind: str
    id: str
    document: dict[str, Any]
    updated_at: datetime
    revision: int


class DefinitionChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What changed in a definition store after a revision: the definitions written since
    (as they are now) and the ``(kind, id)`` of those deleted since, up to ``revision``."""

    revision: int
    changed: list[StoredDefinition]
    deleted: list[tuple[str, str]]


def check_kind(kind: str) -> str:
    """``kind`` when it is one of :data:`DEFINITION_KINDS`, else ``ValueError``."""
    if kind not in DEFINITION_KINDS:
        raise ValueError(f"unknown definition kind {kind!r}: one of {', '.join(DEFINITION_KINDS)}")
    return kind


class DefinitionStore(ABC):
    """The definitions people write (placements, offers, segments, experiments and the
    global holdout), shared by every
    process that works on the same data: a server learns of a change made elsewhere by
    asking what changed since the revision it holds.

    Contract:
    - ``kind`` is one of :data:`DEFINITION_KINDS` (else ``ValueError``); ids follow
      ``domain.ids.check_definition_id`` (else ``InvalidIdError``, before anything is
      read or written).
    - A document comes back equal to the one put, keys in the same order, any string
      (a ``\\u0000`` included).
    - The store has one revision, shared by every kind and every process: each ``put``
      and each ``delete`` that removes something takes a revision above every earlier
      one. ``revision()`` never decreases, and once it returns ``r`` every write up to
      ``r`` is visible to ``get``, ``all`` and ``changed_since``.
    - ``changed_since(r)`` names every definition written or deleted after ``r``, however
      many times, by whichever process; ``changed_since(0)`` gives every definition held.
    """

    @abstractmethod
    def put(self, kind: str, definition_id: str, document: dict[str, Any]) -> StoredDefinition:
        """Create or replace a definition; return it as stored (its new revision)."""

    @abstractmethod
    def get(self, kind: str, definition_id: str) -> StoredDefinition | None:
        """The definition, or None when there is none."""

    @abstractmethod
    def delete(self, kind: str, definition_id: str) -> bool:
        """Remove a definition; whether there was one."""

    @abstractmethod
    def all(self, kind: str) -> list[StoredDefinition]:
        """Every definition of ``kind``, in id order."""

    @abstractmethod
    def revision(self) -> int:
        """The revision of the latest write (0 before any)."""

    @abstractmethod
    def changed_since(self, revision: int) -> DefinitionChanges:
        """What was written or deleted after ``revision``; see the class contract. Cheap
        when nothing changed: servers ask about twice a second."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


class InstallationStore(ABC):
    """Values an installation fixes once and every process of it shares, by name (the
    salt that identifiers are hashed with: workers that hashed an email differently would
    not recognise the same customer).

    Contract:
    - ``get(name)`` is the value stored under ``name``, or None before any.
    - ``get_or_create(name, value)`` stores ``value`` when ``name`` holds nothing yet and
      returns what ``name`` holds afterwards: the value stored first wins, also when
      processes race to create it, and it never changes later (a different ``value``
      given later is ignored, the stored one returned).
    - Names are short words of lower-case letters, digits, ``.``, ``_`` and ``-``
      (else ``ValueError``); values are non-empty strings (else ``ValueError``).
    """

    @abstractmethod
    def get(self, name: str) -> str | None:
        """The value held under ``name``, or None."""

    @abstractmethod
    def get_or_create(self, name: str, value: str) -> str:
        """The value held under ``name``, storing ``value`` first when there is none."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


def check_installation_entry(name: str, value: str | None = None) -> None:
    """Raise ``ValueError`` for a name or value the ``InstallationStore`` contract refuses."""
    if not name or len(name) > 64 or any(c not in _NAME_CHARS for c in name):
        raise ValueError(
            f"installation value name {name!r}: use lower-case letters, digits, '.', '_', '-'"
        )
    if value is not None and not value:
        raise ValueError(f"installation value {name!r}: an empty value cannot be stored")


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
