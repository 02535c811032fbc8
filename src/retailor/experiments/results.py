"""An experiment's results: from exposed units, orders and interactions to per-variant
summary statistics and the comparisons against the control.

The unit of analysis is the person: every unit (a customer id, or a visitor ``a:…``) is
mapped to its cluster's canonical id by the caller's ``canonical``, so a visitor who logged
in after exposure is credited with the orders placed under the login. A person exposed
under two units (two visitors later found to be one customer) counts once, in the variant
of the earliest exposure; the answer says how many such units were folded.

Per unit, from its first exposure to the end of the analysis window, zeros included:

- ``conversion``: 1 when the person ordered, else 0;
- ``revenue``: the revenue of those orders (net of refunds, as the caller gives it);
- ``clicks``: clicks on the experiment's decisions for that person;
- ``redemptions``: offers of the experiment's decisions that the person redeemed;
- ``aov``: revenue per order, a ratio metric (numerator revenue, denominator orders).

When the analysis has a pre-exposure period (``pre_days`` > 0 and the logs reach back
before the first exposure), every metric but ``aov`` also gets CUPED-adjusted figures, its
covariate being the same metric over the ``pre_days`` before the unit's first exposure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from retailor.experiments.statistics import analyse
from retailor.experiments.summary import MetricSummary

Canonical = Callable[[str], str]
PLAIN_METRICS = ("conversion", "revenue", "clicks", "redemptions")
METRICS = (*PLAIN_METRICS, "aov")
DEFAULT_PRE_DAYS = 14


@dataclass(frozen=True, slots=True)
class UnitExposure:
    """A unit's first exposure to the experiment (in the analysed phase) and its variant."""

    unit: str
    variant: str
    first_exposure_at: datetime


@dataclass(frozen=True, slots=True)
class PersonOrder:
    """An order by whoever the identifiers name (customer id and/or ``a:`` visitor id)."""

    order_id: str
    at: datetime
    identifiers: tuple[str, ...]
    revenue: float


@dataclass(frozen=True, slots=True)
class Interaction:
    """A click on, or an offer redeemed from, one of the experiment's decisions."""

    at: datetime
    identifiers: tuple[str, ...]
    kind: Literal["clicked", "redeemed"]


@dataclass(slots=True)
class _Person:
    variant: str
    first_exposure_at: datetime
    orders: int = 0
    revenue: float = 0.0
    clicks: int = 0
    redemptions: int = 0
    pre_orders: int = 0
    pre_revenue: float = 0.0
    pre_clicks: int = 0
    pre_redemptions: int = 0

    def post(self, metric: str) -> float:
        if metric == "conversion":
            return 1.0 if self.orders else 0.0
        value: float = getattr(self, metric)
        return value

    def pre(self, metric: str) -> float:
        if metric == "conversion":
            return 1.0 if self.pre_orders else 0.0
        value: float = getattr(self, f"pre_{metric}")
        return value


@dataclass
class UnitTable:
    """Every analysed person's variant and metric values; ``folded`` counts units merged
    into an earlier-exposed unit of the same person."""

    people: dict[str, _Person] = field(default_factory=dict)
    folded: int = 0

    def units(self, variant: str) -> int:
        return sum(1 for p in self.people.values() if p.variant == variant)


def _person(identifiers: Sequence[str], canonical: Canonical) -> str | None:
    for identifier in identifiers:
        if identifier:
            return canonical(identifier)
    return None


def unit_table(
    exposures: Iterable[UnitExposure],
    orders: Iterable[PersonOrder],
    interactions: Iterable[Interaction],
    canonical: Canonical,
    *,
    end: datetime,
    pre_days: int = DEFAULT_PRE_DAYS,
) -> UnitTable:
    """Fold exposures, orders and interactions into per-person metric values."""
    table = UnitTable()
    for exposure in sorted(exposures, key=lambda e: (e.first_exposure_at, e.unit)):
        person = canonical(exposure.unit)
        if person in table.people:
            table.folded += 1
            continue
        table.people[person] = _Person(exposure.variant, exposure.first_exposure_at)
    pre = timedelta(days=pre_days)
    seen_orders: set[str] = set()
    for order in orders:
        if order.order_id in seen_orders:
            continue
        seen_orders.add(order.order_id)
        key = _person(order.identifiers, canonical)
        who = table.people.get(key) if key is not None else None
        if who is None or order.at > end:
            continue
        if order.at >= who.first_exposure_at:
            who.orders += 1
            who.revenue += order.revenue
        elif pre_days > 0 and order.at >= who.first_exposure_at - pre:
            who.pre_orders += 1
            who.pre_revenue += order.revenue
    for event in interactions:
        key = _person(event.identifiers, canonical)
        who = table.people.get(key) if key is not None else None
        if who is None or event.at > end:
            continue
        after = event.at >= who.first_exposure_at
        if not after and not (pre_days > 0 and event.at >= who.first_exposure_at - pre):
            continue
        name = "clicks" if event.kind == "clicked" else "redemptions"
        attribute = name if after else f"pre_{name}"
        setattr(who, attribute, getattr(who, attribute) + 1)
    return table


