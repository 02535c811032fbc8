"""Erasure: one person removed from every store, then everything derived from the
stores derived again without them, then the space of the deleted rows reclaimed so
that no byte of them remains; their identifiers suppressed at ingest.

A request is stored first (``request``: answered at once with its id); the background
role runs the waiting ones (``run_pending``), several in one round sharing one
re-derivation and one rewrite. What derives data from the stores (profiles, online
features, segment counts, models, the offer ledger and policy, caches) is not known
here: the composition root hands in ``rederive``, which rebuilds it from the stores as
they are after the deletions.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from retailor.domain.privacy import Subject
from retailor.privacy.subjects import (
    ResolvedSubject,
    graph_ref,
    resolve_subject,
    suppression_hash,
)
from retailor.profiles.service import ProfileService
from retailor.storage.base import DecisionLog, EventLog, QuarantineStore, SnapshotStore
from retailor.storage.experiments import ExposureStore
from retailor.storage.hot import EventFeed, HotCache, OfferLedger
from retailor.storage.privacy import ErasureRecord, ExportFiles, PrivacyStore, SpaceReclaimer

log = logging.getLogger(__name__)

#: Rebuilds what is derived from the stores; returns rows (or versions) it dropped by
#: name, for the receipt.
Rederive = Callable[[], dict[str, int]]


class Erases(Protocol):
    """What removes a subject's rows: a store, or what serializes its writes."""

    def erase(self, subject: Subject) -> int: ...


@dataclass
class ErasureStores:
    """The stores an erasure removes a person from."""

    events: EventLog
    quarantine: QuarantineStore
    decisions: DecisionLog
    exposures: ExposureStore
    privacy: PrivacyStore
    reclaimer: SpaceReclaimer
    snapshots: SnapshotStore
    #: the report facts (through their updater, so an erasure never lands mid-fold)
    facts: Erases | None = None
    cache: HotCache | None = None
    feed: EventFeed | None = None
    ledger: OfferLedger | None = None
    exports: ExportFiles | None = None


