"""Offers in a running server: the definitions (in the definition store, held parsed in
memory, a change stored by another process taken up by :meth:`OfferBook.reload`),
who is eligible for which offer now, and the ledger that makes budgets, redemption
limits and per-customer frequency caps hold under concurrent requests."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.decision.rules import in_schedule
from retailor.domain.ids import check_definition_id
from retailor.domain.offers import MARKETING_CHANNELS, Offer, parse_offer
from retailor.storage.base import DefinitionStore, StoredDefinition

DAY, WEEK = 86_400.0, 7 * 86_400.0


class OfferBook:
    """Offer definitions by id (see the module docstring)."""

    def __init__(self, store: DefinitionStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._offers: dict[str, Offer] = {}
        self._revisions: dict[str, int] = {}
        for stored in store.all("offer"):
            self._take(stored)

    def _take(self, stored: StoredDefinition) -> None:
        """Use a stored offer; one that no longer validates is dropped."""
        try:
            self._offers[stored.id] = parse_offer(stored.document, stored.id)
        except ValueError as exc:
            logging.getLogger(__name__).warning(
                "dropping stored offer %r, it no longer validates: %s", stored.id, exc
            )
            self._offers.pop(stored.id, None)
        self._revisions[stored.id] = stored.revision

    def put(self, offer_id: str, raw: Any) -> Offer:
        """Validate (``DefinitionError`` says where), store and start using an offer."""
        check_definition_id("offer", offer_id)
        offer = parse_offer(raw, offer_id)
        offer.updated_at = datetime.now(UTC)
        with self._lock:
            stored = self._store.put("offer", offer_id, msgspec.to_builtins(offer))
            self._offers[offer_id] = offer
            self._revisions[offer_id] = stored.revision
        return offer

    def reload(self, offer_id: str) -> None:
        """Take up the stored offer as it is now (another process wrote or deleted it).
        Read under the lock of :meth:`put`, so it never undoes a later write of this
        process."""
        with self._lock:
            stored = self._store.get("offer", offer_id)
            if stored is None:
                self._offers.pop(offer_id, None)
                self._revisions.pop(offer_id, None)
            elif self._revisions.get(offer_id) != stored.revision:
                self._take(stored)

    def get(self, offer_id: str) -> Offer | None:
        return self._offers.get(offer_id)

    def delete(self, offer_id: str) -> bool:
        with self._lock:
            self._offers.pop(offer_id, None)
            self._revisions.pop(offer_id, None)
            return self._store.delete("offer", offer_id)

    def all(self) -> list[Offer]:
        return sorted(self._offers.values(), key=lambda o: o.offer_id)


@dataclass(frozen=True)
class Audience:
    """What eligibility looks at about one request."""

    who: str | None
    channel: str | None
    store_id: str | None
    segments: frozenset[str]
    loyalty_tier: str | None
    returning: bool
    consent: Mapping[str, bool]
    consent_required: bool
    basket: float
    now: datetime


def consented(consent: Mapping[str, bool], purpose: str, *, required: bool) -> bool:
    """A purpose is granted when the customer said yes; without a record, only when the
    installation does not require explicit consent."""
    given = consent.get(purpose)
    return given if given is not None else not required


def ineligible_reason(offer: Offer, audience: Audience) -> str | None:
    """Why ``offer`` may not go to ``audience`` now, or None when it may."""
    if not offer.active:
        return "inactive"
    s = offer.schedule
    if not in_schedule(audience.now, s.days, s.hours, s.starts_at, s.ends_at):
        return "out of schedule"
    t = offer.targeting
    if t.channels and audience.channel not in t.channels:
        return "channel"
    if t.stores and audience.store_id not in t.stores:
        return "store"
    if t.segments and not audience.segments.intersection(t.segments):
        return "segment"
    if t.loyalty_tiers and audience.loyalty_tier not in t.loyalty_tiers:
        return "loyalty tier"
    if t.customers == "new" and audience.returning:
        return "for new customers"
    if t.customers == "returning" and not audience.returning:
        return "for returning customers"
    if offer.min_basket is not None and audience.basket < offer.min_basket:
        return "basket below minimum"
    # marketing to email, SMS and push always needs an explicit yes
    if (
        offer.marketing
        and audience.channel in MARKETING_CHANNELS
        and audience.consent.get(MARKETING_CHANNELS[audience.channel]) is not True
    ):
        return "no marketing consent for the channel"
    if offer.consent_purpose and not consented(
        audience.consent, offer.consent_purpose, required=audience.consent_required
    ):
        return f"no {offer.consent_purpose} consent"
    if (offer.frequency_cap.per_day or offer.frequency_cap.per_week) and audience.who is None:
        return "frequency cap needs a customer or visitor id"
    return None


class OfferLedger:
    """Impressions per customer, redemptions and spend per offer (thread-safe).

    Every check-and-count happens under one lock: :meth:`award` re-checks the caps and the
    budget when it records an impression, :meth:`redeem` when it counts a redemption, so
    concurrent requests never exceed a cap, a budget or a redemption limit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shown: dict[tuple[str, str], deque[float]] = {}
        self._spent: dict[str, float] = {}
        self._redemptions: dict[str, int] = {}
        self._redeemed: set[tuple[str, str]] = set()

    def _within_caps(self, offer: Offer, who: str | None, at: float) -> bool:
        cap = offer.frequency_cap
        if who is None or (cap.per_day is None and cap.per_week is None):
            return True
        shown = self._shown.get((offer.offer_id, who))
        if not shown:
            return True
        while shown and shown[0] <= at - WEEK:
            shown.popleft()
        if cap.per_week is not None and len(shown) >= cap.per_week:
            return False
        if cap.per_day is not None:
            today = sum(1 for t in shown if t > at - DAY)
            if today >= cap.per_day:
                return False
        return True

    def _budget_left(self, offer: Offer) -> bool:
        if offer.max_redemptions is not None and (
            self._redemptions.get(offer.offer_id, 0) >= offer.max_redemptions
        ):
            return False
        if offer.budget is not None:
            cost = offer.redemption_cost()
            if self._spent.get(offer.offer_id, 0.0) + cost > offer.budget + 1e-9:
                return False
        return True

    def available(self, offer: Offer, who: str | None, at: float) -> bool:
        """Whether the offer has budget left and ``who`` is under its caps (no counting)."""
        with self._lock:
            return self._budget_left(offer) and self._within_caps(offer, who, at)

    def award(self, offer: Offer, who: str | None, at: float) -> bool:
        """Count an impression if the caps and the budget still allow it."""
        with self._lock:
            if not (self._budget_left(offer) and self._within_caps(offer, who, at)):
                return False
            if who is not None and (offer.frequency_cap.per_day or offer.frequency_cap.per_week):
                self._shown.setdefault((offer.offer_id, who), deque()).append(at)
            return True

    def redeem(self, offer: Offer, decision_id: str) -> str:
        """Count one redemption: ``"counted"``, ``"duplicate"`` (this decision's offer was
        redeemed before) or ``"exhausted"`` (the budget or limit would be exceeded)."""
        key = (decision_id, offer.offer_id)
        with self._lock:
            if key in self._redeemed:
                return "duplicate"
            if not self._budget_left(offer):
                return "exhausted"
            self._redeemed.add(key)
            self._redemptions[offer.offer_id] = self._redemptions.get(offer.offer_id, 0) + 1
            self._spent[offer.offer_id] = (
                self._spent.get(offer.offer_id, 0.0) + offer.redemption_cost()
            )
            return "counted"

    def replay(
        self,
        impressions: Iterable[tuple[str, str, float]],
        redemptions: Iterable[tuple[str, str, float]],
    ) -> None:
        """Rebuild from the decision log: (offer, who, at) impressions within the last week
        and (offer, decision, cost) redemptions."""
        with self._lock:
            for offer_id, who, at in impressions:
                self._shown.setdefault((offer_id, who), deque()).append(at)
            for shown in self._shown.values():
                ordered = sorted(shown)
                shown.clear()
                shown.extend(ordered)
            for offer_id, decision_id, cost in redemptions:
                if (decision_id, offer_id) in self._redeemed:
                    continue
                self._redeemed.add((decision_id, offer_id))
                self._redemptions[offer_id] = self._redemptions.get(offer_id, 0) + 1
                self._spent[offer_id] = self._spent.get(offer_id, 0.0) + cost

    def usage(self, offer_id: str) -> tuple[int, float]:
        """Redemptions and spend so far."""
        with self._lock:
            return self._redemptions.get(offer_id, 0), self._spent.get(offer_id, 0.0)
