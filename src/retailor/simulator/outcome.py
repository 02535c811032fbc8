"""What a run records: each online visit of the experiment, and the run's totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Visit:
    """One online visit's outcome, as the experiment measures it."""

    day: int
    person: int
    arm: str
    offer_arm: str
    channel: str
    shown: int = 0
    clicks: int = 0
    views: int = 0
    carted: bool = False
    ordered: bool = False
    revenue: float = 0.0  # what the shopper paid (net of an offer's discount)
    basket: float = 0.0  # the order lines' value (quantity x price), before any discount
    margin: float = 0.0
    offer_id: str | None = None
    redeemed: bool = False
    offer_cost: float = 0.0
    #: expected redemptions lost against the oracle's choice (visits offered something)
    regret: float | None = None


@dataclass
class Outcome:
    """Everything a run produced."""

    visits: list[Visit] = field(default_factory=list)
    events: int = 0
    store_revenue: float = 0.0
    store_orders: int = 0
    history_visits: int = 0
    history_orders: int = 0
    errors: list[str] = field(default_factory=list)
    trained: list[int] = field(default_factory=list)  # days on which models were trained
    #: per experiment, each exposed shopper's variant as Retailor assigned it at the
    #: shopper's first exposure, and when that was (simulated time)
    exposures: dict[str, dict[int, tuple[str, datetime]]] = field(default_factory=dict)
    #: every order of the experiment (online and in store): shopper, time, revenue
    orders: list[tuple[int, datetime, float]] = field(default_factory=list)
    #: Retailor's results of the simulation's experiments (read at the end of the run)
    results: dict[str, Any] = field(default_factory=dict)

    def assigned(self, experiment: str) -> dict[int, str]:
        """Each exposed shopper's variant in ``experiment``."""
        return {p: v for p, (v, _) in self.exposures.get(experiment, {}).items()}
