"""Learning the offer policy once for many deciding processes (scale-out).

Embedded, the one process learns as it decides (``choosing.RewardTracker``). Scaled out,
every worker still writes its decisions and their feedback to the shared decision log,
but no worker learns: one :class:`PolicyLearner` reads the log behind a cursor, teaches
its own copy of the policy each choice once its reward window has closed (with the reward
its feedback earned, 0 without any: the same rule as the tracker and the replay at start),
and publishes the policy's state with the cursor it reached. Deciding workers take up the
newest published state with a :class:`PolicyFollower` (a version check at most every
half second, the bytes only when newer).

The cursor travels with the model in one published state, and publishing is a compare-
and-set on the version: a learner that lost the race (another learner published first)
drops its own progress and continues from the newer state. Every logged choice is thus
in the published policy exactly once, whichever process learns and however often the
learner moves. A decision written to the log more than ``settle_seconds`` after its time
(the log was down for longer) may be passed over.

:meth:`PolicyLearner.run_once` is a job for the process that holds the background lease
(about every second).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from retailor.decision.choosing import offer_features
from retailor.decision.logged import rewards_of
from retailor.decision.offers import OfferBook
from retailor.decision.policies import Arm, Policy
from retailor.storage.base import DecisionLog
from retailor.storage.hot import PolicyStateStore

log = logging.getLogger("retailor.decisions")


class LearnedState(msgspec.Struct, kw_only=True):
    """What a learner publishes: the policy's bytes and how far into the log it learned."""

    policy: str
    model: bytes
    cursor_at: datetime | None = None
    cursor_id: str | None = None
    learned: int = 0

    @property
    def cursor(self) -> tuple[datetime, str] | None:
        if self.cursor_at is None or self.cursor_id is None:
            return None
        return self.cursor_at, self.cursor_id


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(LearnedState).decode


def decode_state(state: bytes) -> LearnedState | None:
    """A published state, or None when it cannot be read (logged)."""
    try:
        return _decode(state)
    except msgspec.DecodeError as exc:
        log.warning("ignoring a published policy state that cannot be read: %s", exc)
        return None


class PolicyLearner:
    """Teaches a policy from the shared decision log and publishes it (see the module
    docstring). Thread-safe: :meth:`run_once` runs one round at a time."""

    def __init__(
        self,
        policy: Policy,
        decisions: DecisionLog,
        states: PolicyStateStore,
        book: OfferBook,
        *,
        reward_mode: str = "redemption",
        reward_scale: float = 100.0,
        reward_window: float = 3600.0,
        settle_seconds: float = 10.0,
        batch: int = 5_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = policy
        self._decisions, self._states, self._book = decisions, states, book
        self.reward_mode, self.reward_scale = reward_mode, reward_scale
        self.reward_window, self.settle_seconds = reward_window, settle_seconds
        self._batch = batch
        self._clock = clock
        self._lock = threading.Lock()
        self.version = 0  # the published version this learner's state is based on
        self.cursor: tuple[datetime, str] | None = None
        self.learned = 0  # choices in this learner's state, since the start of the log
        self._changed = False
        self._initial = policy.state()  # what it knew before learning anything

    def relearn(self) -> int:
        """Forget what was learned and learn again from the start of the decision log as
        it is now, then publish (an erasure: the published policy then holds nothing of
        the decisions removed); how many choices it learned."""
        with self._lock:
            if self._states.version() > self.version:
                self._adopt()
            self.policy.load_state(self._initial)
            self.cursor, self.learned, self._changed = None, 0, True
        return self.run_once()

    def _adopt(self) -> None:
        """Continue from a newer published state (another learner's, or this one's before
        a restart)."""
        found = self._states.latest(self.version)
        if found is None:
            return
        version, raw = found
        state = decode_state(raw)
        self.version = version
        if state is None or state.policy != self.policy.name:
            if state is not None:
                log.warning(
                    "the published policy state is of policy %r, this learner's is %r: "
                    "learning from the start of the decision log",
                    state.policy,
                    self.policy.name,
                )
            return
        self.policy.load_state(state.model)
        self.cursor, self.learned = state.cursor, state.learned
        self._changed = False

    def _arms(self, eligible: list[str]) -> tuple[Arm, ...]:
        return tuple(Arm(oid, offer_features(self._book.get(oid))) for oid in eligible)

    def run_once(self) -> int:
        """Learn every choice whose reward window has closed since the cursor, then
        publish when anything changed; returns how many choices were learned."""
        with self._lock:
            if self._states.version() > self.version:
                self._adopt()
            until = self._clock() - timedelta(seconds=self.reward_window + self.settle_seconds)
            costs = {o.offer_id: o.redemption_cost() for o in self._book.all()}
            learned = 0
            while True:
                records = self._decisions.decisions_between(self.cursor, until, self._batch)
                if not records:
                    break
                with_offers = [r for r in records if r.offers]
                rewards = rewards_of(
                    self._decisions.feedback_for([r.decision_id for r in with_offers]),
                    reward_mode=self.reward_mode,
                    reward_scale=self.reward_scale,
                    costs=costs,
                )
                for record in with_offers:
                    for offer in record.offers:
                        self.policy.update(
                            offer.features,
                            self._arms(offer.eligible),
                            offer.offer_id,
                            offer.probability,
                            rewards.get((record.decision_id, offer.offer_id), 0.0),
                        )
                        learned += 1
                last = records[-1]
                self.cursor = (last.at, last.decision_id)
                self._changed = True
                if len(records) < self._batch:
                    break
            self.learned += learned
            if self._changed:
                self._publish()
            return learned

    def _publish(self) -> None:
        state = LearnedState(
            policy=self.policy.name,
            model=self.policy.state(),
            cursor_at=self.cursor[0] if self.cursor else None,
            cursor_id=self.cursor[1] if self.cursor else None,
            learned=self.learned,
        )
        version = self._states.publish(_encode(state), after=self.version)
        if version is None:
            # another learner published first: its state wins, this one's progress goes
            log.info("another process published the offer policy first: continuing from it")
            self._adopt()
            return
        self.version = version
        self._changed = False


class PolicyFollower:
    """Keeps a deciding process's policy at the newest published state: ``refresh`` asks
    the version (at most every ``every`` seconds) and loads the state when newer."""

    def __init__(
        self,
        policy: Policy,
        states: PolicyStateStore,
        *,
        every: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy, self._states = policy, states
        self.every, self._clock = every, clock
        self.version = 0
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def refresh(self, *, force: bool = False) -> bool:
        """Load a newer published state; True when one was loaded."""
        with self._lock:
            now = self._clock()
            if not force and now - self._checked < self.every:
                return False
            self._checked = now
            if self._states.version() <= self.version:
                return False
            found = self._states.latest(self.version)
            if found is None:
                return False
            version, raw = found
            self.version = version
            state = decode_state(raw)
            if state is None or state.policy != self.policy.name:
                return False
            self.policy.load_state(state.model)
            return True