def summaries(
    table: UnitTable, variants: Sequence[str], *, covariates: bool
) -> dict[str, dict[str, MetricSummary]]:
    """Each variant's summary statistics per metric (with the pre-exposure covariate on the
    plain metrics when ``covariates``)."""
    sums: dict[str, dict[str, list[float]]] = {v: defaultdict(lambda: [0.0] * 6) for v in variants}
    counts: dict[str, int] = dict.fromkeys(variants, 0)
    for person in table.people.values():
        if person.variant not in sums:
            continue
        counts[person.variant] += 1
        row = sums[person.variant]
        for metric in PLAIN_METRICS:
            x, c = person.post(metric), person.pre(metric)
            acc = row[metric]
            acc[0] += x
            acc[1] += x * x
            acc[2] += c
            acc[3] += c * c
            acc[4] += x * c
        revenue, orders = float(person.revenue), float(person.orders)
        acc = row["aov"]
        acc[0] += revenue
        acc[1] += revenue * revenue
        acc[2] += orders
        acc[3] += orders * orders
        acc[4] += revenue * orders
    out: dict[str, dict[str, MetricSummary]] = {}
    for variant in variants:
        n, row = counts[variant], sums[variant]
        metrics: dict[str, MetricSummary] = {}
        for metric in PLAIN_METRICS:
            s = row[metric]
            if covariates:
                metrics[metric] = MetricSummary(
                    n=n, sum=s[0], sum_squares=s[1],
                    covariate_sum=s[2], covariate_sum_squares=s[3], covariate_cross_sum=s[4],
                )  # fmt: skip
            else:
                metrics[metric] = MetricSummary(n=n, sum=s[0], sum_squares=s[1])
        s = row["aov"]
        metrics["aov"] = MetricSummary(
            n=n, sum=s[0], sum_squares=s[1],
            denominator_sum=s[2], denominator_sum_squares=s[3], denominator_cross_sum=s[4],
        )  # fmt: skip
        out[variant] = metrics
    return out


def _described(summary: MetricSummary) -> dict[str, Any]:
    described: dict[str, Any] = {
        "n": summary.n,
        "sum": summary.sum,
        "sum_squares": summary.sum_squares,
        "mean": summary.mean,
    }
    if summary.is_ratio:
        described["denominator_sum"] = summary.denominator_sum
        described["denominator_sum_squares"] = summary.denominator_sum_squares
        described["denominator_cross_sum"] = summary.denominator_cross_sum
    return described


def results(
    table: UnitTable,
    *,
    variants: Sequence[str],
    weights: Mapping[str, float],
    control: str,
    with_cuped: bool,
) -> dict[str, Any]:
    """The results document: ``variants`` (units and summary statistics), ``comparisons``
    (every non-control variant on every metric), ``srm_p_value`` and ``warnings``."""
    plain = summaries(table, variants, covariates=False)
    units = {v: table.units(v) for v in variants}
    analysed = analyse(plain, control=control, units=units, weights=weights)
    adjusted: dict[str, Any] | None = None
    if with_cuped:
        covariate = summaries(table, variants, covariates=True)
        for variant in variants:
            covariate[variant].pop("aov")
        adjusted = analyse(covariate, control=control, units=units, weights=weights)["variants"]
    comparisons: list[dict[str, Any]] = []
    for variant, metrics in analysed["variants"].items():
        for metric, figures in metrics.items():
            entry: dict[str, Any] = {
                "variant": variant,
                "metric": metric,
                "control_mean": figures["control_mean"],
                "variant_mean": figures["variant_mean"],
                "absolute": figures["absolute"],
                "relative": figures["relative"],
                "sequential": figures["sequential"],
                "chance_to_win": figures["chance_to_win"],
                "warnings": figures["warnings"],
            }
            cuped = (adjusted or {}).get(variant, {}).get(metric)
            if cuped is not None and cuped["cuped"]:
                entry["cuped"] = {
                    "theta": cuped["theta"],
                    "absolute": cuped["absolute"],
                    "relative": cuped["relative"],
                    "sequential": cuped["sequential"],
                    "chance_to_win": cuped["chance_to_win"],
                }
            comparisons.append(entry)
    warnings = list(analysed["warnings"])
    if table.folded:
        warnings.append(
            f"{table.folded} unit(s) turned out to be a person exposed earlier under another "
            "identifier and were counted once, in the earlier variant"
        )
    return {
        "control": control,
        "variants": [
            {
                "id": v,
                "weight": weights[v],
                "units": units[v],
                "metrics": {m: _described(s) for m, s in plain[v].items()},
            }
            for v in variants
        ],
        "comparisons": comparisons,
        "srm_p_value": analysed["srm_p_value"],
        "warnings": warnings,
    }