class Eraser:
    """Runs erasure requests (see the module docstring)."""

    def __init__(
        self,
        stores: ErasureStores,
        profiles: ProfileService,
        rederive: Rederive,
        *,
        suppressed: Callable[[], object] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.stores = stores
        self.profiles = profiles
        self.rederive = rederive
        self.suppressed = suppressed
        self.clock = clock
        #: seconds the last round took, by step
        self.last_costs: dict[str, float] = {}
        self._ids: dict[str, tuple[str, ...]] = {}  # each running request's subject

    def target_hash(self, identifier: str) -> str:
        """What a request keeps of the identifier it names."""
        return suppression_hash(graph_ref(identifier, self.profiles.salt), self.profiles.salt)

    def request(self, identifier: str) -> ErasureRecord:
        """Store a request for ``identifier``; the background role runs it."""
        record = ErasureRecord(
            erasure_id=f"er_{secrets.token_hex(8)}",
            status="pending",
            target_hash=self.target_hash(identifier),
            requested_at=self.clock(),
            identifier=identifier,
        )
        self.stores.privacy.add_erasure(record)
        return record

    def run_pending(self) -> int:
        """Run every waiting request in one round; how many finished."""
        waiting = self.stores.privacy.pending_erasures()
        if not waiting:
            return 0
        self.run(waiting)
        return len(waiting)

    def erase_now(self, identifier: str) -> ErasureRecord:
        """Request and run one erasure at once (a command with the data to itself)."""
        record = self.request(identifier)
        self.run([record])
        done = self.stores.privacy.get_erasure(record.erasure_id)
        assert done is not None
        return done

    def run(self, records: list[ErasureRecord]) -> None:
        """Erase the people of ``records`` (see the module docstring)."""
        costs: dict[str, float] = {"delete": 0.0, "rederive": 0.0, "reclaim": 0.0}
        receipts: dict[str, Counter[str]] = {}
        try:
            for record in records:
                record.status = "running"
                self.stores.privacy.save_erasure(record)
                started = time.perf_counter()
                receipts[record.erasure_id] = self._delete(record)
                costs["delete"] += time.perf_counter() - started
            self.suppressed()  # this process refuses them from now on
            if self.stores.exports is not None:  # an export put in place meanwhile
                for record in records:
                    ids = self._ids.pop(record.erasure_id, ())
                    receipts[record.erasure_id]["exports"] += self.stores.exports.erase(ids)
            started = time.perf_counter()
            derived = self.rederive()
            costs["rederive"] += time.perf_counter() - started
            for record in records:
                record.identifier = None  # before the rewrite: it must not survive it
                record.receipt = dict(receipts[record.erasure_id])
                self.stores.privacy.save_erasure(record)
            started = time.perf_counter()
            before, after = self.stores.reclaimer.reclaim()
            costs["reclaim"] += time.perf_counter() - started
        except Exception as exc:
            log.exception("erasure round failed; its requests are retried")
            for record in records:
                record.status = "failed"
                record.error = f"{type(exc).__name__}: {exc}"
                self.stores.privacy.save_erasure(record)
            raise
        finished = self.clock()
        for record in records:
            receipt = receipts[record.erasure_id]
            if any(receipt.values()):
                receipt.update({f"derived.{k}": v for k, v in derived.items()})
            record.status, record.finished_at, record.error = "done", finished, None
            record.receipt = dict(sorted(receipt.items()))
            self.stores.privacy.save_erasure(record)
        self.last_costs = {k: round(v, 3) for k, v in costs.items()}
        log.info(
            "erased %d people in %s; the stores took %d bytes before the rewrite, %d after",
            len(records),
            self.last_costs,
            before,
            after,
        )

    def _delete(self, record: ErasureRecord) -> Counter[str]:
        """Remove one person from every store; rows removed per store."""
        assert record.identifier is not None
        resolved = resolve_subject(record.identifier, self.profiles, self.stores.events)
        self._ids[record.erasure_id] = resolved.subject.ids
        return self.delete(resolved)

    def delete(self, resolved: ResolvedSubject) -> Counter[str]:
        """Remove ``resolved`` from every store and suppress their identifiers."""
        s, subject = self.stores, resolved.subject
        receipt: Counter[str] = Counter()
        receipt["event_log"] = s.events.erase(subject)
        receipt["quarantine"] = s.quarantine.erase(subject)
        receipt["decision_log"] = s.decisions.erase(subject)
        receipt["exposures"] = s.exposures.erase(list(subject.ids))
        if s.facts is not None:
            receipt["report_facts"] = s.facts.erase(subject)
        if s.exports is not None:
            receipt["exports"] = s.exports.erase(subject.ids)
        if s.ledger is not None:
            receipt["offer_ledger"] = s.ledger.forget(list(subject.ids))
        receipt["snapshots"] = s.snapshots.clear()
        if s.cache is not None:
            receipt["hot_cache"] = s.cache.clear()
        if s.feed is not None:
            receipt["event_feed"] = s.feed.clear()
        hashes = [suppression_hash(r, self.profiles.salt) for r in resolved.refs]
        s.privacy.suppress(hashes, self.clock())
        theirs = ("event_log", "quarantine", "decision_log", "exposures", "report_facts", "exports")
        if not any(receipt[k] for k in theirs):
            # nothing of theirs was left: a second erasure answers zeros everywhere
            return Counter({k: 0 for k in receipt})
        return receipt


def receipt_json(record: ErasureRecord) -> dict[str, object]:
    """A request as the API answers it (never the identifier)."""
    return {
        "erasure_id": record.erasure_id,
        "status": record.status,
        "requested_at": record.requested_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "receipt": record.receipt,
        "error": record.error,
        "target_hash": record.target_hash,
    }
