"""What a closed-loop run shows: per-arm figures with 95 % intervals, the bandit's regret
against the oracle, daily revenue per visitor, and a plot of it.

Intervals are percentile bootstraps over visitors (a visitor's visits stay together, so
repeat visits do not make the intervals look narrower than they are).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from retailor.simulator.arms import (
    OFFER_ARMS,
    OFFER_EXPERIMENT,
    RECOMMENDATION_ARMS,
    RECOMMENDATION_EXPERIMENT,
)
from retailor.simulator.outcome import Outcome, Visit
from retailor.simulator.truth import retailor_results
from retailor.simulator.world import World

BOOTSTRAP = 1_000


def estimate(
    numerator: np.ndarray, denominator: np.ndarray, rng: np.random.Generator
) -> dict[str, Any]:
    """``sum(numerator) / sum(denominator)`` over visitors, with a bootstrap 95 % interval."""
    n = len(numerator)
    if n == 0 or denominator.sum() == 0:
        return {"mean": 0.0, "ci95": [0.0, 0.0]}
    mean = float(numerator.sum() / denominator.sum())
    draws = rng.integers(0, n, (BOOTSTRAP, n))
    num = numerator[draws].sum(axis=1)
    den = denominator[draws].sum(axis=1)
    ratios = num[den > 0] / den[den > 0]
    low, high = np.percentile(ratios, [2.5, 97.5])
    return {"mean": round(mean, 4), "ci95": [round(float(low), 4), round(float(high), 4)]}


def _per_visitor(visits: list[Visit], fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Sums per visitor of each field (booleans count), plus ``visits`` and ``ones``."""
    people: dict[int, list[float]] = defaultdict(lambda: [0.0] * (len(fields) + 1))
    for v in visits:
        row = people[v.person]
        row[0] += 1
        for j, name in enumerate(fields, start=1):
            value = getattr(v, name)
            row[j] += float(value or 0.0)
    table = np.array(list(people.values()), dtype=float).reshape(-1, len(fields) + 1)
    out = {"visits": table[:, 0], "ones": np.ones(len(table))}
    for j, name in enumerate(fields, start=1):
        out[name] = table[:, j]
    return out


FIELDS = ("shown", "clicks", "ordered", "revenue", "offer_cost", "margin", "carted", "redeemed")


def ratio_interval(ours: np.ndarray, theirs: np.ndarray, rng: np.random.Generator) -> list[float]:
    """95 % bootstrap interval of ``mean(ours) / mean(theirs)`` (each arm resampled on its own)."""
    if not len(ours) or not len(theirs):
        return [0.0, 0.0]
    a = ours[rng.integers(0, len(ours), (BOOTSTRAP, len(ours)))].mean(axis=1)
    b = theirs[rng.integers(0, len(theirs), (BOOTSTRAP, len(theirs)))].mean(axis=1)
    ratios = a[b > 0] / b[b > 0]
    if not len(ratios):
        return [0.0, 0.0]
    low, high = np.percentile(ratios, [2.5, 97.5])
    return [round(float(low), 3), round(float(high), 3)]


def revenue_per_person(visits: list[Visit], people: list[int]) -> np.ndarray:
    """Revenue of each of ``people`` (zero for those who never came)."""
    revenue: dict[int, float] = defaultdict(float)
    for v in visits:
        revenue[v.person] += v.revenue
    return np.array([revenue.get(p, 0.0) for p in people])


def arm_figures(
    visits: list[Visit], rng: np.random.Generator, shoppers: list[int] | None = None
) -> dict[str, Any]:
    """Click-through, conversion, revenue, offer cost and margin (per visitor) of a group;
    with ``shoppers`` (everyone assigned to it), also revenue per assigned shopper."""
    t = _per_visitor(visits, FIELDS)
    figures = {
        "visitors": len(t["ones"]),
        "visits": int(t["visits"].sum()),
        "click_through": estimate(t["clicks"], t["shown"], rng),
        "conversion": estimate(t["ordered"], t["visits"], rng),
        "revenue_per_visitor": estimate(t["revenue"], t["ones"], rng),
        "offer_cost": estimate(t["offer_cost"], t["ones"], rng),
        "margin": estimate(t["margin"], t["ones"], rng),
    }
    if shoppers is not None:
        figures["shoppers"] = len(shoppers)
        every = revenue_per_person(visits, shoppers)
        figures["revenue_per_shopper"] = estimate(every, np.ones(len(every)), rng)
    return figures


