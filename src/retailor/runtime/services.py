"""The services every role builds over one data directory: the stores, the projections
(profiles and identities, online features, offer ledger and policy) rebuilt from the
logs, the model service and its training jobs, segments, decisions, the group-commit
writer that feeds them the events it stores, the followers of what other processes
store (definitions; on shared stores also the catalog and model activations) and the
leased background jobs.

With shared hot state (``state = "redis://…"``) the offer ledger is the one in Redis and
the deciding processes learn nothing themselves: they load the offer policy that the
lease holder learns from the shared decision log and publishes (:func:`hot_state`,
:func:`build_policy_learner`). Without it the ledger is in process memory and the policy
learns in process, as one embedded server does."""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, field

from retailor.analytics.updater import FactUpdater
from retailor.decision.learning import PolicyLearner
from retailor.decision.policies import create_policy
from retailor.decision.service import DecisionService
from retailor.domain.events import Event
from retailor.identity.graph import IdentityRules
from retailor.identity.salt import SALT_NAME, load_or_create_salt
from retailor.ingest.writer import CommitObserver, GroupCommitWriter, StoredObserver
from retailor.models.jobs import TrainingJobs
from retailor.models.serving import ModelService
from retailor.privacy.erasure import Eraser
from retailor.privacy.retention import Retention
from retailor.privacy.suppression import Suppression
from retailor.profiles.lifetime import LifetimeModel
from retailor.profiles.segment_sizes import SegmentSizeSampler
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.runtime.background import BackgroundJobs
from retailor.runtime.feeding import FeedFollower, Project
from retailor.runtime.following import CatalogFollower, DefinitionFollower, ModelFollower
from retailor.runtime.privacy import (
    PrivacyFollower,
    build_eraser,
    build_retention,
    build_suppression,
)
from retailor.runtime.reporting import build_fact_updater
from retailor.runtime.snapshots import load_snapshot, take_snapshot
from retailor.settings import Settings, SettingsError
from retailor.storage.base import ModelRecord
from retailor.storage.factory import (
    SharedState,
    Storage,
    is_postgres,
    open_shared_state,
    open_storage,
)
from retailor.storage.files.installation import FileInstallationStore
from retailor.storage.hot import OfferLedger, PolicyStateStore
from retailor.storage.memory.ledger import MemoryOfferLedger
from retailor.storage.permissions import make_private_dir

log = logging.getLogger(__name__)


def open_shared(settings: Settings) -> SharedState | None:
    """The hot state this process shares with the other workers: in Redis with ``state =
    "redis://…"``, else its own in memory when the truth is shared (PostgreSQL), None when
    it is not (embedded: every append is this process's). Shared state needs shared
    truth: with ``state`` set the storage must be PostgreSQL."""
    shared_truth = is_postgres(settings.storage_dsn)
    if settings.state and not shared_truth:
        raise SettingsError(
            "state = redis://… is for workers sharing one PostgreSQL database: set storage "
            "(RETAILOR_STORAGE) to postgresql://…, or leave state unset to run embedded"
        )
    if not shared_truth:
        return None
    return open_shared_state(settings.state, feed_hold_seconds=settings.feed_hold_seconds)


@dataclass(frozen=True)
class HotState:
    """Where the offer ledger and the offer policy's learned state live: in this process
    (``policy_states`` None: the policy learns where it decides), or shared by every
    worker through ``state``."""

    ledger: OfferLedger
    policy_states: PolicyStateStore | None = None


def hot_state(shared: SharedState | None) -> HotState:
    """The shared ledger and policy state of ``shared`` when it has them (Redis), else a
    ledger in this process's memory and a policy that learns in it."""
    if shared is None or shared.ledger is None:
        return HotState(MemoryOfferLedger())
    return HotState(shared.ledger, shared.policy_states)


def build_policy_learner(
    settings: Settings, storage: Storage, decisions: DecisionService, hot: HotState
) -> PolicyLearner | None:
    """With shared hot state: the learner of the offer policy from the shared decision
    log, which publishes what it learned (None otherwise: the policy learns in process).
    It is the lease holder's job (``policy learning``, registered by the roles); learners
    in several processes would stay correct (publishing compares versions, so each logged
    choice is in the published policy once) but repeat one another's work."""
    if hot.policy_states is None:
        return None
    return PolicyLearner(
        create_policy(settings.offer_policy, settings.policy_seed),
        storage.decisions,
        hot.policy_states,
        decisions.offers,
        reward_mode=settings.offer_reward,
        reward_scale=settings.reward_scale,
        reward_window=settings.reward_window_seconds,
    )


def open_data(settings: Settings) -> Storage:
    """The stores of ``settings``' data directory (created, private, on first use)."""
    make_private_dir(settings.data_dir)
    return open_storage(settings.storage_dsn, settings.data_dir)


