"""The decision log read back for learning and offline evaluation: one row per offer
choice with the features the policy saw, the eligible offers, the chosen one, its
probability (propensity) and the reward that followed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

import msgspec

from retailor.domain.decisions import DecisionRecord, FeedbackRecord, LoggedOffer
from retailor.storage.base import DecisionLog


class ChoiceRow(msgspec.Struct, kw_only=True):
    """One logged offer choice and its reward."""

    decision_id: str
    at: datetime
    placement: str
    features: dict[str, str]
    eligible: list[str]
    chosen: str
    propensity: float
    reward: float


def rewards_of(
    feedback: Iterable[FeedbackRecord],
    *,
    reward_mode: str = "redemption",
    reward_scale: float = 100.0,
    costs: Mapping[str, float] | None = None,
) -> dict[tuple[str, str], float]:
    """The reward of each (decision, offer) that feedback names: 1 when redeemed
    (``redemption``), else the best ``(value - cost) / reward_scale`` of its redemptions
    and purchases reported with a value (``margin``). Choices without one earned 0."""
    costs = costs or {}
    rewards: dict[tuple[str, str], float] = {}
    for f in feedback:
        if f.offer_id is None:
            continue
        key = (f.decision_id, f.offer_id)
        if reward_mode == "margin":
            if f.type in ("redeemed", "purchased") and f.value is not None:
                value = (f.value - costs.get(f.offer_id, 0.0)) / reward_scale
                rewards[key] = max(rewards.get(key, value), value)
        elif f.type == "redeemed":
            rewards[key] = 1.0
    return rewards


def rewarded_offers(
    store: DecisionLog,
    *,
    reward_mode: str = "redemption",
    reward_scale: float = 100.0,
    costs: Mapping[str, float] | None = None,
    start: datetime | None = None,
) -> Iterator[tuple[DecisionRecord, LoggedOffer, float]]:
    """Every offer choice in the log, oldest first, with its decision and its reward: 1
    when redeemed (``redemption``), else ``(value - cost) / reward_scale`` of redemptions
    and purchases reported as feedback (``margin``); 0 without any."""
    rewards = rewards_of(
        store.feedback(), reward_mode=reward_mode, reward_scale=reward_scale, costs=costs
    )
    for record in store.scan(start=start):
        for offer in record.offers:
            yield record, offer, rewards.get((record.decision_id, offer.offer_id), 0.0)


def logged_choices(
    store: DecisionLog,
    *,
    reward_mode: str = "redemption",
    reward_scale: float = 100.0,
    costs: Mapping[str, float] | None = None,
    start: datetime | None = None,
) -> Iterator[ChoiceRow]:
    """:func:`rewarded_offers` as rows for export and offline evaluation."""
    for record, offer, reward in rewarded_offers(
        store, reward_mode=reward_mode, reward_scale=reward_scale, costs=costs, start=start
    ):
        yield ChoiceRow(
            decision_id=record.decision_id,
            at=record.at,
            placement=record.placement,
            features=offer.features,
            eligible=offer.eligible,
            chosen=offer.offer_id,
            propensity=offer.probability,
            reward=reward,
        )
