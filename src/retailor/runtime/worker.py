"""The background role: the work that keeps models and lists fresh, apart from answering
requests.

Every serving process starts its own part (``start_worker``): it loads the active model
versions, fits the live models that have none, folds every batch of events it stores into
the incremental models (about every second) and queues the personal lists of its most
recently active customers for computing; on shared stores (PostgreSQL) it also follows
the model versions other processes activate. The work done once for all processes —
scheduled retraining (``retrain_minutes``) and whatever else is registered with
``services.jobs`` — runs in the one process that holds the background lease
(``runtime.background``): a server competes for it, and ``retailor worker``
(``run_worker``) runs that role alone, without HTTP. Embedded, the one server process
holds the lease and does everything. Teaching the offer policy from feedback stays with
the decision log's own thread (``decision/recorder.py``), which runs wherever decisions
are made; with shared hot state (``state``) the lease holder learns it instead, from the
shared decision log (the ``policy learning`` job, ``decision/learning.py``).
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable

from retailor.runtime.privacy import add_privacy_jobs
from retailor.runtime.reporting import FOLD_SECONDS
from retailor.runtime.services import Services, build_services, open_data, open_shared
from retailor.settings import Settings

log = logging.getLogger("retailor.worker")
#: How often the lease holder learns the offer policy from the shared decision log.
LEARN_SECONDS = 1.0


def add_leased_jobs(services: Services) -> None:
    """Register the jobs that run only in the lease holder: scheduled retraining, on a
    shared log snapshots of the projections (for workers started later), with shared
    hot state the offer policy's learning, the facts of reports and segment sizes over
    time."""
    models = services.models
    services.jobs.add("retraining", models.retrain_every, models.retrain_scheduled)
    if services.feed is not None:
        services.jobs.add("snapshot", services.settings.snapshot_minutes * 60, services.snapshot)
    if services.policy_learner is not None:
        services.jobs.add("policy learning", LEARN_SECONDS, services.policy_learner.run_once)
    if services.facts is not None:
        services.jobs.add("report facts", FOLD_SECONDS, services.facts.run_once)
    add_privacy_jobs(services)
    if services.segment_sizes is not None:
        services.jobs.add(
            "segment sizes", services.settings.segment_size_seconds, services.segment_sizes.run_once
        )


def start_worker(services: Services) -> None:
    """Start a serving process's background work over ``services`` and compete for the
    background lease (all stopped by ``services.close()``)."""
    services.models.start(retrain=False)
    services.followers.append(services.models.observe)
    services.decisions.warm(services.profiles)
    if services.storage.shared:
        services.model_follower.start()
    add_leased_jobs(services)
    services.jobs.start()
    if services.privacy_follower is not None:
        services.privacy_follower.start()
    gc.freeze()  # the models fitted at start live until replaced: keep them out of collections


class NotSharedError(ValueError):
    """The stores are not shared: the background role runs inside the one server."""


def run_worker(
    settings: Settings, on_ready: Callable[[Callable[[], None]], None] | None = None
) -> None:
    """Run the background role alone until SIGINT or SIGTERM (or ``stop()``): build the
    services over the shared stores, follow the shared log, definitions and catalog,
    compete for the background lease and run the leased jobs while holding it. ``on_ready(stop)`` is called once it competes.

    ``NotSharedError`` when the storage is not shared (the embedded DuckDB file has one
    process, which does the background work itself).
    """
    storage = open_data(settings)
    try:
        if not storage.shared:
            raise NotSharedError(
                "the embedded store is served by one process, which does the background "
                "work itself; a separate worker needs shared storage "
                '(storage = "postgresql://…")'
            )
        shared = open_shared(settings)
        services = build_services(settings, storage, background=False, shared=shared)
        if services.feed is not None:
            services.feed.start()  # retraining and snapshots see every worker's events
        # the leased jobs read the present definitions and catalog (the report facts:
        # campaign labels, offer and catalog costs, attribution windows, segments; the
        # policy learner: offers): take up what other processes store while this runs
        services.definition_follower.start()
        services.catalog_follower.start()
        stop = threading.Event()
        try:
            add_leased_jobs(services)
            services.jobs.start()
            log.info("background worker %s competing for the lease", services.jobs.holder)
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, lambda *_: stop.set())
            if on_ready is not None:
                on_ready(stop.set)
            while not stop.wait(1.0):
                pass
        finally:
            services.close()
            if shared is not None:
                shared.close()
    finally:
        storage.close()