def offer_figures(visits: list[Visit], rng: np.random.Generator) -> dict[str, Any]:
    figures = arm_figures(visits, rng)
    offered = [v for v in visits if v.offer_id is not None]
    o = _per_visitor(offered, (*FIELDS, "regret"))
    figures["offers_shown"] = len(offered)
    figures["redemption_rate"] = estimate(o["redeemed"], o["visits"], rng)
    figures["regret_per_offer"] = estimate(o["regret"], o["visits"], rng)
    chosen: dict[str, int] = defaultdict(int)
    for v in offered:
        chosen[str(v.offer_id)] += 1
    figures["chosen"] = dict(sorted(chosen.items()))
    return figures


def daily(visits: list[Visit], key: str, days: list[int]) -> dict[str, list[float | None]]:
    """Revenue per visitor per day of each group named by ``key`` (``arm``/``offer_arm``)."""
    revenue: dict[tuple[str, int], float] = defaultdict(float)
    people: dict[tuple[str, int], set[int]] = defaultdict(set)
    for v in visits:
        group = getattr(v, key)
        revenue[group, v.day] += v.revenue
        people[group, v.day].add(v.person)
    groups = sorted({getattr(v, key) for v in visits})
    return {
        g: [round(revenue[g, d] / len(people[g, d]), 3) if people[g, d] else None for d in days]
        for g in groups
    }


