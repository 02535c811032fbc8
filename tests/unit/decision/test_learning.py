"""Learning the offer policy from the shared decision log: a policy's state saved and
loaded, each choice learned once its reward window has closed with the reward its feedback
earned, and learners that race to publish keeping each choice in the policy once."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from retailor.decision.learning import PolicyFollower, PolicyLearner, decode_state
from retailor.decision.offers import OfferBook
from retailor.decision.policies import Arm, Features, UniformPolicy, VowpalPolicy
from retailor.domain.decisions import DecisionRecord, FeedbackRecord, LoggedOffer
from retailor.domain.privacy import Subject
from retailor.storage.files.definitions import FileDefinitionStore
from retailor.storage.hot import PolicyStateStore
from retailor.storage.memory.decisions import MemoryDecisionLog
from retailor.storage.memory.policy_state import MemoryPolicyStateStore

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ARMS = (Arm("a", {"kind": "percent_off"}), Arm("b", {"kind": "amount_off"}))


class Recording(UniformPolicy):
    """A uniform policy that keeps what it was taught."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.taught: list[tuple[str, str, float]] = []

    def update(
        self, context: Features, arms: Sequence[Arm], chosen: str, probability: float, reward: float
    ) -> None:
        super().update(context, arms, chosen, probability, reward)
        self.taught.append((context["who"], chosen, reward))


def decision(n: int, offer: str = "a") -> DecisionRecord:
    return DecisionRecord(
        decision_id=f"d{n:03d}", at=T0 + timedelta(minutes=n), placement="cart",
        customer=f"c{n}", anonymous_id=None, context={}, items=[], sources=[],
        offers=[LoggedOffer(offer_id=offer, probability=0.5, eligible=["a", "b"],
                            features={"who": f"c{n}"})],
        model_versions={}, personalized=True, fallback=None, latency_ms=0.1,
    )  # fmt: skip


def redeemed(n: int, offer: str = "a") -> FeedbackRecord:
    return FeedbackRecord(decision_id=f"d{n:03d}", at=T0 + timedelta(minutes=n, seconds=30),
                          type="redeemed", item_id=None, offer_id=offer, value=None,
                          source="api")  # fmt: skip


def test_a_vowpal_policy_saved_and_loaded_chooses_and_learns_alike() -> None:
    taught, fresh = VowpalPolicy(seed=3), VowpalPolicy(seed=3)
    context = {"tier": "gold"}
    for _ in range(30):
        taught.update(context, ARMS, "a", 0.5, 1.0)
    assert fresh.distribution(context, ARMS) != taught.distribution(context, ARMS)
    fresh.load_state(taught.state())
    assert fresh.distribution(context, ARMS) == taught.distribution(context, ARMS)
    for policy in (taught, fresh):
        policy.update(context, ARMS, "b", 0.5, 1.0)
    assert fresh.distribution(context, ARMS) == taught.distribution(context, ARMS)
    assert UniformPolicy().state() == b""


def learner(
    log: MemoryDecisionLog, store: PolicyStateStore, book: OfferBook, now: list[datetime]
) -> PolicyLearner:
    return PolicyLearner(Recording(), log, store, book, reward_window=3600, settle_seconds=10,
                         batch=2, clock=lambda: now[0])  # fmt: skip


def test_choices_are_learned_once_their_window_closed_with_their_reward(tmp_path: Path) -> None:
    log, store = MemoryDecisionLog(), MemoryPolicyStateStore()
    book = OfferBook(FileDefinitionStore(tmp_path))
    log.append([decision(n, "a" if n % 2 else "b") for n in range(5)])
    log.add_feedback([redeemed(1), redeemed(3)])
    now = [T0 + timedelta(minutes=30)]
    first = learner(log, store, book, now)
    assert first.run_once() == 0 and store.version() == 0  # every window still open
    now[0] = T0 + timedelta(hours=1, minutes=2, seconds=10)  # d000..d002 are past theirs
    assert first.run_once() == 3
    policy = first.policy
    assert isinstance(policy, Recording)
    assert policy.taught == [("c0", "b", 0.0), ("c1", "a", 1.0), ("c2", "b", 0.0)]
    assert store.version() == 1
    now[0] = T0 + timedelta(hours=2)
    assert first.run_once() == 2 and policy.taught[3:] == [("c3", "a", 1.0), ("c4", "b", 0.0)]
    assert first.run_once() == 0 and store.version() == 2  # nothing new: nothing published
    published = store.latest()
    assert published is not None
    state = decode_state(published[1])
    assert state is not None and state.learned == 5 and state.cursor_id == "d004"

    follower = PolicyFollower(UniformPolicy(), store, every=0.5, clock=lambda: 0.0)
    assert follower.refresh() and follower.version == 2
    assert not follower.refresh(force=True)  # nothing newer

    later = learner(log, store, book, now)  # a learner started after a restart
    assert later.run_once() == 0 and later.learned == 5


class Racing(PolicyStateStore):
    """A shared store in which someone else publishes just before this one does."""

    def __init__(self, shared: PolicyStateStore, before: Callable[[], object]) -> None:
        self.shared, self.before = shared, before

    def publish(self, state: bytes, *, after: int) -> int | None:
        self.before()
        return self.shared.publish(state, after=after)

    def version(self) -> int:
        return self.shared.version()

    def latest(self, newer_than: int = 0) -> tuple[int, bytes] | None:
        return self.shared.latest(newer_than)


def test_a_learner_that_loses_the_race_to_publish_continues_from_the_winner(
    tmp_path: Path,
) -> None:
    log, shared = MemoryDecisionLog(), MemoryPolicyStateStore()
    book = OfferBook(FileDefinitionStore(tmp_path))
    log.append([decision(n) for n in range(4)])
    now = [T0 + timedelta(hours=3)]
    winner = learner(log, shared, book, now)
    loser = learner(log, Racing(shared, winner.run_once), book, now)
    assert loser.run_once() == 4  # learned, but the winner published first
    assert shared.version() == 1 and loser.version == 1 and loser.learned == 4
    published = shared.latest()
    assert published is not None
    state = decode_state(published[1])
    assert state is not None and state.learned == 4  # each choice once, not twice
    log.append([decision(10)])
    assert loser.run_once() == 1 and loser.learned == 5


class Remembering(Recording):
    """A recording policy whose state is what it was taught (so forgetting shows)."""

    def state(self) -> bytes:
        return json.dumps(self.taught).encode()

    def load_state(self, state: bytes) -> None:
        self.taught = [tuple(t) for t in json.loads(state or b"[]")]  # type: ignore[misc]


def test_relearning_after_an_erasure_forgets_the_erased_choices(tmp_path: Path) -> None:
    log, store = MemoryDecisionLog(), MemoryPolicyStateStore()
    book = OfferBook(FileDefinitionStore(tmp_path))
    log.append([decision(n) for n in range(5)])
    now = [T0 + timedelta(hours=3)]
    taught = PolicyLearner(Remembering(), log, store, book, reward_window=3600,
                           settle_seconds=10, batch=2, clock=lambda: now[0])  # fmt: skip
    assert taught.run_once() == 5
    assert log.erase(Subject(ids=("c1", "c3"))) == 2
    assert taught.relearn() == 3
    policy = taught.policy
    assert isinstance(policy, Remembering)
    assert [who for who, _, _ in policy.taught] == ["c0", "c2", "c4"]
    published = store.latest()
    assert published is not None
    state = decode_state(published[1])
    assert state is not None and state.learned == 3
    assert b"c1" not in state.model and b"c3" not in state.model
