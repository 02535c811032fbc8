"""Offer eligibility, caps held by the chooser under concurrency, and the bandit learning
which offer works for which segment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retailor.decision.choosing import OfferChooser, RewardTracker, context_features
from retailor.decision.offers import Audience, OfferBook, ineligible_reason
from retailor.decision.policies import Arm, UniformPolicy, VowpalPolicy
from retailor.domain.offers import parse_offer
from retailor.domain.placements import DefinitionError
from retailor.storage.files.definitions import FileDefinitionStore
from retailor.storage.memory.ledger import MemoryOfferLedger

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def audience(**fields: Any) -> Audience:
    base: dict[str, Any] = {
        "who": "c1",
        "channel": "web",
        "store_id": None,
        "segments": frozenset(),
        "loyalty_tier": None,
        "returning": True,
        "consent": {},
        "consent_required": False,
        "basket": 0.0,
        "now": NOW,
    }
    base.update(fields)
    return Audience(**base)


def test_eligibility_follows_targeting_schedule_basket_and_consent() -> None:
    def why(definition: dict[str, Any], **who: Any) -> str | None:
        return ineligible_reason(parse_offer(definition, "o"), audience(**who))

    pct = {"kind": "percent_off", "value": 10}
    assert why(pct) is None
    assert why({**pct, "active": False}) == "inactive"
    assert why({**pct, "targeting": {"segments": ["vip"]}}) == "segment"
    assert why({**pct, "targeting": {"segments": ["vip"]}}, segments=frozenset({"vip"})) is None
    assert why({**pct, "targeting": {"loyalty_tiers": ["gold"]}}, loyalty_tier="silver")
    assert why({**pct, "targeting": {"channels": ["app"]}}) == "channel"
    assert why({**pct, "targeting": {"stores": ["s1"]}}, store_id="s1") is None
    assert why({**pct, "targeting": {"customers": "new"}}) == "for new customers"
    assert why({**pct, "targeting": {"customers": "returning"}}, returning=False)
    assert why({**pct, "schedule": {"ends_at": "2026-11-01T00:00:00Z"}}) == "out of schedule"
    assert why({**pct, "schedule": {"days": ["sat"]}}) == "out of schedule"
    assert why({**pct, "min_basket": 50}, basket=20.0) == "basket below minimum"
    assert why({**pct, "min_basket": 50}, basket=60.0) is None
    # marketing on email/SMS/push needs an explicit yes for that channel
    assert why(pct, channel="email") == "no marketing consent for the channel"
    assert why(pct, channel="email", consent={"marketing_email": True}) is None
    assert why({**pct, "marketing": False}, channel="push") is None
    # a purpose of the offer's own: absent is fine unless consent is required
    assert why({**pct, "consent_purpose": "analytics"}) is None
    assert why({**pct, "consent_purpose": "analytics"}, consent_required=True)
    assert why({**pct, "consent_purpose": "analytics"}, consent={"analytics": False})
    assert why({**pct, "frequency_cap": {"per_day": 1}}, who=None)


def test_invalid_offers_say_where() -> None:
    for definition, where in [
        ({"kind": "percent_off", "value": 150}, "$.value"),
        ({"kind": "coupon"}, "$.kind"),
        ({"kind": "bundle", "bundle_items": ["a"]}, "$.bundle_items"),
        ({"kind": "percent_off", "value": 5, "budget": 100}, "$.cost"),
        (
            {"kind": "amount_off", "value": 5, "frequency_cap": {"per_day": 0}},
            "$.frequency_cap.per_day",
        ),
    ]:
        with pytest.raises(DefinitionError) as err:
            parse_offer(definition, "o")
        assert where in str(err.value)


def test_concurrent_awards_hold_the_frequency_cap(tmp_path: Path) -> None:
    book = OfferBook(FileDefinitionStore(tmp_path))
    book.put("o", {"kind": "percent_off", "value": 10, "frequency_cap": {"per_day": 3}})
    chooser = OfferChooser(book, MemoryOfferLedger(), RewardTracker(UniformPolicy(seed=1), 3600))
    shown: list[int] = []
    lock = threading.Lock()

    def ask(n: int) -> None:
        got = chooser.choose(f"d{n}", audience(), {"placement": "home"}, 1)
        with lock:
            shown.append(len(got))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(shown) == 3


def test_bandit_learns_the_best_offer_per_segment() -> None:
    """Synthetic shoppers: VIPs redeem the free-shipping offer most, bargain hunters the
    20 % off; the rest is noise. After learning, the policy picks each segment's best."""
    rng = np.random.default_rng(7)
    offers = {
        "free_ship": {"kind": "free_shipping"},
        "pct20": {"kind": "percent_off", "value": 20},
        "pts2": {"kind": "points_multiplier", "value": 2},
    }
    rates = {
        "vip": {"free_ship": 0.40, "pct20": 0.10, "pts2": 0.15},
        "bargain": {"free_ship": 0.05, "pct20": 0.45, "pts2": 0.10},
    }
    arms = [Arm(o, {"kind": d["kind"]}) for o, d in offers.items()]
    policy = VowpalPolicy(seed=3)
    tracker = RewardTracker(policy, reward_window=3600)
    picks: dict[str, list[str]] = {"vip": [], "bargain": []}
    for t in range(4000):
        segment = "vip" if t % 2 else "bargain"
        features = context_features(audience(segments=frozenset({segment})), "home", None)
        choice = policy.select(features, arms)
        redeemed = rng.random() < rates[segment][choice.offer_id]
        policy.update(features, arms, choice.offer_id, choice.probability, float(redeemed))
        picks[segment].append(choice.offer_id)
    for segment, best in (("vip", "free_ship"), ("bargain", "pct20")):
        late = picks[segment][-500:]
        assert late.count(best) / len(late) > 0.8, (segment, {o: late.count(o) for o in offers})
        features = context_features(audience(segments=frozenset({segment})), "home", None)
        dist = policy.select(features, arms).distribution
        assert max(dist, key=lambda o: dist[o]) == best
    assert tracker.waiting() == 0


