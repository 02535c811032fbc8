"""Off-policy evaluation of offer decisions from contextual-bandit logs, behind ``retailor
policies evaluate``: from logged decisions (context, eligible offers, the chosen offer with
its logging propensity, the reward) it estimates the expected reward per decision a target
policy would have earned, by IPS (optionally clipped), self-normalised IPS, the direct
method on a smoothed mean-reward model and doubly robust (cross-fitted on two folds), each
with a normal-approximation 95% interval and the effective sample size of the importance
weights; plus ready-made target policies (uniform, always one offer, greedy). numpy only."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
SUM_TOLERANCE = 1e-3  # how far a target policy's probabilities may sum from 1


@dataclass(frozen=True)
class LoggedChoice:
    """One logged decision among eligible actions."""

    context: Mapping[str, str]  # shared features, e.g. {"segment": "vip", "channel": "web"}
    actions: Sequence[str]  # eligible action ids (offer ids), as logged
    chosen: str  # the action the logging policy took
    propensity: float  # probability the logging policy gave `chosen` (0 < p <= 1)
    reward: float


TargetPolicy = Callable[[Mapping[str, str], Sequence[str]], Mapping[str, float]]
"""Returns a probability per eligible action (missing actions = 0; must sum to ~1)."""


@dataclass(frozen=True)
class Estimate:
    """An estimate of the expected reward per decision under a target policy.

    ``effective_sample_size`` is (sum w)^2 / sum w^2 of the importance weights
    w = pi(chosen|x) / propensity; it is ``n`` for "logged" and "dm", which do not reweight.
    """

    estimator: str  # "ips" | "snips" | "dr" | "dm" | "logged"
    value: float
    ci95: tuple[float, float]
    n: int
    effective_sample_size: float


def _context_key(context: Mapping[str, str]) -> str:
    """Canonical string of the sorted (key, value) pairs of a context."""
    return json.dumps(sorted((str(k), str(v)) for k, v in context.items()), separators=(",", ":"))


def _unique(actions: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(actions))


def _shrink(total: float, count: int, toward: float, prior: float) -> float:
    denom = count + prior
    return (total + prior * toward) / denom if denom > 0 else toward


class RewardModel:
    """Direct-method reward model: mean reward per (action, context) with shrinkage toward
    the action's mean and then the global mean (additive smoothing, strength `prior`).

    With g the global mean reward, the action mean is (sum_a + prior * g) / (n_a + prior)
    and the cell mean (sum_ax + prior * action mean) / (n_ax + prior). Unseen contexts get
    the action mean, unseen actions the global mean; a model fitted on no rows predicts 0.
    """

    def __init__(self, prior: float = 5.0) -> None:
        if not (math.isfinite(prior) and prior >= 0.0):
            raise ValueError(f"prior must be a finite number >= 0, got {prior!r}")
        self.prior = float(prior)
        self._fitted = False
        self._global = 0.0
        self._action: dict[str, tuple[float, int]] = {}
        self._cell: dict[tuple[str, str], tuple[float, int]] = {}

    def fit(self, log: Sequence[LoggedChoice]) -> RewardModel:
        """Accumulate reward sums and counts per action and per (action, context); returns self."""
        return self._fit(log, [_context_key(row.context) for row in log])

    def _fit(self, log: Sequence[LoggedChoice], keys: Sequence[str]) -> RewardModel:
        action: dict[str, tuple[float, int]] = {}
        cell: dict[tuple[str, str], tuple[float, int]] = {}
        total = 0.0
        for row, ckey in zip(log, keys, strict=True):
            reward = float(row.reward)
            total += reward
            s, c = action.get(row.chosen, (0.0, 0))
            action[row.chosen] = (s + reward, c + 1)
            key = (row.chosen, ckey)
            s, c = cell.get(key, (0.0, 0))
            cell[key] = (s + reward, c + 1)
        self._global = total / len(log) if len(log) else 0.0
        self._action, self._cell, self._fitted = action, cell, True
        return self

    def predict(self, context: Mapping[str, str], action: str) -> float:
        """Smoothed mean reward of `action` in `context`."""
        return self._predict_key(_context_key(context), action)

    def _predict_key(self, ckey: str, action: str) -> float:
        if not self._fitted:
            raise RuntimeError("RewardModel.predict called before fit")
        s, c = self._action.get(action, (0.0, 0))
        action_mean = _shrink(s, c, self._global, self.prior)
        s, c = self._cell.get((action, ckey), (0.0, 0))
        return _shrink(s, c, action_mean, self.prior)


@dataclass(frozen=True)
class _Prepared:
    log: Sequence[LoggedChoice]
    keys: list[str]  # canonical context key per row
    probs: list[dict[str, float]]  # target probability per eligible action, per row
    rewards: np.ndarray
    weights: np.ndarray  # pi(chosen|x) / propensity


def _check_log(log: Sequence[LoggedChoice]) -> None:
    if len(log) == 0:
        raise ValueError("the log is empty")
    for i, row in enumerate(log):
        if not (0.0 < row.propensity <= 1.0):  # also rejects NaN
            raise ValueError(f"row {i}: propensity {row.propensity!r} is outside (0, 1]")
        if not math.isfinite(row.reward):
            raise ValueError(f"row {i}: reward {row.reward!r} is not finite")
        if row.chosen not in row.actions:
            raise ValueError(f"row {i}: chosen action {row.chosen!r} is not among the eligible")


def _prepare(log: Sequence[LoggedChoice], target: TargetPolicy) -> _Prepared:
    """Validate the log and query the target once per distinct (context, eligible set)."""
    _check_log(log)
    cache: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}
    keys: list[str] = []
    probs: list[dict[str, float]] = []
    for i, row in enumerate(log):
        ckey = _context_key(row.context)
        eligible = tuple(_unique(row.actions))
        dist = cache.get((ckey, eligible))
        if dist is None:
            raw = target(row.context, row.actions)
            dist = {a: float(raw.get(a, 0.0)) for a in eligible}
            total = sum(dist.values())
            if any(not (p >= 0.0) for p in dist.values()) or abs(total - 1.0) > SUM_TOLERANCE:
                raise ValueError(
                    f"row {i}: target probabilities over the eligible actions must be >= 0 "
                    f"and sum to 1, got {dict(raw)!r}"
                )
            dist = {a: p / total for a, p in dist.items()}
            cache[(ckey, eligible)] = dist
        keys.append(ckey)
        probs.append(dist)
    rewards = np.array([float(row.reward) for row in log])
    weights = np.array([p[row.chosen] / row.propensity for p, row in zip(probs, log, strict=True)])
    return _Prepared(log, keys, probs, rewards, weights)


def _half_width(terms: np.ndarray) -> float:
    n = terms.size
    return Z95 * float(terms.std(ddof=1)) / math.sqrt(n) if n > 1 else math.inf


def _ess(weights: np.ndarray) -> float:
    square = float(np.sum(weights * weights))
    return float(np.sum(weights)) ** 2 / square if square > 0 else 0.0


def _estimate(name: str, terms: np.ndarray, ess: float) -> Estimate:
    value, half = float(terms.mean()), _half_width(terms)
    return Estimate(name, value, (value - half, value + half), int(terms.size), ess)


def _ips(prep: _Prepared, clip: float | None) -> Estimate:
    w = prep.weights
    if clip is not None:
        if not clip > 0:
            raise ValueError(f"clip must be > 0, got {clip!r}")
        w = np.minimum(w, clip)
    return _estimate("ips", w * prep.rewards, _ess(w))


def _snips(prep: _Prepared) -> Estimate:
    w, r = prep.weights, prep.rewards
    if float(w.sum()) <= 0.0:  # the target never takes a logged choice: undefined
        return Estimate("snips", math.nan, (math.nan, math.nan), int(r.size), 0.0)
    value = float((w * r).sum() / w.sum())
    # Delta method for the ratio mean(w r) / mean(w): Var ~ Var(w (r - V)) / (n mean(w)^2).
    half = _half_width(w * (r - value)) / float(w.mean())
    return Estimate("snips", value, (value - half, value + half), int(r.size), _ess(w))


def _model_terms(prep: _Prepared, models: Sequence[RewardModel]) -> tuple[np.ndarray, np.ndarray]:
    """Per row (scored by ``models[i % len(models)]``): model reward expected under the
    target, and model reward of the chosen action."""
    n = len(prep.log)
    expected, chosen = np.empty(n), np.empty(n)
    for i, (row, ckey, dist) in enumerate(zip(prep.log, prep.keys, prep.probs, strict=True)):
        model = models[i % len(models)]
        expected[i] = sum(p * model._predict_key(ckey, a) for a, p in dist.items() if p > 0)
        chosen[i] = model._predict_key(ckey, row.chosen)
    return expected, chosen


def _direct(prep: _Prepared, model: RewardModel | None) -> Estimate:
    fitted = model if model is not None else RewardModel()._fit(prep.log, prep.keys)
    expected, _ = _model_terms(prep, [fitted])
    return _estimate("dm", expected, float(expected.size))


def _doubly_robust(prep: _Prepared, model: RewardModel | None) -> Estimate:
    if model is not None:
        models = [model]
    else:  # cross-fitting: even rows use the model fitted on odd rows, and vice versa
        log, keys = prep.log, prep.keys
        models = [RewardModel()._fit(log[1 - k :: 2], keys[1 - k :: 2]) for k in (0, 1)]
    expected, chosen = _model_terms(prep, models)
    terms = expected + prep.weights * (prep.rewards - chosen)
    return _estimate("dr", terms, _ess(prep.weights))


def ips(
    log: Sequence[LoggedChoice], target: TargetPolicy, *, clip: float | None = None
) -> Estimate:
    """Inverse propensity scoring: mean of w * r, w = pi(chosen|x) / propensity. Unbiased when
    the logging policy covers the target; ``clip`` caps w (less variance, biased down)."""
    return _ips(_prepare(log, target), clip)


def snips(log: Sequence[LoggedChoice], target: TargetPolicy) -> Estimate:
    """Self-normalised IPS: sum(w * r) / sum(w), with a delta-method interval (all NaN when
    the target gives no logged choice any probability)."""
    return _snips(_prepare(log, target))


def direct(
    log: Sequence[LoggedChoice], target: TargetPolicy, model: RewardModel | None = None
) -> Estimate:
    """Direct method: mean over rows of sum_a pi(a|x) * rhat(x, a), ``model`` defaulting to a
    ``RewardModel`` fitted on the log. The interval ignores the reward model's own error."""
    return _direct(_prepare(log, target), model)


