"""The decision side of a running server, built in one place: catalog facts, online
features, placements, offers and their ledger, the policy and its pending rewards, the
decision log writer, feedback and the engine. At start the ledger and the policy are
rebuilt from the decision log, so caps, budgets and what the bandit learned survive a
restart.

The offer ledger is given (a port: in memory embedded, shared in Redis scaled out). With a
``policy_states`` store the process decides without learning: a ``PolicyFollower`` takes
up the state a ``learning.PolicyLearner`` publishes (checked on the decision log's thread
every half second), and the start relearns nothing; a persistent ledger that was seeded
before is not seeded again."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from retailor.decision.audience import AudienceResolver
from retailor.decision.candidates import CandidateSources
from retailor.decision.catalog import CatalogIndex
from retailor.decision.choosing import OfferChooser, RewardTracker
from retailor.decision.engine import DecisionEngine, EngineSettings
from retailor.decision.experiments import ExperimentBook
from retailor.decision.exposure import ExperimentGate, ExposureTracker
from retailor.decision.feedback import FeedbackService
from retailor.decision.learning import PolicyFollower
from retailor.decision.logged import rewarded_offers
from retailor.decision.offers import OfferBook
from retailor.decision.placements import PlacementBook
from retailor.decision.policies import Policy, create_policy
from retailor.decision.recorder import DecisionRecorder
from retailor.domain.catalog import CatalogItem
from retailor.domain.decisions import DecisionRecord, LoggedOffer
from retailor.domain.events import Event
from retailor.features.online import OnlineFeatures
from retailor.models.serving import ModelService
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.storage.base import DecisionLog, DefinitionStore
from retailor.storage.experiments import ExposureStore
from retailor.storage.hot import HotCache, OfferLedger, PolicyStateStore

log = logging.getLogger("retailor.decisions")


class DecisionService:
    """Everything decisions need, wired together (see the module docstring)."""

    def __init__(
        self,
        definitions: DefinitionStore,
        decisions: DecisionLog,
        items: Iterable[CatalogItem],
        models: ModelService,
        profiles: ProfileService,
        segments: SegmentService,
        *,
        ledger: OfferLedger,
        policy_states: PolicyStateStore | None = None,
        consent_required: bool = False,
        timeout_seconds: float = 0.05,
        policy: str = "vowpal",
        reward_mode: str = "redemption",
        reward_window: float = 3600.0,
        reward_scale: float = 100.0,
        seed: int = 0,
        background: bool = True,
        shared: HotCache | None = None,
        exposures: ExposureStore,
        exposures_shared: bool = False,
    ) -> None:
        """``exposures`` keeps first exposures to experiments (the runtime picks its
        adapter); ``exposures_shared``: other workers use the same store."""
        self.catalog = CatalogIndex(items)
        self.features = OnlineFeatures(self._item_info)
        self.sources = CandidateSources(
            models, self.features, self.catalog, background=background, shared=shared
        )
        self.placements = PlacementBook(definitions, self.sources.known)
        self.offers = OfferBook(definitions)
        self.experiments = ExperimentBook(
            definitions, self.placements, self.sources.known, exposures
        )
        self.exposures = ExposureTracker(
            exposures, background=background, visitors_at_once=exposures_shared
        )
        self.ledger = ledger
        self.policy_name, self.seed = policy, seed
        self.tracker = RewardTracker(
            create_policy(policy, seed), reward_window, learns=policy_states is None
        )
        self.follower = (
            PolicyFollower(self.tracker.policy, policy_states) if policy_states else None
        )
        self.chooser = OfferChooser(self.offers, self.ledger, self.tracker)
        self.recorder = DecisionRecorder(decisions, on_flush=self._pump, shared=shared)
        self.feedback = FeedbackService(
            self.recorder,
            self.offers,
            self.ledger,
            self.tracker,
            reward_mode=reward_mode,
            reward_scale=reward_scale,
            belongs=self._belongs,
        )
        self._profiles = profiles
        self.engine = DecisionEngine(
            self.placements,
            self.sources,
            self.features,
            self.catalog,
            AudienceResolver(profiles, segments),
            self.chooser,
            self.recorder,
            EngineSettings(consent_required=consent_required, timeout_seconds=timeout_seconds),
            ExperimentGate(self.experiments, self.exposures),
        )

    def _belongs(self, event: Event, decision: DecisionRecord) -> bool:
        """Whether ``event`` comes from the person ``decision`` was made for: the same
        visitor id, or identifiers that resolve to the same customer now (a visitor who
        logged in after the decision included)."""
        if decision.anonymous_id and event.anonymous_id == decision.anonymous_id:
            return True
        profiles = self._profiles
        theirs = {
            profiles.resolve(event.customer_id) if event.customer_id else None,
            profiles.resolve_anonymous(event.anonymous_id) if event.anonymous_id else None,
            event.customer_id,
        } - {None}
        if decision.customer is not None and decision.customer in theirs:
            return True
        return bool(
            decision.anonymous_id and profiles.resolve_anonymous(decision.anonymous_id) in theirs
        )

    def _item_info(self, item_id: str) -> tuple[list[str], str | None]:
        facts = self.catalog.get(item_id)
        return (list(facts.category), facts.brand) if facts is not None else ([], None)

    def _pump(self) -> None:
        try:
            self.feedback.pump()
        except Exception:
            log.exception("could not process decision feedback")
        if self.follower is not None:
            try:
                self.follower.refresh()
            except Exception:
                log.exception("could not load the published offer policy")

    def observe(self, events: Sequence[Event]) -> None:
        """Stored events, in the ingest path before they are acknowledged."""
        self.features.apply(events)
        self.feedback.observe(events)

    def catalog_changed(self, items: Iterable[CatalogItem]) -> None:
        self.catalog.update(items)

    def forget(self) -> None:
        """Drop what this process holds of people beside the projections: personal
        lists, model answers, cached assignments (an erasure; all are computed again)."""
        self.sources.personal.forget()
        self.sources.cache.forget()
        self.exposures.forget()

    def replay_log(self) -> int:
        """Rebuild offer caps, budgets and the policy from the decision log (one pass):
        the ledger unless it was seeded before (a shared, persistent ledger), the policy
        unless another process learns it (then the published state is loaded instead).
        Returns how many choices the policy relearned."""
        store = self.recorder.store
        started = time.perf_counter()
        seed, relearn = not self.ledger.seeded(), self.follower is None
        if self.follower is not None:
            self.follower.refresh(force=True)
        if not (seed or relearn):
            return 0
        week_ago = datetime.now(UTC) - timedelta(days=7)
        costs = {o.offer_id: o.redemption_cost() for o in self.offers.all()}
        # redemptions come from the feedback itself: budgets hold even if a decision's own
        # record was lost (each pair counted once)
        redeemed = sorted(
            {
                (f.decision_id, f.offer_id)
                for f in (store.feedback() if seed else ())
                if f.type == "redeemed" and f.offer_id
            }
        )
        redemptions = [
            (offer_id, decision_id, costs.get(offer_id, 0.0)) for decision_id, offer_id in redeemed
        ]
        impressions: list[tuple[str, str, float, str]] = []
        learned = 0
        for record, offer, reward in rewarded_offers(
            store,
            reward_mode=self.feedback.reward_mode,
            reward_scale=self.feedback.reward_scale,
            costs=costs,
            start=None if relearn else week_ago,
        ):
            who = record.customer or (f"a:{record.anonymous_id}" if record.anonymous_id else None)
            if seed and who is not None and record.at >= week_ago:
                impressions.append((offer.offer_id, who, record.at.timestamp(), record.decision_id))
            if not relearn:
                continue
            self._teach(self.tracker.policy, offer, reward)
            learned += 1
        if seed:
            self.ledger.seed(impressions, redemptions)
        if learned:
            log.info(
                "offer policy relearned %d choices from the decision log in %.1f s",
                learned,
                time.perf_counter() - started,
            )
        return learned

    def relearn_policy(self) -> int:
        """Learn the offer policy again from scratch from the decision log as it is now
        (an erasure: the policy then holds nothing of the decisions removed) and put it in
        place of the current one; how many choices it learned. A process that follows a
        published policy learns nothing itself (0): the learner relearns there."""
        if self.follower is not None:
            return 0
        fresh = create_policy(self.policy_name, self.seed)
        costs = {o.offer_id: o.redemption_cost() for o in self.offers.all()}
        learned = 0
        for _, offer, reward in rewarded_offers(
            self.recorder.store,
            reward_mode=self.feedback.reward_mode,
            reward_scale=self.feedback.reward_scale,
            costs=costs,
            start=None,
        ):
            self._teach(fresh, offer, reward)
            learned += 1
        self.tracker.policy = fresh
        return learned

    def _teach(self, policy: Policy, offer: LoggedOffer, reward: float) -> None:
        """One logged choice and its reward, taught to ``policy``."""
        policy.update(
            offer.features,
            self.chooser.arms_of(offer.eligible),
            offer.offer_id,
            offer.probability,
            reward,
        )

    def warm(self, profiles: ProfileService, limit: int = 50_000) -> None:
        """Queue the personal lists of the most recently active customers for computing."""
        refused = "personalization"
        recent = sorted(
            (
                (state.last_seen, key)
                for key, state in list(profiles.states.items())
                if state.last_seen
                and not (refused in state.consent and state.consent[refused].value is False)
            ),
            reverse=True,
        )[:limit]
        self.sources.personal.refresh([key for _, key in recent])

    def close(self) -> None:
        self.exposures.close()
        self.sources.personal.close()
        self.recorder.close()
        self._pump()