def identity_salt(settings: Settings, storage: Storage) -> str:
    """The identity salt: in the database when it is shared (created, on first start, from
    the salt an older version kept in this data directory, if any), else in the data
    directory."""
    if not is_postgres(storage.dsn):
        return load_or_create_salt(storage.installation, settings.identity_salt)
    earlier = FileInstallationStore(settings.data_dir).get(SALT_NAME)
    return load_or_create_salt(
        storage.installation, settings.identity_salt, shared=True, earlier=earlier
    )


@dataclass
class Services:
    """One data directory's services, wired together. ``followers`` get every batch of
    newly stored events after the projections (from the writer thread, before the events
    are acknowledged); the background worker adds the model service to them. ``jobs``
    run while this process holds the background lease (the roles start it)."""

    settings: Settings
    storage: Storage
    profiles: ProfileService
    segments: SegmentService
    models: ModelService
    training: TrainingJobs
    decisions: DecisionService
    writer: GroupCommitWriter
    definition_follower: DefinitionFollower
    catalog_follower: CatalogFollower
    model_follower: ModelFollower
    jobs: BackgroundJobs
    followers: list[StoredObserver] = field(default_factory=list)
    #: this process's place in the shared event log (None: embedded, every append is ours)
    feed: FeedFollower | None = None
    #: the offer policy's learner, a leased job (None: the policy learns in process)
    policy_learner: PolicyLearner | None = None
    #: keeps the fact tables of reports (``storage.facts``) up to date, a leased job
    facts: FactUpdater | None = None
    #: keeps segment sizes over time (``storage.segment_sizes``), a leased job
    segment_sizes: SegmentSizeSampler | None = None
    #: the hot state shared with the other workers (None: embedded)
    shared: SharedState | None = None
    #: erasure requests and their runs; the suppression list at ingest; retention; on
    #: shared stores, forgetting what another process erased (set by ``build_services``)
    eraser: Eraser = field(init=False, repr=False)
    suppression: Suppression = field(init=False, repr=False)
    retention: Retention = field(init=False, repr=False)
    privacy_follower: PrivacyFollower | None = field(default=None, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)
    _snapshot_position: int | None = field(default=None, init=False, repr=False)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the background threads have processed what was queued before the
        call: events to store and the projections they feed, segment count builds, model
        updates, decisions to log and the feedback that waited for them, first exposures
        to experiments to record. False when one of
        them did not get there within ``timeout`` seconds (None: no limit) in all."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        waits = (
            self.writer.wait_idle,
            self.segments.builder.wait_idle,
            self.models.wait_idle,
            self.decisions.recorder.wait_idle,
            self.decisions.exposures.wait_idle,
        )
        return all([wait(left()) for wait in waits])

    def snapshot(self, *, force: bool = False) -> int | None:
        """Save a snapshot of the projections to the shared store (a worker started later
        loads it); returns its position, None when this process follows no shared log.
        Without ``force`` nothing is saved when the log did not move since the last one."""
        if self.feed is None:
            return None
        self.feed.catch_up_with_log()
        if self.feed.position == self._snapshot_position and not force:
            return None  # nothing new since the last one
        self._snapshot_position = take_snapshot(
            self.feed, self.profiles, self.decisions.features, self.storage.snapshots
        )
        return self._snapshot_position

    def close(self) -> None:
        """Flush the writer and the decision log and stop every thread (the stores stay
        open: they belong to whoever opened them). Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        self.jobs.close()
        if self.privacy_follower is not None:
            self.privacy_follower.close()
        if self.feed is not None:
            self.feed.close()
        self.model_follower.close()
        self.catalog_follower.close()
        self.definition_follower.close()
        self.segments.close()
        self.writer.close()
        self.decisions.close()
        self.models.close()


def build_services(
    settings: Settings,
    storage: Storage,
    *,
    background: bool,
    on_commit: CommitObserver | None = None,
    shared: SharedState | None = None,
) -> Services:
    """The services over ``storage``, with the projections rebuilt from the event log and
    the offer ledger and policy from the decision log (timed in the log).

    ``background=False`` (a one-off command) starts none of the decision side's
    background refreshes and does not follow definition changes; otherwise, on shared
    stores, catalog changes made by other processes are followed too. The model service,
    the model follower and the background jobs are started by the roles, never here.
    ``on_commit(rows, seconds)`` is told of every group commit.
    """
    revision = storage.definitions.revision()  # before anything reads the definitions
    catalog_revision = storage.catalog.revision()  # before anything reads the catalog
    profiles = ProfileService(
        identity_salt(settings, storage),
        IdentityRules(max_customers_per_device=settings.max_customers_per_device),
    )
    profiles.remember_items(storage.catalog.items())
    clv = storage.models.active("clv")
    if clv is not None:
        profiles.lifetime = LifetimeModel.from_params(clv.params)
    models = ModelService(
        storage.models,
        storage.events.scan,
        profiles.resolve,
        storage.catalog.get_many,
        storage.catalog.items,
        refresh_seconds=settings.models_refresh_seconds,
        retrain_every=settings.retrain_minutes * 60,
    )
    registry = storage.models

    def fit_clv() -> ModelRecord:
        lifetime, metrics = profiles.train_lifetime()
        return registry.save("clv", lifetime.params(), metrics)

    restored = load_snapshot(storage.snapshots) if shared is not None else None
    if restored is not None:  # before the segments: they build their counts from the log
        profiles.import_state(restored[1]["profiles"])  # type: ignore[arg-type]
    segments = SegmentService(storage.definitions, profiles, storage.events)
    hot = hot_state(shared)
    decisions = DecisionService(
        storage.definitions,
        storage.decisions,
        storage.catalog.items(),
        models,
        profiles,
        segments,
        ledger=hot.ledger,
        policy_states=hot.policy_states,
        consent_required=settings.consent_required,
        timeout_seconds=settings.decision_timeout_ms / 1000,
        policy=settings.offer_policy,
        reward_mode=settings.offer_reward,
        reward_window=settings.reward_window_seconds,
        reward_scale=settings.reward_scale,
        seed=settings.policy_seed,
        background=background,
        shared=shared.cache if shared is not None else None,
        exposures=storage.exposures,
        exposures_shared=storage.shared,
    )
    if restored is not None:
        decisions.features.import_state(restored[1]["features"])  # type: ignore[arg-type]
    followers: list[StoredObserver] = []

    def project(events: list[Event]) -> None:
        if settings.profiles_in_ingest:
            profiles.apply(events)
        decisions.features.apply(events)
        for follower in followers:
            follower(events)

    feed: FeedFollower | None = None
    if shared is None:
        started = time.perf_counter()
        folded = profiles.rebuild(storage.events.scan(), also=decisions.features.apply)
        log.info(
            "profiles and online features rebuilt from %d events in %.1f s",
            folded,
            time.perf_counter() - started,
        )

        def stored(events: list[Event], position: int | None) -> None:
            project(events)
            decisions.feedback.observe(events)

    else:
        feed = _follow_shared_log(
            storage, shared, profiles, decisions, project, restored[0] if restored else None
        )
        if background:
            feed.start()

        def stored(events: list[Event], position: int | None) -> None:
            assert feed is not None
            feed.committed(position, events)
            decisions.feedback.observe(events)  # ours alone: feedback is counted once

    decisions.replay_log()
    gc.freeze()  # the rebuilt projections live for the whole run: keep them out of collections
    writer = GroupCommitWriter(
        storage.events, storage.quarantine, on_commit=on_commit, on_stored=stored
    )
    # new counts are installed where everything committed is folded: between two commits
    # of the one writer, or with every worker's appends folded on a shared log
    segments.builder.settle = feed.settle if feed is not None else writer.after_stored
    definition_follower = DefinitionFollower(
        storage.definitions,
        {
            "placement": decisions.placements.reload,
            "offer": decisions.offers.reload,
            "segment": segments.reload,
            "experiment": decisions.experiments.reload,
            "holdout": decisions.experiments.reload_holdout,
        },
        revision,
    )
    catalog_follower = CatalogFollower(
        storage.catalog, [profiles.remember_items, decisions.catalog_changed], catalog_revision
    )
    if background:
        definition_follower.start()
        if storage.shared:
            catalog_follower.start()
    services = Services(
        settings=settings,
        storage=storage,
        profiles=profiles,
        segments=segments,
        models=models,
        training=TrainingJobs(models, fit_clv),
        decisions=decisions,
        writer=writer,
        definition_follower=definition_follower,
        catalog_follower=catalog_follower,
        model_follower=ModelFollower(storage.models, models.reload),
        jobs=BackgroundJobs(storage.leases),
        followers=followers,
        feed=feed,
        policy_learner=build_policy_learner(settings, storage, decisions, hot),
        facts=build_fact_updater(
            storage,
            profiles,
            segments,
            decisions,
            settle_seconds=settings.report_settle_seconds,
            horizon=feed.catch_up_with_log if feed is not None else None,
        ),
        shared=shared,
        segment_sizes=SegmentSizeSampler(segments, storage.segment_sizes),
    )
    services.eraser = build_eraser(services, shared)
    services.suppression = build_suppression(services)
    services.retention = build_retention(services)
    if storage.shared:
        services.privacy_follower = PrivacyFollower(services)
    return services


def _follow_shared_log(
    storage: Storage,
    shared: SharedState,
    profiles: ProfileService,
    decisions: DecisionService,
    project: Project,
    snapshot_position: int | None,
) -> FeedFollower:
    """This process's follower of the shared log, with the projections brought up to the
    log's newest position: from the snapshot loaded at ``snapshot_position``, else
    rebuilt from the whole log (timed in the log)."""
    started = time.perf_counter()
    if snapshot_position is None:
        position = storage.events.position()
        folded = profiles.rebuild(
            storage.events.read_after(None, position), also=decisions.features.apply
        )
        how = f"rebuilt from {folded} events"
    else:
        position = snapshot_position
        how = f"loaded from the snapshot at position {position}"
    feed = FeedFollower(storage.events, shared.feed, project, position)
    feed.catch_up_with_log()
    log.info(
        "projections %s, then folded up to position %d, in %.1f s",
        how,
        feed.position,
        time.perf_counter() - started,
    )
    return feed
