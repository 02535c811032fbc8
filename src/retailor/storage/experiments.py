"""The exposure store's port: the first exposure of each unit to each phase of each
experiment (and to the global holdout, under the experiment id ``holdout``), which makes
assignment sticky across a login and gives an experiment's results their units.

Its contract is in :class:`ExposureStore`'s docstrings; ``tests/contract/test_exposures.py``
runs one suite against every adapter (memory, DuckDB, PostgreSQL)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from retailor.domain.experiments import Assignment


class ExposureStore(ABC):
    """First exposures, one per ``(experiment_id, phase, unit)``.

    Contract:
    - ``record(first)`` keeps ``first`` when the store holds nothing for its
      ``(experiment_id, phase, unit)`` and returns it; otherwise it returns the stored
      assignment unchanged (the first one wins, also when processes race to record it).
      Durable when it returns.
    - ``find(experiment_id, phase, identifiers)`` returns the earliest stored assignment
      (by ``first_exposure_at``, then unit) of that phase whose unit is one of
      ``identifiers`` (the identifiers of one identity cluster: canonical customer ids
      and ``a:``-prefixed visitor ids), or None. Another process's records are found.
    - ``units(experiment_id, phase=None)`` returns every assignment of the experiment (of
      one phase when given), oldest first (``first_exposure_at``, then unit).
    - ``delete(experiment_id)`` removes every assignment of the experiment, all phases,
      and returns how many.
    - Times come back as aware UTC datetimes, to the microsecond.
    """

    @abstractmethod
    def record(self, first: Assignment) -> Assignment:
        """Keep a first exposure, or return the one kept before (see the contract)."""

    @abstractmethod
    def find(self, experiment_id: str, phase: int, identifiers: Sequence[str]) -> Assignment | None:
        """The earliest assignment of any of ``identifiers`` (see the contract)."""

    @abstractmethod
    def units(self, experiment_id: str, phase: int | None = None) -> list[Assignment]:
        """Every assignment of the experiment, oldest first."""

    @abstractmethod
    def delete(self, experiment_id: str) -> int:
        """Remove the experiment's assignments; how many."""

    @abstractmethod
    def naming(self, units: Sequence[str]) -> list[Assignment]:
        """Every assignment, of any experiment, whose unit is one of ``units``, oldest
        first, then by unit, experiment and phase (what one person was assigned to)."""

    @abstractmethod
    def erase(self, units: Sequence[str]) -> int:
        """Remove the assignments ``naming(units)`` returns; how many."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


def earliest(found: Sequence[Assignment]) -> Assignment | None:
    """The first of ``found`` by exposure time, then unit (None when empty)."""
    return min(found, key=lambda a: (a.first_exposure_at, a.unit), default=None)