def test_unrewarded_choices_teach_zero_after_the_window(tmp_path: Path) -> None:
    class Counting(UniformPolicy):
        rewards: list[float] = []

        def update(self, context, arms, chosen, probability, reward):  # type: ignore[no-untyped-def]
            self.rewards.append(reward)

    policy = Counting(seed=0)
    book = OfferBook(FileDefinitionStore(tmp_path))
    book.put("a", {"kind": "percent_off", "value": 5})
    tracker = RewardTracker(policy, reward_window=0.0)
    chooser = OfferChooser(book, MemoryOfferLedger(), tracker)
    chooser.choose("d1", audience(), {}, 1)
    chooser.choose("d2", audience(), {}, 1)
    assert tracker.reward("d1", "a", 1.0)
    assert not tracker.reward("d1", "a", 1.0)  # rewarded once
    assert policy.rewards == []  # nothing learned before the window closes
    assert tracker.sweep(now=10**12) == 2
    assert policy.rewards == [1.0, 0.0]  # in the order the choices were made
    assert tracker.waiting() == 0


def test_offers_persist_and_survive_reload(tmp_path: Path) -> None:
    store = FileDefinitionStore(tmp_path)
    OfferBook(store).put(
        "o",
        {
            "kind": "amount_off",
            "value": 3,
            "schedule": {"starts_at": (NOW + timedelta(days=1)).isoformat()},
        },
    )
    again = OfferBook(store).get("o")
    assert again is not None and again.value == 3 and again.schedule.starts_at is not None


def test_an_offer_stored_elsewhere_is_taken_up_on_reload(tmp_path: Path) -> None:
    book = OfferBook(FileDefinitionStore(tmp_path))
    elsewhere = FileDefinitionStore(tmp_path)  # another process's view of the same files
    elsewhere.put("offer", "o", {"kind": "percent_off", "value": 10})
    assert book.get("o") is None
    book.reload("o")
    first = book.get("o")
    assert first is not None and first.value == 10
    book.reload("o")  # nothing new: the same offer stays in use
    assert book.get("o") is first
    book.put("o", {"kind": "percent_off", "value": 20})
    book.reload("o")  # reads the store as it is now: never undoes the later write
    again = book.get("o")
    assert again is not None and again.value == 20
    elsewhere.delete("offer", "o")
    book.reload("o")
    assert book.get("o") is None and book.all() == []


