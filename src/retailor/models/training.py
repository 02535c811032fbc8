"""Training jobs: fit models from the event log, gate each new version on a holdout, and
keep every version in the registry with its metrics.

For each model a candidate is fitted on everything but the newest ``holdout_days`` (30) and
scored (NDCG@10, Recall@10 and the rest) on what customers bought in them. The active
version is scored on the same holdout when it was trained before the holdout began
(otherwise its own recorded holdout figures stand in). The candidate is then refitted on
all the data and saved; it becomes active only if its NDCG@10 is not worse than the
active version's beyond ``tolerance`` (relative). The first version is always activated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retailor.evaluation.metrics import score_lists
from retailor.evaluation.runner import CustomerSplit, customer_split
from retailor.models.base import Context, Recommender
from retailor.models.families import known_models, load
from retailor.models.fits import Fits
from retailor.models.interactions import Interactions
from retailor.storage.base import ModelRecord, ModelRegistry

GATE_METRIC = "ndcg@10"
Progress = Callable[[str, int, int], None]


@dataclass
class TrainOutcome:
    """What happened to one model in a training run."""

    name: str
    record: ModelRecord
    activated: bool
    reason: str
    model: Recommender


def check_names(names: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in known_models()]
    if unknown:
        raise ValueError(
            f"unknown model(s) {', '.join(unknown)}; known: {', '.join(known_models())}"
        )
    return list(names)


HOLDOUT_CUSTOMERS = 1000


def holdout_metrics(model: Recommender, split: CustomerSplit, seed: int = 0) -> dict[str, float]:
    """Metrics@10 on the holdout, over at most ``HOLDOUT_CUSTOMERS`` customers (a seeded
    sample, the same for every model of a run)."""
    customers = sorted(split.truth)
    if len(customers) > HOLDOUT_CUSTOMERS:
        rng = np.random.default_rng(seed)
        customers = sorted(rng.choice(customers, HOLDOUT_CUSTOMERS, replace=False).tolist())
    truth = {c: split.truth[c] for c in customers}
    context = Context(now=split.cutoff)
    lists = {c: [s.item_id for s in model.recommend(c, context, 10)] for c in truth}
    return {k: round(v, 5) for k, v in score_lists(lists, truth, [10]).items()}


def train_models(
    data: Interactions,
    registry: ModelRegistry,
    names: Sequence[str],
    *,
    seed: int = 0,
    holdout_days: float = 30.0,
    tolerance: float = 0.02,
    progress: Progress = lambda *_: None,
    force: bool = False,
) -> list[TrainOutcome]:
    """Train ``names`` (the blend last: it reuses the fits made before it). The default
    holdout equals the blend's validation window, so the holdout candidates are the
    sources the blend's newest window needs anyway. ``force`` activates every new version
    whatever the holdout says (an erasure: the versions before hold the erased person)."""
    names = sorted(check_names(names), key=lambda n: n == "blend")
    try:
        split: CustomerSplit | None = customer_split(data, holdout_days)
    except ValueError:
        split = None
    fits = Fits(data, seed)
    steps = len(names)
    outcomes: list[TrainOutcome] = []
    for step, name in enumerate(names):
        progress(f"{name}: holdout", step, steps)
        started = time.perf_counter()
        metrics: dict[str, Any] = {"interactions": len(data), **data.describe()}
        active = registry.active(name)
        if split is not None:
            metrics["holdout"] = holdout_metrics(fits.model(name, split.cutoff), split)
            metrics["holdout_days"] = holdout_days
            metrics["holdout_customers"] = len(split.truth)
        progress(f"{name}: all data", step, steps)
        model = fits.model(name)
        metrics["fit_seconds"] = round(time.perf_counter() - started, 3)
        activate, reason = _gate(name, registry, active, metrics, split, tolerance)
        if force and not activate:
            activate, reason = (
                True,
                f"{reason}; activated all the same (retrained after an erasure)",
            )
        metrics["gate"] = reason
        params = {"seed": seed, "config": model.params, "trained_until": data.now}
        record = registry.save(name, params, metrics, activate=activate, artifact=model.save())
        outcomes.append(TrainOutcome(name, record, activate, reason, model))
    progress("done", steps, steps)
    return outcomes


def _gate(
    name: str,
    registry: ModelRegistry,
    active: ModelRecord | None,
    metrics: dict[str, Any],
    split: CustomerSplit | None,
    tolerance: float,
) -> tuple[bool, str]:
    if active is None:
        return True, "first version"
    new = metrics.get("holdout", {}).get(GATE_METRIC)
    if new is None:
        return True, "no holdout to compare on (too little data); activated"
    old: float | None = None
    blob = registry.artifact(name, active.version)
    if (
        split is not None
        and blob is not None
        and active.params.get("trained_until", 1e18) <= split.cutoff
    ):
        old = holdout_metrics(load(name, blob), split)[GATE_METRIC]
        metrics["active_on_holdout"] = {GATE_METRIC: old, "version": active.version}
    else:
        old = active.metrics.get("holdout", {}).get(GATE_METRIC)
    if old is None:
        return True, f"active version {active.version} has no holdout figures; activated"
    if new >= old * (1.0 - tolerance):
        return True, f"{GATE_METRIC} {new:.4f} vs active v{active.version} {old:.4f}: activated"
    return (
        False,
        f"{GATE_METRIC} {new:.4f} is worse than active v{active.version} {old:.4f} beyond {tolerance:.0%}: kept inactive",
    )
