"""The services every role builds over one data directory: the stores, the projections
(profiles and identities, online features, offer ledger and policy) rebuilt from the
logs, the model service and its training jobs, segments, decisions, the group-commit
writer that feeds them the events it stores, and the follower of definition changes.

Hot state shared by scaled-out workers (``state = "redis://…"``): the offer ledger and the
offer policy's published state go to Redis, and a policy learner runs beside the
deciding (see :func:`open_hot_state` and :func:`start_policy_learner`). Without it, the
ledger is in process memory and the policy learns in process, as one embedded server
does."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from retailor.decision.learning import LearnerLoop, PolicyLearner
from retailor.decision.policies import create_policy
from retailor.decision.service import DecisionService
from retailor.domain.events import Event
from retailor.identity.graph import IdentityRules
from retailor.identity.salt import load_or_create_salt
from retailor.ingest.writer import CommitObserver, GroupCommitWriter, StoredObserver
from retailor.models.jobs import TrainingJobs
from retailor.models.serving import ModelService
from retailor.profiles.lifetime import LifetimeModel
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.runtime.following import DefinitionFollower
from retailor.settings import Settings
from retailor.storage.base import ModelRecord, OfferLedger, PolicyStateStore
from retailor.storage.factory import Storage, open_storage
from retailor.storage.memory.ledger import MemoryOfferLedger
from retailor.storage.permissions import make_private_dir

log = logging.getLogger(__name__)


def open_data(settings: Settings) -> Storage:
    """The stores of ``settings``' data directory (created, private, on first use)."""
    make_private_dir(settings.data_dir)
    return open_storage(settings.storage_dsn, settings.data_dir)


@dataclass
class HotState:
    """Where the offer ledger and the offer policy's learned state live: in this process
    (``policy_states`` None: the policy learns where it decides), or shared by every
    worker. ``close`` releases the connection."""

    ledger: OfferLedger
    policy_states: PolicyStateStore | None = None
    close: Callable[[], None] = lambda: None


def open_hot_state(settings: Settings) -> HotState:
    """The hot state ``settings.state`` names: in process memory when empty, else the
    Redis adapters over one connection (imported only then)."""
    if not settings.state:
        return HotState(MemoryOfferLedger())
    from retailor.storage.redis.connection import open_state
    from retailor.storage.redis.ledger import RedisOfferLedger
    from retailor.storage.redis.policy_state import RedisPolicyStateStore

    state = open_state(settings.state)
    return HotState(RedisOfferLedger(state), RedisPolicyStateStore(state), state.close)


def start_policy_learner(
    settings: Settings, storage: Storage, decisions: DecisionService, hot: HotState
) -> LearnerLoop | None:
    """With shared hot state: the loop that learns the offer policy from the decision log
    and publishes it every second (None embedded, where the policy learns in process).
    Learners in several processes stay correct (publishing compares versions, so each
    logged choice is in the published policy once) but repeat one another's work: the
    process that holds the background work should be the one to run it."""
    if hot.policy_states is None:
        return None
    learner = PolicyLearner(
        create_policy(settings.offer_policy, settings.policy_seed),
        storage.decisions,
        hot.policy_states,
        decisions.offers,
        reward_mode=settings.offer_reward,
        reward_scale=settings.reward_scale,
        reward_window=settings.reward_window_seconds,
    )
    return LearnerLoop(learner).start()


@dataclass
class Services:
    """One data directory's services, wired together. ``followers`` get every batch of
    newly stored events after the projections (from the writer thread, before the events
    are acknowledged); the background worker adds the model service to them."""

    settings: Settings
    storage: Storage
    profiles: ProfileService
    segments: SegmentService
    models: ModelService
    training: TrainingJobs
    decisions: DecisionService
    writer: GroupCommitWriter
    definition_follower: DefinitionFollower
    hot: HotState = field(default_factory=lambda: HotState(MemoryOfferLedger()))
    learner: LearnerLoop | None = None
    followers: list[StoredObserver] = field(default_factory=list)
    _closed: bool = field(default=False, init=False, repr=False)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the background threads have processed what was queued before the
        call: events to store and the projections they feed, segment count builds, model
        updates, decisions to log and the feedback that waited for them. False when one of
        them did not get there within ``timeout`` seconds (None: no limit) in all."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        waits = [
            self.writer.wait_idle,
            self.segments.builder.wait_idle,
            self.models.wait_idle,
            self.decisions.recorder.wait_idle,
        ]
        if self.learner is not None:
            waits.append(self.learner.wait_idle)
        return all([wait(left()) for wait in waits])

    def close(self) -> None:
        """Flush the writer and the decision log and stop every thread (the stores stay
        open: they belong to whoever opened them). Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        self.definition_follower.close()
        self.segments.close()
        self.writer.close()
        if self.learner is not None:
            self.learner.close()
        self.decisions.close()
        self.models.close()
        self.hot.close()


def build_services(
    settings: Settings,
    storage: Storage,
    *,
    background: bool,
    on_commit: CommitObserver | None = None,
) -> Services:
    """The services over ``storage``, with the projections rebuilt from the event log and
    the offer ledger and policy from the decision log (timed in the log).

    ``background=False`` (a one-off command) starts none of the decision side's
    background refreshes and does not follow definition changes; the model service is
    started by the background worker, never here. ``on_commit(rows, seconds)`` is told of
    every group commit.
    """
    revision = storage.definitions.revision()  # before anything reads the definitions
    profiles = ProfileService(
        load_or_create_salt(settings.data_dir, settings.identity_salt),
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

    segments = SegmentService(storage.definitions, profiles, storage.events)
    hot = open_hot_state(settings)
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
    )
    started = time.perf_counter()
    folded = profiles.rebuild(storage.events.scan(), also=decisions.features.apply)
    log.info(
        "profiles and online features rebuilt from %d events in %.1f s",
        folded,
        time.perf_counter() - started,
    )
    decisions.replay_log()
    gc.freeze()  # the rebuilt projections live for the whole run: keep them out of collections
    followers: list[StoredObserver] = []

    def stored(events: list[Event]) -> None:
        if settings.profiles_in_ingest:
            profiles.apply(events)
        decisions.observe(events)
        for follower in followers:
            follower(events)

    writer = GroupCommitWriter(
        storage.events, storage.quarantine, on_commit=on_commit, on_stored=stored
    )
    segments.builder.settle = writer.after_stored  # install new counts between two commits
    definition_follower = DefinitionFollower(
        storage.definitions,
        {
            "placement": decisions.placements.reload,
            "offer": decisions.offers.reload,
            "segment": segments.reload,
        },
        revision,
    )
    if background:
        definition_follower.start()
    learner = None
    if settings.state and background:
        learner = start_policy_learner(settings, storage, decisions, hot)
    return Services(
        settings=settings,
        storage=storage,
        profiles=profiles,
        segments=segments,
        models=models,
        training=TrainingJobs(models, fit_clv),
        decisions=decisions,
        writer=writer,
        definition_follower=definition_follower,
        hot=hot,
        learner=learner,
        followers=followers,
    )