def doubly_robust(
    log: Sequence[LoggedChoice], target: TargetPolicy, model: RewardModel | None = None
) -> Estimate:
    """Doubly robust: mean of sum_a pi(a|x) rhat(x, a) + w * (r - rhat(x, chosen)). Without
    ``model``, cross-fitted on two folds by row-index parity (each row is scored by the
    model fitted on the other fold); a given ``model`` (fitted on other data) scores all."""
    return _doubly_robust(_prepare(log, target), model)


def evaluate(log: Sequence[LoggedChoice], target: TargetPolicy) -> dict[str, Estimate]:
    """All estimators on one log: "logged" (plain mean reward), "ips", "snips", "dm", "dr".
    Raises ValueError on an empty log, a propensity outside (0, 1], a non-finite reward, a
    chosen action not eligible, or target probabilities that do not sum to 1."""
    prep = _prepare(log, target)
    return {
        "logged": _estimate("logged", prep.rewards, float(prep.rewards.size)),
        "ips": _ips(prep, None),
        "snips": _snips(prep),
        "dm": _direct(prep, None),
        "dr": _doubly_robust(prep, None),
    }


def uniform_policy(context: Mapping[str, str], actions: Sequence[str]) -> dict[str, float]:
    """Equal probability on each distinct eligible action."""
    eligible = _unique(actions)
    return {a: 1.0 / len(eligible) for a in eligible}


def always(action: str) -> TargetPolicy:
    """Policy taking `action` when it is eligible, else uniform over the eligible actions."""

    def policy(context: Mapping[str, str], actions: Sequence[str]) -> dict[str, float]:
        return {action: 1.0} if action in actions else uniform_policy(context, actions)

    return policy


def greedy(model: RewardModel) -> TargetPolicy:
    """Policy taking the eligible action with the highest predicted reward (ties split)."""

    def policy(context: Mapping[str, str], actions: Sequence[str]) -> dict[str, float]:
        ckey = _context_key(context)
        scores = {a: model._predict_key(ckey, a) for a in actions}
        best = max(scores.values(), default=0.0)
        top = [a for a, score in scores.items() if score >= best - 1e-12]
        return {a: 1.0 / len(top) for a in top}

    return policy