def regret_curve(visits: list[Visit], days: list[int], rng: np.random.Generator) -> dict[str, Any]:
    """The bandit's regret against the oracle: per day (mean per offer shown), cumulative,
    and whether the later days regret less than the first ones."""
    curves: dict[str, Any] = {}
    by_day: dict[str, dict[int, list[float]]] = {
        "bandit": defaultdict(list),
        "random": defaultdict(list),
    }
    for v in visits:
        if v.regret is not None and v.offer_arm in by_day:
            by_day[v.offer_arm][v.day].append(float(v.regret))
    for arm, regrets in by_day.items():
        total = 0.0
        cumulative: list[float] = []
        for d in days:
            total += sum(regrets[d])
            cumulative.append(round(total, 3))
        curves[arm] = {
            "per_day": [round(float(np.mean(regrets[d])), 4) if regrets[d] else None for d in days],
            "offers_per_day": [len(regrets[d]) for d in days],
            "cumulative": cumulative,
        }
    third = max(1, len(days) // 3)
    first = np.array([r for d in days[:third] for r in by_day["bandit"][d]])
    last = np.array([r for d in days[-third:] for r in by_day["bandit"][d]])
    curves["unit"] = "expected redemptions lost per offer shown, against the oracle's choice"
    curves["first_third_mean"] = round(float(first.mean()), 4) if len(first) else 0.0
    curves["last_third_mean"] = round(float(last.mean()), 4) if len(last) else 0.0
    if len(days) >= 3 and len(first) and len(last):
        low, high = _difference_interval(last, first, rng)
        curves["last_minus_first_ci95"] = [round(low, 4), round(high, 4)]
        # falling: the last third's regret is below the first third's beyond the noise
        curves["falling"] = high < 0
    else:  # too few days (or offers) to compare the start with the end
        curves["last_minus_first_ci95"] = None
        curves["falling"] = None
    return curves


def _difference_interval(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator
) -> tuple[float, float]:
    """95 % bootstrap interval of ``mean(a) - mean(b)`` (resampling the offers)."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    da = a[rng.integers(0, len(a), (BOOTSTRAP, len(a)))].mean(axis=1)
    db = b[rng.integers(0, len(b), (BOOTSTRAP, len(b)))].mean(axis=1)
    low, high = np.percentile(da - db, [2.5, 97.5])
    return float(low), float(high)


def build_report(world: World, outcome: Outcome, elapsed: float, mode: str) -> dict[str, Any]:
    """The JSON document ``retailor simulate --json`` prints."""
    rng = np.random.default_rng([world.seed, 0xB007])
    visits = outcome.visits
    days = sorted({v.day for v in visits})
    shoppers: dict[str, list[int]] = defaultdict(list)
    for person, arm in outcome.assigned(RECOMMENDATION_EXPERIMENT).items():
        shoppers[arm].append(person)
    arms = {
        a: arm_figures([v for v in visits if v.arm == a], rng, shoppers[a])
        for a in RECOMMENDATION_ARMS
    }
    per_visitor = {a: _per_visitor([v for v in visits if v.arm == a], FIELDS)["revenue"]
                   for a in RECOMMENDATION_ARMS}  # fmt: skip
    per_shopper = {a: revenue_per_person(visits, shoppers[a]) for a in RECOMMENDATION_ARMS}
    offers = {a: offer_figures([v for v in visits if v.offer_arm == a], rng) for a in OFFER_ARMS}
    scale = world.scale
    return {
        "seed": world.seed,
        "mode": mode,
        "scale": {
            "customers": scale.customers,
            "items": scale.items,
            "stores": scale.stores,
            "history_days": scale.history_days,
            "experiment_days": scale.days,
        },
        "arms": arms,
        "lift": {
            other: _lift(
                arms["retailor"]["revenue_per_visitor"],
                arms[other]["revenue_per_visitor"],
                ratio_interval(per_visitor["retailor"], per_visitor[other], rng),
                ratio_interval(per_shopper["retailor"], per_shopper[other], rng),
            )
            for other in RECOMMENDATION_ARMS[1:]
        },
        "retailor_results": {
            name: retailor_results(outcome, name)
            for name in (RECOMMENDATION_EXPERIMENT, OFFER_EXPERIMENT)
            if name in outcome.results
        },
        "funnel": funnel(visits),
        "offers": {
            "arms": offers,
            "regret": regret_curve(visits, days, rng),
        },
        "daily_revenue_per_visitor": {
            "days": [world.day_start(d).date().isoformat() for d in days],
            "arms": daily(visits, "arm", days),
            "offer_arms": daily(visits, "offer_arm", days),
        },
        "totals": {
            "events_sent": outcome.events,
            "history_visits": outcome.history_visits,
            "history_orders": outcome.history_orders,
            "experiment_visits": len(visits),
            "experiment_orders": sum(v.ordered for v in visits),
            "store_orders": outcome.store_orders,
            "store_revenue": round(outcome.store_revenue, 2),
            "models_trained_on_days": outcome.trained,
        },
        "errors": outcome.errors[:20],
        "error_count": len(outcome.errors),
        "elapsed_seconds": round(elapsed, 1),
    }


def _lift(
    ours: dict[str, Any], theirs: dict[str, Any], interval: list[float], per_shopper: list[float]
) -> dict[str, Any]:
    ratio = ours["mean"] / theirs["mean"] if theirs["mean"] else None
    return {
        "revenue_per_visitor_ratio": round(ratio, 3) if ratio is not None else None,
        "ratio_ci95": interval,
        "revenue_per_shopper_ratio_ci95": per_shopper,
        "intervals_overlap": not (
            ours["ci95"][0] > theirs["ci95"][1] or theirs["ci95"][0] > ours["ci95"][1]
        ),
    }


def plot(report: dict[str, Any], path: Path) -> None:
    """Revenue per visitor per arm over the simulated days, and the bandit's regret."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = report["daily_revenue_per_visitor"]
    days = list(range(1, len(series["days"]) + 1))
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 7.5), dpi=110, gridspec_kw={"height_ratios": [3, 2]}
    )
    names = {"retailor": "Retailor", "popularity": "popularity only", "random": "random items",
             "none": "no recommendations"}  # fmt: skip
    peak = 0.0
    for arm, values in series["arms"].items():
        mean = report["arms"][arm]["revenue_per_visitor"]
        points = [np.nan if v is None else v for v in values]
        peak = max([peak, *[v for v in values if v is not None]])
        top.plot(days, points, marker="o", ms=3,
                 label=f"{names.get(arm, arm)}: {mean['mean']:.2f} per visitor over the run")  # fmt: skip
    top.set_ylim(0, peak * 1.45 if peak else 1)
    top.legend(loc="upper center", ncol=2, fontsize="small")
    top.set_title("Simulated retailer: revenue per visitor per day, by arm")
    top.set_xlabel("experiment day")
    top.set_ylabel("revenue per visitor that day")
    top.grid(alpha=0.3)
    regret = report["offers"]["regret"]
    for arm, style in (("bandit", "-"), ("random", "--")):
        values = regret[arm]["per_day"]
        bottom.plot(days, [np.nan if v is None else v for v in values], style, marker="o", ms=3,
                    label=f"{'Retailor bandit' if arm == 'bandit' else 'random offer'}")  # fmt: skip
    bottom.set_title("Offers: regret against the oracle (expected redemptions lost per offer)")
    bottom.set_xlabel("experiment day")
    bottom.set_ylabel("regret per offer")
    bottom.grid(alpha=0.3)
    bottom.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def funnel(visits: list[Visit]) -> dict[str, float]:
    """Views per visit, and the shares of visits that cart and that buy (see
    ``shopper.FUNNEL_RANGES``)."""
    n = max(1, len(visits))
    carted = sum(v.carted for v in visits)
    ordered = sum(v.ordered for v in visits)
    return {
        "views_per_visit": round(sum(v.views for v in visits) / n, 3),
        "cart_rate": round(carted / n, 4),
        "conversion": round(ordered / n, 4),
        "checkout_given_cart": round(ordered / max(1, carted), 4),
    }
