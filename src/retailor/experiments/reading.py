"""Reading an experiment's results from the stores: its exposed units from the exposure
store, the orders and the clicked or redeemed decisions from the report facts, and who is
who from the caller's ``canonical`` (the identity graph). The arithmetic is
``experiments.results``'.

The analysis covers one phase (the current one unless asked), every unit from its first
exposure to ``end`` (default: now); orders in the ``pre_days`` before a unit's first
exposure feed the CUPED covariate. The global holdout reads the same way, as the
experiment ``holdout`` with the variants ``holdout`` (the control) and ``personalized``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from retailor.domain.experiments import HOLDOUT_ID, Experiment, Holdout
from retailor.experiments.results import (
    DEFAULT_PRE_DAYS,
    Canonical,
    Interaction,
    PersonOrder,
    UnitExposure,
    results,
    unit_table,
)
from retailor.storage.experiments import ExposureStore
from retailor.storage.facts import FactStore

HELD_OUT, PERSONALIZED = "holdout", "personalized"
#: The longest pre-exposure period a reader may ask for.
MAX_PRE_DAYS = 90


class ResultsError(ValueError):
    """A results request that cannot be answered as asked."""


class UnknownPhaseError(ResultsError, LookupError):
    """The experiment never had the phase asked for."""


@dataclass(frozen=True)
class Design:
    """What the analysis needs of a definition: the id, the phase in force, the variants
    in order with their weights, and the control."""

    experiment_id: str
    phase: int
    weights: dict[str, float]
    control: str
    status: str = "running"

    @classmethod
    def of_experiment(cls, experiment: Experiment) -> Design:
        return cls(
            experiment.experiment_id,
            experiment.phase,
            dict(experiment.split()),
            experiment.control,
            experiment.status,
        )

    @classmethod
    def of_holdout(cls, holdout: Holdout) -> Design:
        share = holdout.share
        return cls(HOLDOUT_ID, holdout.phase, {HELD_OUT: share, PERSONALIZED: 1 - share}, HELD_OUT)


def _identifiers(customer: str | None, anonymous_id: str | None) -> tuple[str, ...]:
    return tuple(
        x for x in (customer, f"a:{anonymous_id}" if anonymous_id else None) if x is not None
    )


class ExperimentResults:
    """Answers ``results(design, …)`` from the stores (see the module docstring).
    ``refresh`` brings the report facts up to date first, where this process can, and
    answers when they were last brought up to date."""

    def __init__(
        self,
        exposures: ExposureStore,
        facts: FactStore,
        canonical: Canonical,
        refresh: Callable[[], datetime | None] | None = None,
        wait_exposures: Callable[[], object] | None = None,
    ) -> None:
        self.exposures, self.facts, self.canonical = exposures, facts, canonical
        self._refresh, self._wait_exposures = refresh, wait_exposures

    def results(
        self,
        design: Design,
        *,
        phase: int | None = None,
        end: datetime | None = None,
        pre_days: int = DEFAULT_PRE_DAYS,
    ) -> dict[str, Any]:
        """The results document of one phase of an experiment (``ResultsError`` when the
        phase is not one it had)."""
        phase = design.phase if phase is None else phase
        if not 1 <= phase <= design.phase:
            raise UnknownPhaseError(
                f"phase must be between 1 and {design.phase} (the current phase), not {phase}"
            )
        if not 0 <= pre_days <= MAX_PRE_DAYS:
            raise ResultsError(f"pre_days must be between 0 and {MAX_PRE_DAYS}, not {pre_days}")
        if self._wait_exposures is not None:
            self._wait_exposures()
        as_of = self._refresh() if self._refresh is not None else None
        end = end or datetime.now(UTC)
        exposed = [
            UnitExposure(a.unit, a.variant, a.first_exposure_at)
            for a in self.exposures.units(design.experiment_id, phase)
        ]
        variants = list(design.weights)
        known = set(variants)
        strangers = sorted({e.variant for e in exposed} - known)
        exposed = [e for e in exposed if e.variant in known]
        first = min((e.first_exposure_at for e in exposed), default=end)
        pre_start = first - timedelta(days=pre_days)
        orders = list(self._orders(pre_start, end))
        with_pre = bool(exposed) and pre_days > 0 and any(o.at < first for o in orders)
        table = unit_table(
            exposed,
            orders,
            self._interactions(design.experiment_id, pre_start, end),
            self.canonical,
            end=end,
            pre_days=pre_days,
        )
        document = results(
            table,
            variants=variants,
            weights=design.weights,
            control=design.control,
            with_cuped=with_pre,
        )
        if strangers:
            document["warnings"].append(
                f"units in variants no longer defined were left out: {', '.join(strangers)}"
            )
        return {
            "experiment": design.experiment_id,
            "phase": phase,
            "status": design.status,
            "window": {"from": first if exposed else None, "to": end},
            "pre_days": pre_days,
            "cuped": with_pre,
            "as_of": as_of,
            **document,
        }

    def _orders(self, start: datetime, end: datetime) -> Iterator[PersonOrder]:
        for order in self.facts.orders_between(start, end):
            identifiers = _identifiers(order.customer_id, order.anonymous_id)
            if identifiers:
                yield PersonOrder(order.order_id, order.at, identifiers, order.revenue)

    def _interactions(
        self, experiment_id: str, start: datetime, end: datetime
    ) -> Sequence[Interaction]:
        found: list[Interaction] = []
        for activity in self.facts.experiment_activity(experiment_id, start, end):
            identifiers = _identifiers(activity.customer, activity.anonymous_id)
            found += [Interaction(activity.at, identifiers, "clicked")] * activity.clicks
            found += [Interaction(activity.at, identifiers, "redeemed")] * activity.redemptions
        return found
