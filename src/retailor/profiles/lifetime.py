"""Lifetime value for every profile: the per-customer summary the models need, training
both models on the base, and the predictions shown among a profile's traits.

A transaction is a day with at least one order not cancelled; ``x`` counts repeat
transaction days, ``t_x`` the weeks from the first to the last, ``T`` the weeks from the
first to the newest event Retailor has seen, ``m_x`` the mean value of the repeat days.
The 12-month value is expected transactions in the next 52 weeks times expected spend
per transaction (undiscounted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from retailor.profiles.clv import (
    BGNBD,
    GammaGamma,
    bgnbd_log_likelihood,
    fit_bgnbd,
    fit_gamma_gamma,
)
from retailor.profiles.state import ProfileState

WEEK = 7 * 86_400.0


def summary(state: ProfileState, as_of: datetime) -> tuple[float, float, float, float] | None:
    """(x, t_x, T, m_x) of one customer in weeks, or None without any live order."""
    days: dict[int, float] = {}
    for order in state.live_orders().values():
        day = int(order.at.timestamp() // 86_400)
        days[day] = days.get(day, 0.0) + order.revenue
    if not days:
        return None
    ordered = sorted(days)
    first = ordered[0] * 86_400.0
    x = float(len(ordered) - 1)
    t_x = (ordered[-1] * 86_400.0 - first) / WEEK
    T = max(t_x, (as_of.timestamp() - first) / WEEK)
    repeat = [days[d] for d in ordered[1:]]
    m_x = float(np.mean(repeat)) if repeat else 0.0
    return x, t_x, T, m_x


@dataclass(frozen=True)
class LifetimeModel:
    """Fitted BG/NBD and Gamma-Gamma models."""

    frequency: BGNBD
    spend: GammaGamma | None
    mean_spend: float

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {"r": self.frequency.r, "alpha": self.frequency.alpha,
                                  "a": self.frequency.a, "b": self.frequency.b, "mean_spend": self.mean_spend}  # fmt: skip
        if self.spend is not None:
            values.update({"p": self.spend.p, "q": self.spend.q, "v": self.spend.v})
        return values

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> LifetimeModel:
        spend = GammaGamma(p=params["p"], q=params["q"], v=params["v"]) if "p" in params else None
        return cls(
            BGNBD(r=params["r"], alpha=params["alpha"], a=params["a"], b=params["b"]),
            spend,
            params["mean_spend"],
        )

    def predict(self, state: ProfileState, as_of: datetime) -> dict[str, float] | None:
        found = summary(state, as_of)
        if found is None:
            return None
        x, t_x, T, m_x = (np.array([v]) for v in found)
        alive = float(self.frequency.probability_alive(x, t_x, T)[0])
        in_90_days = float(self.frequency.expected_purchases(90 / 7, x, t_x, T)[0])
        in_a_year = float(self.frequency.expected_purchases(52.0, x, t_x, T)[0])
        spend = (
            float(self.spend.expected_spend(x, m_x, self.mean_spend)[0])
            if self.spend
            else self.mean_spend
        )
        return {
            "expected_purchases_90d": round(in_90_days, 4),
            "probability_alive": round(alive, 4),
            "churn_risk": round(1 - alive, 4),
            "expected_spend_per_purchase": round(spend, 2),
            "predicted_value_12m": round(in_a_year * spend, 2),
        }


def train_lifetime(
    states: Iterable[ProfileState], as_of: datetime
) -> tuple[LifetimeModel, dict[str, Any]]:
    """Fit both models on every customer with an order; metrics describe the fit."""
    rows = [s for s in (summary(state, as_of) for state in states) if s is not None]
    if len(rows) < 3:
        raise ValueError(
            f"lifetime value needs at least 3 customers with orders, found {len(rows)}"
        )
    x, t_x, T, m_x = (np.array(column) for column in zip(*rows, strict=True))
    frequency = fit_bgnbd(x, t_x, T)
    repeaters = int(np.sum((x > 0) & (m_x > 0)))
    spend = fit_gamma_gamma(x, m_x) if repeaters >= 3 else None
    first_values = float(np.mean(m_x[x > 0])) if repeaters else 0.0
    mean_spend = (
        spend.population_mean
        if spend is not None and np.isfinite(spend.population_mean)
        else first_values
    )
    metrics = {
        "customers": len(rows),
        "repeat_customers": repeaters,
        "log_likelihood": bgnbd_log_likelihood(
            np.array([frequency.r, frequency.alpha, frequency.a, frequency.b]), x, t_x, T
        ),
        "as_of": as_of.isoformat(),
        "time_unit": "week",
    }
    return LifetimeModel(frequency, spend, float(mean_spend)), metrics
