"""What the experiments and the holdout do to one request: the unit's group, found or
assigned and recorded at its first exposure, and how that changes the decision.

:class:`ExposureTracker` keeps a decision's hot path fast on every backend: assignments
already seen are answered from a bounded in-process cache (any identifier of the person's
cluster hits); a miss asks the exposure store once (a dict look-up embedded, one query on
PostgreSQL); a unit exposed for the first time is given its variant by the deterministic
hash at once, and its first exposure is written by a background thread.

Writing behind the request loses no stickiness: the variant of a new unit is a pure
function of (experiment, phase, unit), so any worker that has not seen the write yet
computes the same variant for the same unit, and the store keeps the first exposure of
each unit whoever writes it. The one exception is a visitor who logs in: another worker
then looks for the visitor's exposure under the customer's cluster, so where workers share
the store (``visitors_at_once``) a visitor's first exposure is written before the answer
(one insert per new visitor and experiment); a customer's is always written behind. When
the store answers a write with a different first exposure (another worker's, earlier),
the cache takes the stored one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from retailor.decision.audience import Who
from retailor.decision.experiments import ExperimentBook, varied
from retailor.domain.decisions import DecidedExperiment, ExperimentAssignment
from retailor.domain.experiments import (
    HELD_OUT,
    HOLDOUT_ID,
    PERSONALIZED,
    Assignment,
    Experiment,
    Variant,
)
from retailor.domain.placements import Placement
from retailor.experiments.assignment import assign, held_out
from retailor.storage.experiments import ExposureStore, earliest

log = logging.getLogger("retailor.decisions")

#: How many assignments the in-process cache holds (the oldest go first).
CACHE_SIZE = 1_000_000
#: Seconds between two tries to write first exposures while the store fails.
RETRY_SECONDS = 1.0


class ExposureTracker:
    """Assignments found or made, cached, and first exposures written behind (see the
    module docstring). ``background=False`` writes each first exposure before answering."""

    def __init__(
        self,
        store: ExposureStore,
        *,
        background: bool = True,
        cache_size: int = CACHE_SIZE,
        visitors_at_once: bool = False,
    ) -> None:
        """``visitors_at_once``: write a visitor's first exposure before answering (many
        workers share the store: a login on another worker right after must find it)."""
        self.store = store
        self._visitors_at_once = visitors_at_once
        self._cache: dict[tuple[str, int, str], Assignment] = {}
        self._cache_size = cache_size
        self._pending: list[Assignment] = []
        self._cond = threading.Condition()
        self._queued = self._written = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._run, name="retailor-exposures", daemon=True
            )
            self._thread.start()

    def assignment(
        self,
        experiment_id: str,
        phase: int,
        unit: str,
        identifiers: Sequence[str],
        choose: Callable[[str], str],
        at: datetime | None = None,
    ) -> Assignment:
        """The person's assignment in this phase: the earliest one recorded under any of
        ``identifiers``, else a new one for ``unit`` with the variant ``choose(unit)``,
        first exposed ``at`` (the decision's time; default now)."""
        cache = self._cache
        hits = [a for i in identifiers if (a := cache.get((experiment_id, phase, i)))]
        if hits:
            return hits[0] if len(hits) == 1 else earliest(hits)  # type: ignore[return-value]
        found = self.store.find(experiment_id, phase, identifiers)
        if found is not None:
            self._remember(found)
            return found
        first = Assignment(
            experiment_id=experiment_id,
            phase=phase,
            unit=unit,
            variant=choose(unit),
            first_exposure_at=at or datetime.now(UTC),
        )
        self._remember(first)
        if self._thread is None or (self._visitors_at_once and unit.startswith("a:")):
            try:
                kept = self.store.record(first)
            except Exception:  # the store out of reach: written behind, like the others
                if self._thread is None:
                    raise
                log.warning("first exposure of %s written behind: the store failed", unit)
            else:
                self._remember(kept)
                return kept
        if self._thread is not None:
            with self._cond:
                self._pending.append(first)
                self._queued += 1
                self._cond.notify_all()
        return first

    def peek(
        self,
        experiment_id: str,
        phase: int,
        unit: str,
        identifiers: Sequence[str],
        choose: Callable[[str], str],
        at: datetime | None = None,
    ) -> Assignment:
        """The assignment :meth:`assignment` would answer, without remembering or writing
        anything: the earliest recorded one, else the one ``unit`` would be given (a
        preview; the person is not exposed)."""
        cache = self._cache
        hits = [a for i in identifiers if (a := cache.get((experiment_id, phase, i)))]
        if hits:
            return hits[0] if len(hits) == 1 else earliest(hits)  # type: ignore[return-value]
        found = self.store.find(experiment_id, phase, identifiers)
        if found is not None:
            return found
        return Assignment(
            experiment_id=experiment_id,
            phase=phase,
            unit=unit,
            variant=choose(unit),
            first_exposure_at=at or datetime.now(UTC),
        )

    def _remember(self, assignment: Assignment) -> None:
        cache = self._cache
        cache[(assignment.experiment_id, assignment.phase, assignment.unit)] = assignment
        while len(cache) > self._cache_size:
            try:
                del cache[next(iter(cache))]
            except (KeyError, StopIteration, RuntimeError):  # another thread evicted it
                break

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._stopped)
                if not self._pending and self._stopped:
                    return
                batch, self._pending = self._pending, []
            done = 0
            try:
                for first in batch:
                    kept = self.store.record(first)
                    if kept != first:
                        self._remember(kept)
                    done += 1
            except Exception:
                log.exception("could not record first exposures; retrying")
                with self._cond:
                    self._pending[:0] = batch[done:]
                    self._written += done
                    self._cond.notify_all()
                    if self._stopped:
                        return
                    self._cond.wait(RETRY_SECONDS)
                continue
            with self._cond:
                self._written += done
                self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every first exposure queued before the call is written."""
        with self._cond:
            target = self._queued
            return self._cond.wait_for(lambda: self._written >= target, timeout)

    def forget(self) -> None:
        """Drop the cached assignments (an erasure: the store is asked again)."""
        with self._cond:
            self._cache.clear()

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


@dataclass(frozen=True)
class Treatment:
    """How the experiments and the holdout change one decision. ``holdout`` is None when
    no holdout is configured (or the request names nobody)."""

    holdout: bool | None = None
    experiment: Experiment | None = None
    variant: Variant | None = None
    assignment: Assignment | None = None

    @property
    def personalized(self) -> bool:
        """False in the holdout and in a ``personalized: false`` variant."""
        return not self.holdout and (self.variant is None or self.variant.personalized)

    @property
    def offer_policy(self) -> str | None:
        return self.variant.offer_policy if self.variant is not None else None

    def placement(self, placement: Placement) -> Placement:
        """The placement as the variant changes it."""
        return placement if self.variant is None else varied(placement, self.variant)

    def recorded(self) -> ExperimentAssignment | None:
        """What the decision log keeps of the experiment."""
        a = self.assignment
        if a is None or self.variant is None:
            return None
        return ExperimentAssignment(
            experiment_id=a.experiment_id, variant=self.variant.id, phase=a.phase, unit=a.unit
        )

    def answered(self) -> DecidedExperiment | msgspec.UnsetType:
        """What the answer says of the experiment (unset outside one)."""
        if self.assignment is None or self.variant is None:
            return msgspec.UNSET
        return DecidedExperiment(
            id=self.assignment.experiment_id,
            variant=self.variant.id,
            parameters=self.variant.parameters,
        )


NO_TREATMENT = Treatment()


class ExperimentGate:
    """Finds the treatment of a request: the holdout first (held out: no personalization
    on any placement, in no experiment), then the running experiment of the placement."""

    def __init__(self, book: ExperimentBook, tracker: ExposureTracker) -> None:
        self.book, self.tracker = book, tracker

    def treat(
        self, placement_id: str, who: Who, at: datetime | None = None, *, expose: bool = True
    ) -> Treatment:
        """The treatment of a request for ``placement_id`` by ``who``, made ``at``;
        ``expose=False`` (a preview) finds the same groups but records no exposure."""
        book = self.book
        find = self.tracker.assignment if expose else self.tracker.peek
        holdout, experiment = book.holdout, book.running_on(placement_id)
        unit = who.unit
        if unit is None or (holdout is None and experiment is None):
            return NO_TREATMENT
        identifiers = who.identifiers or (unit,)
        held: bool | None = None
        if holdout is not None:
            share, phase = holdout.share, holdout.phase
            group = find(
                HOLDOUT_ID,
                phase,
                unit,
                identifiers,
                lambda u: HELD_OUT if held_out(share, phase, u) else PERSONALIZED,
                at,
            )
            held = group.variant == HELD_OUT
            if held:
                return Treatment(holdout=True)
        if experiment is None:
            return Treatment(holdout=held)
        split = experiment.split()
        eid, phase = experiment.experiment_id, experiment.phase
        assigned = find(eid, phase, unit, identifiers, lambda u: assign(eid, phase, split, u), at)
        variant = experiment.variant(assigned.variant) or experiment.variant(experiment.control)
        return Treatment(holdout=held, experiment=experiment, variant=variant, assignment=assigned)
