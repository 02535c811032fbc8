"""The decision engine: placement → candidates from its sources → blended scores →
business rules → slot quotas and diversity → pins → fallbacks → offers → logged decision.

Everything it reads is in memory (models, online features, profiles, catalog facts,
placements, offers), so a decision costs well under a millisecond of CPU on the request
thread; the decision log is written behind it. A source that fails, or a decision that
runs past its time budget, falls back to the placement's fallback sources: a decision
request always gets an answer.

:meth:`DecisionEngine.preview` runs the same path without its side effects (no decision
logged, no experiment exposure recorded, no offer drawn): what a decision would answer now.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from retailor.decision.audience import AudienceResolver, Who
from retailor.decision.candidates import CONTEXTUAL, NON_PERSONAL, CandidateSources, SourceRequest
from retailor.decision.catalog import CatalogIndex
from retailor.decision.choosing import OfferChooser, context_features
from retailor.decision.exposure import NO_TREATMENT, ExperimentGate, Treatment
from retailor.decision.offers import Audience, consented
from retailor.decision.placements import PlacementBook
from retailor.decision.pool import Pool
from retailor.decision.recorder import DecisionRecorder
from retailor.decision.rules import (
    Candidate,
    DiversityLimits,
    RuleContext,
    RuleSet,
    diversify,
    place_pins,
)
from retailor.domain.decisions import (
    DecidedItem,
    DecidedOffer,
    Decision,
    DecisionContext,
    DecisionPreview,
    DecisionRecord,
    DecisionRequest,
    LoggedOffer,
    RerankRequest,
)
from retailor.domain.placements import Placement, as_utc
from retailor.features.online import EMPTY, OnlineFeatures, Snapshot

log = logging.getLogger("retailor.decisions")
#: How much a search result's personal affinity (0..~2) multiplies its search-rank prior.
AFFINITY_WEIGHT = 3.0
MAX_REASONS = 2


def next_decision_id() -> str:
    """A decision id: 104 random bits as 26 hex digits. Events sent with the public ingest
    key can carry a decision id (a redemption counts against the offer's budget), so one
    id must tell nothing about another."""
    return os.urandom(13).hex()


class UnknownPlacementError(LookupError):
    """The request names a placement that is neither a default nor defined."""


@dataclass
class EngineSettings:
    consent_required: bool = False
    timeout_seconds: float = 0.05
    candidates_per_source: int = 20


@dataclass(frozen=True)
class _Situation:
    placement: Placement  # as the request's experiment variant changes it
    treatment: Treatment
    who: Who
    personalized: bool
    snapshot: Snapshot
    channel: str | None
    store_id: str | None
    now: datetime
    segments: frozenset[str]
    rules: RuleSet


def _decided(candidates: Sequence[Candidate]) -> list[DecidedItem]:
    return [
        DecidedItem(
            item_id=c.item_id,
            score=round(c.score, 6),
            reasons=c.reasons[:MAX_REASONS],
            source=c.source,
        )
        for c in candidates
    ]


class DecisionEngine:
    """Answers decision and re-rank requests (see the module docstring)."""

    def __init__(
        self,
        placements: PlacementBook,
        sources: CandidateSources,
        features: OnlineFeatures,
        catalog: CatalogIndex,
        audience: AudienceResolver,
        chooser: OfferChooser,
        recorder: DecisionRecorder,
        settings: EngineSettings | None = None,
        experiments: ExperimentGate | None = None,
    ) -> None:
        self.placements, self.sources, self.features = placements, sources, features
        self.catalog, self.audience, self.chooser, self.recorder = (
            catalog,
            audience,
            chooser,
            recorder,
        )
        self.settings = settings or EngineSettings()
        self.experiments = experiments

    # --- what every request shares --------------------------------------------------

    def _placement(self, placement_id: str) -> Placement:
        placement = self.placements.get(placement_id)
        if placement is None:
            raise UnknownPlacementError(placement_id)
        return placement

    def _situation(
        self,
        placement: Placement,
        customer_id: str | None,
        anonymous_id: str | None,
        ctx: DecisionContext,
        need_segments: Callable[[Placement], bool],
        when: datetime | None = None,
        expose: bool = True,
    ) -> _Situation:
        """Who asks, their holdout group and experiment variant (which may change the
        placement), whether they may be personalized, their live features, and the
        placement's rules bound to this request. Segments cost a profile read: only when
        ``need_segments(placement)`` (offer targeting or the policy) or the placement's rules
        need them. ``when``: the time the decision is made as of (default: now);
        ``expose=False`` (a preview) records no experiment exposure."""
        now = as_utc(when) or datetime.now(UTC)
        who = self.audience.who(customer_id, anonymous_id)
        treatment = (
            self.experiments.treat(placement.placement_id, who, now, expose=expose)
            if self.experiments is not None
            else NO_TREATMENT
        )
        if treatment is not NO_TREATMENT:
            placement = treatment.placement(placement)
        need = need_segments(placement) or self._rules_need_segments(placement)
        personalized = treatment.personalized and consented(
            who.consent, "personalization", required=self.settings.consent_required
        )
        snapshot = self.features.snapshot(who.subjects) if personalized else EMPTY
        channel = (
            (ctx.channel.value if ctx.channel else None) or placement.channel or snapshot.channel
        )
        store_id = ctx.store_id or snapshot.store_id
        segments = self.audience.segments_of(who.key) if personalized and need else frozenset()
        rules = RuleSet(
            placement.rules,
            RuleContext(
                channel=channel,
                store_id=store_id,
                segments=segments,
                now=now,
                cart=frozenset(ctx.cart) | frozenset(snapshot.cart),
                purchased=snapshot.purchased,
            ),
            self.catalog,
        )
        return _Situation(
            placement, treatment, who, personalized, snapshot, channel, store_id, now, segments,
            rules,
        )  # fmt: skip

    # --- decisions -----------------------------------------------------------------

    def decide(self, request: DecisionRequest) -> Decision:
        """Items and offers for one request; raises :class:`UnknownPlacementError`. Every
        model it asks is of one set of versions (those logged with the decision)."""
        with self.sources.models.pinned():
            return self._decide(request)

    def _decide(self, request: DecisionRequest) -> Decision:
        started = time.perf_counter()
        at = self._situation(
            self._placement(request.placement),
            request.customer_id,
            request.anonymous_id,
            request.context,
            lambda p: (
                bool(p.offers if request.offers is None else request.offers)
                and self.audience.any_segments()
            ),
            request.timestamp,
        )
        placement, treatment = at.placement, at.treatment
        wanted = placement.offers if request.offers is None else request.offers
        who, personalized, snapshot, rules = at.who, at.personalized, at.snapshot, at.rules
        ctx, channel, store_id, now = request.context, at.channel, at.store_id, at.now
        k = request.k or placement.k
        exclude = frozenset(request.exclude) | ({ctx.item_id} if ctx.item_id else frozenset())
        items, fallback = self._items(
            placement, who, personalized, snapshot, ctx, rules, k, exclude, started
        )
        decision_id = next_decision_id()
        offers: list[tuple[DecidedOffer, LoggedOffer]] = []
        if wanted:
            audience = self._audience(at, request)
            favourite = (
                max(snapshot.categories.items(), key=lambda kv: kv[1])[0]
                if snapshot.categories
                else None
            )
            try:
                chosen = self.chooser.choose(
                    decision_id,
                    audience,
                    context_features(audience, placement.placement_id, favourite),
                    wanted,
                    treatment.offer_policy,
                )
            except Exception:  # a shared ledger out of reach: the items still answer
                log.exception("no offers for decision %s: the offer ledger failed", decision_id)
                chosen = []
            for offer, logged in chosen:
                decided = DecidedOffer(
                    offer_id=offer.offer_id,
                    name=offer.name or offer.offer_id,
                    kind=offer.kind,
                    value=offer.value,
                    probability=round(logged.probability, 6),
                )
                offers.append((decided, logged))
        versions = self.sources.versions()
        decision = Decision(
            decision_id=decision_id,
            placement=placement.placement_id,
            customer=who.named,
            items=_decided(items),
            offers=[d for d, _ in offers],
            model_versions=versions,
            personalized=personalized,
            fallback=fallback,
            experiment=treatment.answered(),
        )
        context = {
            "item_id": ctx.item_id,
            "cart": ctx.cart,
            "query": ctx.query,
            "store_id": store_id,
            "channel": channel,
            "category": ctx.category,
        }
        return self._logged(
            decision,
            now,
            request.anonymous_id,
            context,
            [logged for _, logged in offers],
            started,
            treatment,
        )

    def _logged(
        self,
        decision: Decision,
        at: datetime,
        anonymous_id: str | None,
        context: dict[str, Any],
        offers: list[LoggedOffer],
        started: float,
        treatment: Treatment = NO_TREATMENT,
    ) -> Decision:
        """Queue the decision's record for the decision log; returns the decision."""
        self.recorder.add(
            DecisionRecord(
                decision_id=decision.decision_id,
                at=at,
                placement=decision.placement,
                customer=decision.customer,
                anonymous_id=anonymous_id,
                context=context,
                items=[i.item_id for i in decision.items],
                sources=[i.source for i in decision.items],
                offers=offers,
                model_versions=decision.model_versions,
                personalized=decision.personalized,
                fallback=decision.fallback,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                experiment=treatment.recorded(),
                holdout=treatment.holdout,
            )
        )
        return decision

    def _audience(self, at: _Situation, request: DecisionRequest) -> Audience:
        """Who the offers of a decision are for, as offer eligibility and the policy see it."""
        who, personalized = at.who, at.personalized
        return Audience(
            who=who.named or (f"a:{request.anonymous_id}" if request.anonymous_id else None),
            channel=at.channel,
            store_id=at.store_id,
            segments=at.segments,
            loyalty_tier=who.loyalty_tier if personalized else None,
            returning=who.returning and personalized,
            consent=who.consent,
            consent_required=self.settings.consent_required,
            basket=self._basket(request.context),
            now=at.now,
        )

    # --- previews ------------------------------------------------------------------

    def preview(self, request: DecisionRequest) -> DecisionPreview:
        """What :meth:`decide` would answer for ``request`` now, without deciding: the
        same situation, sources, rules, quotas, pins and fallbacks, but no decision id, no
        record in the decision log, no experiment exposure recorded, and no offer drawn
        (a draw counts an impression against caps and budgets and waits for a reward):
        the offers eligible now are listed instead. Raises :class:`UnknownPlacementError`."""
        with self.sources.models.pinned():
            started = time.perf_counter()
            wanted_offers = request.offers
            at = self._situation(
                self._placement(request.placement),
                request.customer_id,
                request.anonymous_id,
                request.context,
                lambda p: (
                    bool(p.offers if wanted_offers is None else wanted_offers)
                    and self.audience.any_segments()
                ),
                request.timestamp,
                expose=False,
            )
            placement, ctx = at.placement, request.context
            wanted = placement.offers if request.offers is None else request.offers
            exclude = frozenset(request.exclude) | ({ctx.item_id} if ctx.item_id else frozenset())
            items, fallback = self._items(
                placement, at.who, at.personalized, at.snapshot, ctx, at.rules,
                request.k or placement.k, exclude, started,
            )  # fmt: skip
            eligible: list[str] = []
            if wanted:
                try:
                    audience = self._audience(at, request)
                    eligible = [o.offer_id for o in self.chooser.eligible(audience)]
                except Exception:  # a shared ledger out of reach: the items still answer
                    log.exception("a preview without offers: the offer ledger failed")
            return DecisionPreview(
                placement=placement.placement_id,
                customer=at.who.named,
                items=_decided(items),
                offers=wanted,
                eligible_offers=eligible,
                model_versions=self.sources.versions(),
                personalized=at.personalized,
                fallback=fallback,
                holdout=at.treatment.holdout,
                experiment=at.treatment.answered(),
            )

    @staticmethod
    def _rules_need_segments(placement: Placement) -> bool:
        return any(
            r.when is not None and (r.when.segments or r.when.not_segments) for r in placement.rules
        )

    def _basket(self, ctx: DecisionContext) -> float:
        if ctx.cart_value is not None:
            return ctx.cart_value
        total = 0.0
        for item in ctx.cart:
            facts = self.catalog.get(item)
            if facts is not None and facts.price is not None:
                total += facts.price
        return total

    def _items(
        self,
        placement: Placement,
        who: Who,
        personalized: bool,
        snapshot: Snapshot,
        ctx: DecisionContext,
        rules: RuleSet,
        k: int,
        exclude: frozenset[str],
        started: float,
    ) -> tuple[list[Candidate], str | None]:
        n = max(self.settings.candidates_per_source, 2 * k)
        request = SourceRequest(
            who=(who.key or None) if personalized else None,
            features=snapshot,
            context=ctx,
            n=n,
        )
        pool = Pool()
        fallback: str | None = None
        for spec in placement.sources:
            if not personalized and spec.source not in NON_PERSONAL | CONTEXTUAL:
                continue
            if time.perf_counter() - started > self.settings.timeout_seconds:
                fallback = "timeout"
                break
            try:
                answer = self.sources.run(spec.source, request)
            except Exception:
                log.exception("candidate source %r failed; using the others", spec.source)
                fallback = f"error in {spec.source}"
                continue
            pool.add(spec.source, spec.weight, [a for a in answer if a[0] not in exclude])
        ranked = map(pool.candidate, rules.ranking(pool.score))  # checked as far as read
        chosen = self._with_quotas(placement, pool, ranked, rules, k)
        if len(chosen) < k:
            taken = {c.item_id for c in chosen}
            for name in placement.fallback:
                if len(chosen) >= k:
                    break
                try:
                    answer = self.sources.run(name, request)
                except Exception:
                    log.exception("fallback source %r failed", name)
                    continue
                floor = min((c.score for c in chosen), default=1.0)
                added = 0
                for rank, (item, _, reason) in enumerate(answer):
                    if len(chosen) >= k:
                        break
                    if item in taken or item in exclude or not rules.allows(item):
                        continue
                    score = floor * 0.5 / (rank + 1)
                    chosen.append(Candidate(item, score, name, [reason]))
                    taken.add(item)
                    added += 1
                if added and fallback is None:
                    fallback = name
        chosen = place_pins(chosen, rules, k, exclude)
        return chosen, fallback

    def _with_quotas(
        self,
        placement: Placement,
        pool: Pool,
        ranked: Iterator[Candidate],
        rules: RuleSet,
        k: int,
    ) -> list[Candidate]:
        """The answer's items: each slot quota's source reserves its best allowed items,
        the rest come from the blended ranking, all within the diversity limits (a quota
        item that would break them gives way)."""
        quotas = [s for s in placement.sources if s.slots]
        limits = DiversityLimits(placement.diversity, self.catalog)
        if not quotas:
            return diversify(ranked, limits, k)
        reserved: list[Candidate] = []
        taken: set[str] = set()
        for spec in quotas:
            count = 0
            for item in pool.sources.get(spec.source, []):
                if count >= (spec.slots or 0) or len(reserved) >= k:
                    break
                if item in taken or item not in pool.score or not rules.allows(item):
                    continue
                if not limits.admit(item):
                    continue
                reserved.append(pool.candidate(item))  # scores already rescored by ranking()
                taken.add(item)
                count += 1
        rest = diversify((c for c in ranked if c.item_id not in taken), limits, k - len(reserved))
        merged = reserved + rest
        merged.sort(key=lambda c: (-c.score, c.item_id))
        return merged

    # --- search re-ranking ---------------------------------------------------------

    def rerank(self, request: RerankRequest) -> Decision:
        """The search engine's items re-ordered for this customer: the engine's own rank is
        the prior, lifted by the customer's affinity (similar to what they viewed, in the
        categories they favour, popular with everyone). Rule-excluded items are dropped."""
        with self.sources.models.pinned():
            return self._rerank(request)

    def _rerank(self, request: RerankRequest) -> Decision:
        started = time.perf_counter()
        at = self._situation(
            self._placement(request.placement),
            request.customer_id,
            request.anonymous_id,
            request.context,
            lambda _: False,
            request.timestamp,
        )
        placement, treatment = at.placement, at.treatment
        who, personalized, snapshot, rules = at.who, at.personalized, at.snapshot, at.rules
        ctx, now = request.context, at.now
        candidates = list(dict.fromkeys(request.items))
        near: dict[str, tuple[float, str]] = {}
        if personalized and snapshot.recent_items:
            try:
                similar = self.sources.run(
                    "viewed_similar", SourceRequest(None, snapshot, ctx, 200)
                )
            except Exception:  # the prior alone still answers
                log.exception("re-ranking without similar items")
                similar = []
            for item, score, reason in similar:
                near[item] = (score, reason)
        top_near = max((s for s, _ in near.values()), default=1.0) or 1.0
        total_interest = sum(snapshot.categories.values()) or 1.0
        out: list[Candidate] = []
        for rank, item in enumerate(candidates):
            if not rules.allows(item):
                continue
            prior = 1.0 / math.log2(rank + 2)
            lift, reasons = 0.0, []
            if item in near:
                lift += near[item][0] / top_near
                reasons.append(near[item][1])
            facts = self.catalog.get(item)
            if facts is not None and facts.category:
                interest = snapshot.categories.get(facts.category[-1], 0.0) / total_interest
                if interest > 0:
                    lift += interest
                    reasons.append(f"you like {facts.category[-1]}")
            candidate = Candidate(
                item,
                prior * (1.0 + AFFINITY_WEIGHT * lift),
                "rerank",
                reasons or ["search relevance"],
            )
            rules.rescore(candidate)
            out.append(candidate)
        position = {item: i for i, item in enumerate(candidates)}
        out.sort(key=lambda c: (-c.score, position[c.item_id]))
        decision = Decision(
            decision_id=next_decision_id(),
            placement=placement.placement_id,
            customer=who.named,
            items=_decided(out),
            offers=[],
            model_versions=self.sources.versions(),
            personalized=personalized,
            experiment=treatment.answered(),
        )
        return self._logged(
            decision,
            now,
            request.anonymous_id,
            {"query": ctx.query, "items": len(candidates)},
            [],
            started,
            treatment,
        )
