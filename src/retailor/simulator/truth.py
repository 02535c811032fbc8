"""The simulation's ground truth beside Retailor's own results of its experiments.

The shop knows every shopper's variant (from Retailor's answers), when each was first
exposed, and every order they placed afterwards — online and in store, whether Retailor
could tell who placed it or not — valued as Retailor values revenue: the order lines'
quantity times price, before an offer's discount. From that it computes, per variant, the true conversion
and revenue per exposed shopper, and checks that each true effect against the control lies
within Retailor's 95 % interval of the absolute effect.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from retailor.simulator.outcome import Outcome

#: The metrics whose truth the shop knows exactly.
TRUE_METRICS = ("conversion", "revenue")


def true_means(outcome: Outcome, experiment: str) -> dict[str, dict[str, Any]]:
    """Per variant: exposed shoppers and the mean of each true metric per shopper, counted
    from each shopper's first exposure on."""
    exposed = outcome.exposures.get(experiment, {})
    revenue: dict[int, float] = defaultdict(float)
    ordered: set[int] = set()
    for person, at, amount in outcome.orders:
        first = exposed.get(person)
        if first is not None and at >= first[1]:
            revenue[person] += amount
            ordered.add(person)
    people: dict[str, list[int]] = defaultdict(list)
    for person, (variant, _) in exposed.items():
        people[variant].append(person)
    means: dict[str, dict[str, Any]] = {}
    for variant, members in people.items():
        n = len(members)
        means[variant] = {
            "shoppers": n,
            "conversion": sum(p in ordered for p in members) / n,
            "revenue": sum(revenue[p] for p in members) / n,
        }
    return means


def retailor_results(outcome: Outcome, experiment: str) -> dict[str, Any]:
    """Retailor's results of ``experiment`` (units, SRM, the effects on the true metrics)
    beside the truth, and whether each true effect lies within Retailor's interval."""
    results = outcome.results[experiment]
    truth = true_means(outcome, experiment)
    control = results["control"]
    checks: list[dict[str, Any]] = []
    for comparison in results["comparisons"]:
        metric, variant = comparison["metric"], comparison["variant"]
        if metric not in TRUE_METRICS or variant not in truth or control not in truth:
            continue
        effect = truth[variant][metric] - truth[control][metric]
        low, high = comparison["absolute"]["ci95"]
        checks.append(
            {
                "variant": variant,
                "metric": metric,
                "true_effect": round(effect, 6),
                "retailor_effect": comparison["absolute"]["effect"],
                "retailor_ci95": [low, high],
                "within_ci95": low <= effect <= high,
            }
        )
    return {
        "control": control,
        "units": {v["id"]: v["units"] for v in results["variants"]},
        "true_shoppers": {v: t["shoppers"] for v, t in truth.items()},
        "srm_p_value": results["srm_p_value"],
        "warnings": results["warnings"],
        "checks": checks,
        "all_within_ci95": all(c["within_ci95"] for c in checks),
    }