def test_a_naive_schedule_datetime_is_taken_as_utc() -> None:
    from datetime import timezone

    mixed = {"starts_at": "2026-12-01T00:00:00", "ends_at": "2026-12-24T00:00:00Z"}
    offer = parse_offer({"kind": "percent_off", "value": 10, "schedule": mixed}, "o")
    assert offer.schedule.starts_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert offer.schedule.ends_at == datetime(2026, 12, 24, tzinfo=UTC)
    # as YAML gives them: datetime objects, naive or in another zone, end up aware UTC
    shifted = datetime(2026, 12, 24, 2, tzinfo=timezone(timedelta(hours=2)))
    schedule = {"starts_at": datetime(2026, 12, 1), "ends_at": shifted}
    offer = parse_offer({"kind": "percent_off", "value": 10, "schedule": schedule}, "o")
    assert offer.schedule.starts_at is not None and offer.schedule.starts_at.tzinfo is UTC
    assert offer.schedule.ends_at == datetime(2026, 12, 24, tzinfo=UTC)
    assert ineligible_reason(offer, audience(now=datetime(2026, 12, 2, tzinfo=UTC))) is None
    backwards = {"starts_at": "2026-12-24T00:00:00", "ends_at": "2026-12-01T00:00:00+00:00"}
    with pytest.raises(DefinitionError, match=r"\$\.schedule"):
        parse_offer({"kind": "percent_off", "value": 10, "schedule": backwards}, "o")


@pytest.mark.parametrize(
    ("definition", "where"),
    [
        ({"kind": "amount_off", "value": float("inf")}, "$.value"),
        ({"kind": "amount_off", "value": 5, "budget": float("nan")}, "$.budget"),
        ({"kind": "percent_off", "value": -float("inf")}, "$.value"),
        ({"kind": "free_shipping", "min_basket": float("inf")}, "$.min_basket"),
        ({"kind": "free_shipping", "scope": {"items": ["a", float("nan")]}}, "$.scope.items[1]"),
    ],
)
def test_non_finite_numbers_are_refused_with_where(definition: dict[str, Any], where: str) -> None:
    with pytest.raises(DefinitionError, match="finite") as err:
        parse_offer(definition, "o")
    assert str(err.value).endswith(f"- at `{where}`")


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"schedule": {"hours": [9, 9]}}, "$.schedule.hours"),
        ({"schedule": {"hours": [24, 0]}}, "$.schedule.hours"),
        ({"frequency_cap": {"per_day": 5, "per_week": 2}}, "$.frequency_cap"),
        ({"targeting": {"channels": ["web", "pigeon"]}}, "$.targeting.channels[1]"),
        ({"targeting": {"channels": ["Email"]}}, "$.targeting.channels[0]"),
    ],
)
def test_offers_that_could_never_apply_are_refused(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(DefinitionError) as err:
        parse_offer({"kind": "free_shipping", **fields}, "o")
    assert str(err.value).endswith(f"- at `{where}`")
    if "channels" in where:
        assert "web, app, store, email" in str(err.value)  # the valid ones are listed


def test_offers_at_the_edge_of_valid_are_accepted() -> None:
    fine = parse_offer(
        {
            "kind": "free_shipping",
            "schedule": {"hours": [22, 6]},
            "frequency_cap": {"per_day": 2, "per_week": 2},
            "targeting": {"channels": ["web", "email", "call_center"]},
        },
        "o",
    )
    assert fine.schedule.hours == (22, 6) and fine.frequency_cap.per_day == 2


def test_nesting_too_deep_for_the_stack_is_a_definition_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(DefinitionError, match="nested too deeply"):
        parse_offer({"kind": "free_shipping", "scope": {"items": deep}}, "o")


def test_a_stored_offer_that_no_longer_parses_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    store = FileDefinitionStore(tmp_path)
    store.put("offer", "good", {"kind": "free_shipping"})
    store.put("offer", "stale", {"kind": "coupon"})
    with caplog.at_level(logging.WARNING, logger="retailor.decision.offers"):
        book = OfferBook(store)
    assert [o.offer_id for o in book.all()] == ["good"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "'stale'" in warned[0] and "$.kind" in warned[0]
