"""Wiring privacy: the eraser over this process's stores and services, what it derives
again after an erasure (``rederive``), the leased job that runs waiting erasures and
the daily retention, and, on shared stores, each process forgetting what it holds in
memory when another process erased someone (``PrivacyFollower``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from retailor.models.families import DEFAULT_MODELS
from retailor.privacy.erasure import Eraser, ErasureStores
from retailor.privacy.retention import Retention
from retailor.privacy.suppression import Suppression, erase_suppressed
from retailor.runtime.following import Follower
from retailor.storage.factory import SharedState

if TYPE_CHECKING:  # the services import this module to build their privacy parts
    from retailor.runtime.services import Services

log = logging.getLogger(__name__)


def build_suppression(services: Services) -> Suppression:
    """The suppression list as ingest reads it."""
    return Suppression(services.storage.privacy, services.profiles.salt)


def build_eraser(services: Services, shared: SharedState | None) -> Eraser:
    """The eraser over every store of ``services`` (and the shared hot state)."""
    storage = services.storage
    ledger = shared.ledger if shared is not None and shared.ledger is not None else None
    stores = ErasureStores(
        events=storage.events,
        quarantine=storage.quarantine,
        decisions=storage.decisions,
        exposures=storage.exposures,
        privacy=storage.privacy,
        reclaimer=storage.reclaimer,
        snapshots=storage.snapshots,
        facts=services.facts if services.facts is not None else storage.facts,
        cache=shared.cache if shared is not None else None,
        feed=shared.feed if shared is not None else None,
        ledger=ledger or services.decisions.ledger,
        exports=storage.exports,
    )
    return Eraser(
        stores,
        services.profiles,
        lambda: rederive(services),
        suppressed=lambda: services.suppression.refresh(),
    )


def forget_locally(services: Services) -> None:
    """Rebuild this process's projections from the stores as they are now and drop what
    it holds of people beside them (between two folds: nothing is folded twice)."""
    profiles, features = services.profiles, services.decisions.features
    feed = services.feed

    def rebuild() -> None:
        features.import_state({"subjects": {}, "items": {}, "newest": 0.0, "pruned_at": 0.0})
        if feed is None:
            batches = services.storage.events.scan()
        else:
            batches = services.storage.events.read_after(None, feed.position)
        profiles.rebuild(batches, also=features.apply)

    settle: Callable[[Callable[[], None]], Future[None]] = (
        feed.settle if feed is not None else services.writer.after_stored
    )
    settle(rebuild).result()
    services.segments.forget()
    services.decisions.forget()


def rederive(services: Services) -> dict[str, int]:
    """After people were deleted from the stores: projections rebuilt, every trained model
    trained again and activated, and every other version of it removed (they were trained
    on the erased people's events). Returns model versions removed."""
    forget_locally(services)
    registry = services.storage.models
    trained = [n for n in registry.names() if n in DEFAULT_MODELS]
    if trained:
        services.models.train(trained, force=True)
    removed = 0
    for name in registry.names():
        active = registry.active(name)
        for record in registry.versions(name):
            if active is None or record.version != active.version:
                removed += registry.delete(name, record.version)
    relearned = services.decisions.relearn_policy()
    if services.policy_learner is not None:
        relearned = services.policy_learner.relearn()
    services.snapshot(force=True)  # a fresh snapshot in place of those the erasure removed
    return {"model_versions_removed": removed, "offer_policy_choices_relearned": relearned}


def build_retention(services: Services) -> Retention:
    """Retention as the settings ask, with the erasure's machinery."""
    storage = services.storage
    return Retention(
        storage.events,
        services.settings.retention_days,
        lambda: rederive(services),
        storage.reclaimer,
    )


def add_privacy_jobs(services: Services) -> None:
    """The leased jobs: waiting erasures every second, retention once a day (when any
    retention is set)."""
    services.jobs.add("erasures", 1.0, services.eraser.run_pending)
    if services.settings.retention_days:
        services.jobs.add("retention", 24 * 3600.0, services.retention.apply)


class PrivacyFollower(Follower):
    """On shared stores: when the suppression list changes (another process erased or
    lifted someone), read it again and, when someone was erased, forget what this
    process holds and rebuild it from the stores (an outage is logged once)."""

    what = "erasures"

    def __init__(self, services: Services, poll_seconds: float = 1.0) -> None:
        super().__init__(poll_seconds=poll_seconds)
        self._services = services
        self._revision = services.storage.privacy.revision()

    def poll(self) -> int:
        """Take up a change of the suppression list; 1 when it changed, else 0."""
        revision = self._services.storage.privacy.revision()
        if revision == self._revision:
            return 0
        suppression = self._services.suppression
        before = suppression.current()
        suppression.refresh()
        if suppression.current() - before:  # someone erased (a lift forgets nothing)
            forget_locally(self._services)
            exports = self._services.storage.exports
            if exports is not None:  # this process's own data directory
                erase_suppressed(exports, suppression)
        self._revision = revision  # after the work: a failure is taken up again
        return 1
