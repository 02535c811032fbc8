"""The experiments and the global holdout of a server: definitions kept in the definition
store (kinds ``experiment`` and ``holdout``), validated against the placements and the
candidate sources, held in memory with an index of the running experiment of each
placement, and taken up again when another process changes them (:meth:`reload`).

Phases: a definition that changes the variants' ids or weights starts a new phase (the
phase number goes up, ``phase_started_at`` is now), and so does a change of the holdout's
share. An experiment deleted and defined again continues after the last phase its
exposures were kept in, so old exposures never mix with new ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

from retailor.decision.placements import PlacementBook
from retailor.domain.experiments import (
    HOLDOUT_ID,
    Experiment,
    Holdout,
    Variant,
    parse_experiment,
    parse_holdout,
)
from retailor.domain.ids import check_definition_id
from retailor.domain.placements import DefinitionError, Placement, Source
from retailor.storage.base import DefinitionStore, StoredDefinition
from retailor.storage.experiments import ExposureStore

log = logging.getLogger(__name__)

#: The id the global holdout is kept under in the definition store.
HOLDOUT_DEFINITION = "global"


class ExperimentConflictError(DefinitionError):
    """Another running experiment already runs on one of the placements."""


def varied(placement: Placement, variant: Variant) -> Placement:
    """``placement`` as ``variant`` changes it: the override's fields replace the
    placement's, then the ``models`` substitution renames sources and fallbacks (a source
    that appears twice after renaming is kept once, first place, first weight)."""
    changes = variant.placement.given() if variant.placement is not None else {}
    if variant.models:
        rename = variant.models
        sources: list[Source] = changes.get("sources", placement.sources)
        renamed: dict[str, Source] = {}
        for s in sources:
            name = rename.get(s.source, s.source)
            renamed.setdefault(name, msgspec.structs.replace(s, source=name))
        changes["sources"] = list(renamed.values())
        fallback: list[str] = changes.get("fallback", placement.fallback)
        changes["fallback"] = list(dict.fromkeys(rename.get(f, f) for f in fallback))
    return msgspec.structs.replace(placement, **changes) if changes else placement


class ExperimentBook:
    """Experiments by id, the running one of each placement, and the holdout."""

    def __init__(
        self,
        store: DefinitionStore,
        placements: PlacementBook,
        known_source: Callable[[str], bool],
        exposures: ExposureStore,
    ) -> None:
        self._store, self._placements, self._known = store, placements, known_source
        self._exposures = exposures
        self._lock = threading.Lock()
        self._experiments: dict[str, Experiment] = {}
        self._revisions: dict[str, int] = {}
        self._running: dict[str, Experiment] = {}
        self.holdout: Holdout | None = None
        for stored in store.all("experiment"):
            self._take(stored)
        self._index()
        held = store.get("holdout", HOLDOUT_DEFINITION)
        if held is not None:
            self._take_holdout(held)

    # --- reading -----------------------------------------------------------------------

    def get(self, experiment_id: str) -> Experiment | None:
        return self._experiments.get(experiment_id)

    def all(self) -> list[Experiment]:
        """Every experiment, in id order."""
        return [self._experiments[k] for k in sorted(self._experiments)]

    def running_on(self, placement_id: str) -> Experiment | None:
        """The running experiment of a placement, if any."""
        return self._running.get(placement_id)

    # --- experiments -------------------------------------------------------------------

    def put(self, experiment_id: str, raw: object) -> Experiment:
        """Validate, store and start using a definition. :class:`DefinitionError` says
        what is wrong; :class:`ExperimentConflictError` names the running experiment that
        already has one of its placements."""
        experiment = parse_experiment(raw, experiment_id)
        self._check(experiment)
        now = datetime.now(UTC)
        with self._lock:
            self._check_overlap(experiment)
            before = self._experiments.get(experiment_id)
            if before is None:
                kept = {a.phase for a in self._exposures.units(experiment_id)}
                experiment.phase = max(kept, default=0) + 1
                experiment.phase_started_at = experiment.created_at = now
            else:
                experiment.created_at = before.created_at
                experiment.phase, experiment.phase_started_at = (
                    before.phase, before.phase_started_at,
                )  # fmt: skip
                if before.split() != experiment.split():
                    experiment.phase, experiment.phase_started_at = before.phase + 1, now
            experiment.updated_at = now
            stored = self._store.put("experiment", experiment_id, msgspec.to_builtins(experiment))
            self._experiments[experiment_id] = experiment
            self._revisions[experiment_id] = stored.revision
            self._index()
        return experiment

    def delete(self, experiment_id: str) -> bool:
        """Remove a definition (its exposures stay, for its results); whether there was one."""
        check_definition_id("experiment", experiment_id)
        with self._lock:
            self._experiments.pop(experiment_id, None)
            self._revisions.pop(experiment_id, None)
            self._index()
            return self._store.delete("experiment", experiment_id)

    def reload(self, experiment_id: str) -> None:
        """Take up the stored definition as it is now (another process changed it)."""
        with self._lock:
            stored = self._store.get("experiment", experiment_id)
            if stored is None:
                self._experiments.pop(experiment_id, None)
                self._revisions.pop(experiment_id, None)
            elif self._revisions.get(experiment_id) != stored.revision:
                self._take(stored)
            self._index()

    def _take(self, stored: StoredDefinition) -> None:
        try:
            experiment = parse_experiment(stored.document, stored.id)
        except DefinitionError as exc:
            log.warning("dropping stored experiment %r, it no longer validates: %s", stored.id, exc)
            self._experiments.pop(stored.id, None)
        else:
            self._experiments[stored.id] = experiment
        self._revisions[stored.id] = stored.revision

    def _check(self, experiment: Experiment) -> None:
        for i, placement_id in enumerate(experiment.placements):
            if self._placements.get(placement_id) is None:
                raise DefinitionError(
                    f"no placement {placement_id!r}: define it first with PUT "
                    f"/v1/placements/{placement_id} - at `$.placements[{i}]`"
                )
        for i, variant in enumerate(experiment.variants):
            where = f"$.variants[{i}]"
            names: list[tuple[str, str]] = []
            if variant.placement is not None:
                for j, s in enumerate(variant.placement.sources or []):
                    names.append((s.source, f"{where}.placement.sources[{j}].source"))
                for j, f in enumerate(variant.placement.fallback or []):
                    names.append((f, f"{where}.placement.fallback[{j}]"))
            for old, new in variant.models.items():
                names.append((old, f"{where}.models"))
                names.append((new, f"{where}.models.{old}"))
            for name, at in names:
                if not self._known(name):
                    raise DefinitionError(f"unknown source {name!r} - at `{at}`")

    def _check_overlap(self, experiment: Experiment) -> None:
        if experiment.status != "running":
            return
        for placement_id in experiment.placements:
            other = self._running.get(placement_id)
            if other is not None and other.experiment_id != experiment.experiment_id:
                raise ExperimentConflictError(
                    f"experiment {other.experiment_id!r} already runs on placement "
                    f"{placement_id!r}: stop it (status: stopped) or leave the placement out"
                )

    def _index(self) -> None:
        running: dict[str, Experiment] = {}
        for experiment_id in sorted(self._experiments):
            experiment = self._experiments[experiment_id]
            if experiment.status != "running":
                continue
            for placement_id in experiment.placements:
                if placement_id in running:
                    log.warning(
                        "experiments %r and %r both run on placement %r: %r is used",
                        running[placement_id].experiment_id, experiment_id, placement_id,
                        running[placement_id].experiment_id,
                    )  # fmt: skip
                    continue
                running[placement_id] = experiment
        self._running = running

    # --- the global holdout ------------------------------------------------------------

    def put_holdout(self, raw: object) -> Holdout:
        """Validate, store and start using the holdout (a new share starts a new phase)."""
        holdout = parse_holdout(raw)
        now = datetime.now(UTC)
        with self._lock:
            before = self.holdout
            if before is None:  # after the phases whose exposures are kept
                kept = {a.phase for a in self._exposures.units(HOLDOUT_ID)}
                holdout.phase, holdout.phase_started_at = max(kept, default=0) + 1, now
            elif before.share != holdout.share:
                holdout.phase, holdout.phase_started_at = before.phase + 1, now
            else:
                holdout.phase, holdout.phase_started_at = before.phase, before.phase_started_at
            holdout.updated_at = now
            self._store.put("holdout", HOLDOUT_DEFINITION, msgspec.to_builtins(holdout))
            self.holdout = holdout
        return holdout

    def delete_holdout(self) -> bool:
        """Stop holding anyone out; whether a holdout was defined."""
        with self._lock:
            self.holdout = None
            return self._store.delete("holdout", HOLDOUT_DEFINITION)

    def reload_holdout(self, definition_id: str) -> None:
        """Take up the stored holdout as it is now."""
        with self._lock:
            stored = self._store.get("holdout", definition_id)
            if stored is None:
                self.holdout = None
            else:
                self._take_holdout(stored)

    def _take_holdout(self, stored: StoredDefinition) -> None:
        try:
            self.holdout = parse_holdout(stored.document)
        except DefinitionError as exc:
            log.warning("dropping the stored holdout, it no longer validates: %s", exc)
            self.holdout = None
