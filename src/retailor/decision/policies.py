"""Policies choose one offer among the eligible ones and learn from rewards.

Every policy answers :meth:`Policy.select` with the chosen offer and the probability it
had of being chosen (logged, so any other policy can be evaluated offline on the log),
and learns with :meth:`Policy.update`. ``vowpal`` is a contextual bandit
(vowpalwabbit ``--cb_explore_adf``: shared customer and context features, per-offer
features, their interactions, SquareCB exploration); ``uniform`` picks at random, the
baseline of experiments.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Features = Mapping[str, str]
_UNSAFE = re.compile(r"[\s|:]+")
MEMO_SIZE = 50_000


@dataclass(frozen=True)
class Arm:
    """One eligible offer as a policy sees it."""

    offer_id: str
    features: Features


@dataclass(frozen=True)
class Choice:
    """The chosen offer, its probability, and the whole distribution over the arms."""

    offer_id: str
    probability: float
    distribution: dict[str, float]


class Policy(ABC):
    """The contract every offer policy follows (see the module docstring)."""

    name = "policy"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.updates = 0

    @abstractmethod
    def distribution(self, context: Features, arms: Sequence[Arm]) -> list[float]:
        """The probability of choosing each arm (sums to 1)."""

    def select(self, context: Features, arms: Sequence[Arm]) -> Choice:
        """Draw one arm from :meth:`distribution`."""
        if not arms:
            raise ValueError("no eligible offer to choose from")
        probs = [max(0.0, float(p)) for p in self.distribution(context, arms)]
        total = sum(probs)
        probs = [p / total for p in probs] if total > 0 else [1.0 / len(arms)] * len(arms)
        with self._lock:
            draw = self._rng.random()
        index, cumulative = len(arms) - 1, 0.0
        for i, p in enumerate(probs):
            cumulative += p
            if draw < cumulative:
                index = i
                break
        return Choice(
            arms[index].offer_id,
            probs[index],
            {arm.offer_id: p for arm, p in zip(arms, probs, strict=True)},
        )

    def update(
        self, context: Features, arms: Sequence[Arm], chosen: str, probability: float, reward: float
    ) -> None:
        """Learn from the reward of one logged choice (no-op for policies that do not learn)."""
        self.updates += 1

    def state(self) -> bytes:
        """What the policy learned, as bytes another instance can :meth:`load_state`
        (empty for policies that learn nothing)."""
        return b""

    def load_state(self, state: bytes) -> None:  # noqa: B027 - nothing learned, nothing to take
        """Take up what another instance of the same policy learned (:meth:`state`):
        choices from now on follow it, and learning continues from it."""


class UniformPolicy(Policy):
    """Every eligible offer equally likely."""

    name = "uniform"

    def distribution(self, context: Features, arms: Sequence[Arm]) -> list[float]:
        return [1.0 / len(arms)] * len(arms)


def _token(value: str) -> str:
    return _UNSAFE.sub("_", value) or "_"


def _namespace(features: Features) -> str:
    parts = []
    for key, value in sorted(features.items()):
        if not value:
            continue
        for v in value.split(","):  # a comma-separated value is a set (segments)
            parts.append(f"{_token(key)}={_token(v)}")
    return " ".join(parts)


class VowpalPolicy(Policy):
    """A contextual bandit over vowpalwabbit's ``--cb_explore_adf`` (thread-safe).

    Shared features go to namespace ``C`` (context) and offer features to ``A``; the
    quadratic interaction ``CA`` lets the value of an offer depend on who asks. Rewards
    are turned into VW costs (``-reward``).
    """

    name = "vowpal"

    def __init__(self, seed: int = 0, exploration: str = "--squarecb --gamma_scale 10") -> None:
        super().__init__(seed)
        import vowpalwabbit  # lazily: only servers with offers pay for loading it

        self.exploration = exploration
        self._args = f"--cb_explore_adf {exploration} -q CA --quiet --random_seed {seed}"
        self._workspace = vowpalwabbit.Workspace
        self._vw = self._workspace(self._args)
        self._memo: dict[object, list[float]] = {}

    @staticmethod
    def _example(
        context: Features, arms: Sequence[Arm], label: tuple[int, float, float] | None = None
    ) -> list[str]:
        lines = [f"shared |C {_namespace(context)}"]
        for i, arm in enumerate(arms):
            prefix = ""
            if label is not None and label[0] == i:
                prefix = f"0:{label[1]}:{label[2]} "
            lines.append(f"{prefix}|A offer={_token(arm.offer_id)} {_namespace(arm.features)}")
        return lines

    def distribution(self, context: Features, arms: Sequence[Arm]) -> list[float]:
        """VW's exploration distribution, memoized until the next update: the same context
        and offers give the same distribution between two learning steps."""
        key = (
            tuple(sorted(context.items())),
            tuple((a.offer_id, tuple(sorted(a.features.items()))) for a in arms),
        )
        with self._lock:
            found = self._memo.get(key)
            if found is not None:
                return found
            pmf = [float(p) for p in self._vw.predict(self._example(context, arms))]
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = pmf
        return pmf

    def update(
        self, context: Features, arms: Sequence[Arm], chosen: str, probability: float, reward: float
    ) -> None:
        index = next((i for i, a in enumerate(arms) if a.offer_id == chosen), None)
        if index is None or probability <= 0:
            return
        example = self._example(context, arms, (index, -float(reward), float(probability)))
        with self._lock:
            self._vw.learn(example)
            self.updates += 1
            self._memo.clear()

    def state(self) -> bytes:
        """VW's model file (with what continued learning needs), through a temporary file."""
        with tempfile.TemporaryDirectory(prefix="retailor-vw-") as folder:
            path = os.path.join(folder, "policy.vw")
            with self._lock:
                self._vw.save(path)
            with open(path, "rb") as file:
                return file.read()

    def load_state(self, state: bytes) -> None:
        """A workspace read from ``state`` (VW's ``-i``) replaces the current one."""
        with tempfile.TemporaryDirectory(prefix="retailor-vw-") as folder:
            path = os.path.join(folder, "policy.vw")
            with open(path, "wb") as file:
                file.write(state)
            loaded = self._workspace(f"{self._args} -i {path}")
        with self._lock:
            old, self._vw = self._vw, loaded
            self._memo.clear()
        old.finish()

    def close(self) -> None:
        with self._lock:
            self._vw.finish()


POLICIES: dict[str, type[Policy]] = {"vowpal": VowpalPolicy, "uniform": UniformPolicy}


def create_policy(name: str, seed: int = 0) -> Policy:
    """A policy by name (``vowpal`` or ``uniform``)."""
    try:
        return POLICIES[name](seed=seed)
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}") from None
