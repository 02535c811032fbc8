"""Choosing offers for a decision and learning from what happened to them.

:class:`OfferChooser` finds the eligible offers (definition, budget, caps), lets the
policy draw among them, and counts the impression in the ledger (re-drawing when a
concurrent request took the last of a cap or budget). :class:`RewardTracker` keeps each
choice for ``reward_window`` seconds: a redemption (or, in margin mode, the margin-weighted
revenue sent as feedback value) is noted on it, and when the window closes the policy
learns the choice with its reward, or a zero without one. Every choice is learned after
the same delay, in the order it was made: teaching redemptions at once and zeros only a
window later would show the policy the successes of its recent choices without their
failures, and it would chase whichever offer it favoured last.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from retailor.decision.offers import Audience, OfferBook, OfferLedger, ineligible_reason
from retailor.decision.policies import Arm, Policy, create_policy
from retailor.domain.decisions import LoggedOffer
from retailor.domain.offers import Offer

PENDING_LIMIT = 500_000


def _bucket(value: float, edges: Sequence[float], names: Sequence[str]) -> str:
    for edge, name in zip(edges, names, strict=False):
        if value < edge:
            return name
    return names[-1]


def context_features(audience: Audience, placement: str, favourite: str | None) -> dict[str, str]:
    """The shared features a policy sees: who, where, when."""
    hour = audience.now.hour
    return {
        "placement": placement,
        "channel": audience.channel or "unknown",
        "segments": ",".join(sorted(audience.segments)),
        "tier": audience.loyalty_tier or "none",
        "customer": "returning" if audience.returning else "new",
        "daypart": _bucket(hour, (6, 12, 18, 24), ("night", "morning", "afternoon", "evening")),
        "week": "weekend" if audience.now.weekday() >= 5 else "weekday",
        "basket": _bucket(
            audience.basket, (0.01, 20, 50, 100), ("empty", "small", "medium", "large", "xl")
        ),
        "favourite": favourite or "",
    }


def offer_features(offer: Offer | None) -> dict[str, str]:
    """What a policy knows of an offer besides its id."""
    if offer is None:
        return {}
    return {
        "kind": offer.kind,
        "value": f"{offer.kind}_{_bucket(offer.value, (5, 10, 20, 50), ('xs', 's', 'm', 'l', 'xl'))}",
        "scope": ",".join(offer.scope.categories),
    }


Pairs = tuple[tuple[str, str], ...]


class Pending(NamedTuple):
    """A choice waiting for its reward, in plain tuples (hundreds of thousands can wait an
    hour; tuples of strings are not tracked by the garbage collector)."""

    features: Pairs
    arms: tuple[tuple[str, Pairs], ...]
    offer_id: str
    probability: float
    at: float
    reward: float | None = None  # noted when feedback comes, learned when the window closes

    @classmethod
    def of(
        cls, features: Mapping[str, str], arms: Sequence[Arm], offer_id: str, probability: float
    ) -> Pending:
        return cls(
            tuple(features.items()),
            tuple((a.offer_id, tuple(a.features.items())) for a in arms),
            offer_id,
            probability,
            time.monotonic(),
        )


class RewardTracker:
    """Choices waiting for their reward (see the module docstring); thread-safe."""

    def __init__(self, policy: Policy, reward_window: float, *, learns: bool = True) -> None:
        self.policy = policy
        self.reward_window = reward_window
        #: False where another process learns (scale-out): nothing waits here, and
        #: ``wait``, ``reward`` and ``sweep`` do nothing
        self.learns = learns
        self._pending: OrderedDict[tuple[str, str], Pending] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, decision_id: str, pending: Pending) -> None:
        if not self.learns:
            return
        expired: list[Pending] = []
        with self._lock:
            self._pending[(decision_id, pending.offer_id)] = pending
            while len(self._pending) > PENDING_LIMIT:
                expired.append(self._pending.popitem(last=False)[1])
        for p in expired:
            self._learn(p)

    def reward(self, decision_id: str, offer_id: str, reward: float) -> bool:
        """Note this choice's reward (the policy learns it when the window closes); False
        when the choice is not waiting any more or already has its reward."""
        if not self.learns:
            return False
        key = (decision_id, offer_id)
        with self._lock:
            pending = self._pending.get(key)
            if pending is None or pending.reward is not None:
                return False
            self._pending[key] = pending._replace(reward=reward)
        return True

    def sweep(self, now: float | None = None) -> int:
        """Teach the policy the choices older than the reward window, each with its reward
        (zero without one), oldest first; returns how many."""
        cutoff = (time.monotonic() if now is None else now) - self.reward_window
        expired: list[Pending] = []
        with self._lock:
            while self._pending:
                key, oldest = next(iter(self._pending.items()))
                if oldest.at > cutoff:
                    break
                del self._pending[key]
                expired.append(oldest)
        for p in expired:
            self._learn(p)
        return len(expired)

    def _learn(self, pending: Pending) -> None:
        arms = [Arm(offer_id, dict(features)) for offer_id, features in pending.arms]
        self.policy.update(
            dict(pending.features), arms, pending.offer_id, pending.probability,
            pending.reward or 0.0,
        )  # fmt: skip

    def waiting(self) -> int:
        return len(self._pending)


class OfferChooser:
    """Eligibility, the policy's draw and the ledger, for one decision's offers."""

    def __init__(self, book: OfferBook, ledger: OfferLedger, tracker: RewardTracker) -> None:
        self.book, self.ledger, self.tracker = book, ledger, tracker
        self._others: dict[str, Policy] = {}
        self._lock = threading.Lock()

    @property
    def policy(self) -> Policy:
        return self.tracker.policy

    def policy_named(self, name: str | None) -> Policy:
        """The policy of that name: the server's own (which learns), or another one made
        on first use for an experiment's variant (``uniform``, say), which draws with the
        same seed and learns nothing itself. Every choice, whichever policy drew it, is
        logged with its probability and teaches the server's policy."""
        if name is None or name == self.policy.name:
            return self.policy
        with self._lock:
            other = self._others.get(name)
            if other is None:
                other = self._others[name] = create_policy(name, self.policy.seed)
        return other

    def eligible(self, audience: Audience) -> list[Offer]:
        at = audience.now.timestamp()
        offers = [o for o in self.book.all() if ineligible_reason(o, audience) is None]
        if not offers:
            return offers
        allowed = self.ledger.allowed(offers, audience.who, at)
        return [offer for offer, ok in zip(offers, allowed, strict=True) if ok]

    def choose(
        self,
        decision_id: str,
        audience: Audience,
        features: Mapping[str, str],
        n: int,
        policy: str | None = None,
    ) -> list[tuple[Offer, LoggedOffer]]:
        """Up to ``n`` offers, each drawn by the policy (the server's, or the one named)
        among the still-eligible ones."""
        drawing = self.policy_named(policy)
        offers = self.eligible(audience)
        at = audience.now.timestamp()
        chosen: list[tuple[Offer, LoggedOffer]] = []
        context = dict(features)
        while offers and len(chosen) < n:
            arms = tuple(Arm(o.offer_id, offer_features(o)) for o in offers)
            choice = drawing.select(context, arms)
            offer = next(o for o in offers if o.offer_id == choice.offer_id)
            offers.remove(offer)
            if not self.ledger.award(offer, audience.who, at, decision_id):
                continue  # a concurrent request used the last of a cap or budget
            logged = LoggedOffer(
                offer_id=offer.offer_id,
                probability=choice.probability,
                eligible=[a.offer_id for a in arms],
                features=context,
            )
            self.tracker.wait(
                decision_id,
                Pending.of(context, arms, offer.offer_id, choice.probability),
            )
            chosen.append((offer, logged))
        return chosen

    def arms_of(self, eligible: Sequence[str]) -> tuple[Arm, ...]:
        """Arms for logged offer ids, described by today's definitions."""
        return tuple(Arm(oid, offer_features(self.book.get(oid))) for oid in eligible)
