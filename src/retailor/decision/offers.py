"""Offers in a running server: the definitions (in the definition store, held parsed in
memory, a change stored by another process taken up by :meth:`OfferBook.reload`),
and who is eligible for which offer now. The ledger that makes budgets, redemption limits
and per-customer frequency caps hold under concurrent requests is a port
(``storage.base.OfferLedger``): in process memory when embedded, in Redis when scaled
out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.decision.rules import in_schedule
from retailor.domain.ids import check_definition_id
from retailor.domain.offers import MARKETING_CHANNELS, Offer, parse_offer
from retailor.privacy.consent import may_contact
from retailor.storage.base import DefinitionStore, StoredDefinition
from retailor.storage.hot import OfferLedger

__all__ = ["Audience", "OfferBook", "OfferLedger", "consented", "ineligible_reason"]


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
    installation does not require explicit consent (``privacy.consent.may_contact``)."""
    return may_contact(consent, purpose, required=required)


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
