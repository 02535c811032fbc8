"""In-memory ``ExposureStore``: first exposures in dicts behind a lock (tests, throwaway
runs), and the index the DuckDB adapter keeps in front of its table."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC

import msgspec

from retailor.domain.experiments import Assignment
from retailor.storage.experiments import ExposureStore, earliest

Key = tuple[str, int, str]


class MemoryExposureStore(ExposureStore):
    """First exposures by ``(experiment_id, phase, unit)``."""

    def __init__(self, loaded: Iterable[Assignment] = ()) -> None:
        self._held: dict[Key, Assignment] = {}
        self._lock = threading.Lock()
        for assignment in loaded:
            self._held.setdefault(_key(assignment), assignment)

    def record(self, first: Assignment) -> Assignment:
        first = _utc(first)
        with self._lock:
            return self._held.setdefault(_key(first), first)

    def find(self, experiment_id: str, phase: int, identifiers: Sequence[str]) -> Assignment | None:
        held = self._held
        found = [a for i in identifiers if (a := held.get((experiment_id, phase, i))) is not None]
        return found[0] if len(found) == 1 else earliest(found)

    def units(self, experiment_id: str, phase: int | None = None) -> list[Assignment]:
        with self._lock:
            found = [
                a
                for (eid, p, _), a in self._held.items()
                if eid == experiment_id and (phase is None or p == phase)
            ]
        found.sort(key=lambda a: (a.first_exposure_at, a.unit))
        return found

    def delete(self, experiment_id: str) -> int:
        with self._lock:
            gone = [k for k in self._held if k[0] == experiment_id]
            for k in gone:
                del self._held[k]
        return len(gone)

    def naming(self, units: Sequence[str]) -> list[Assignment]:
        wanted = set(units)
        with self._lock:
            found = [a for (_, _, unit), a in self._held.items() if unit in wanted]
        return sorted(found, key=lambda a: (a.first_exposure_at, a.unit, *_key(a)))

    def erase(self, units: Sequence[str]) -> int:
        wanted = set(units)
        with self._lock:
            gone = [k for k in self._held if k[2] in wanted]
            for k in gone:
                del self._held[k]
        return len(gone)


def _key(a: Assignment) -> Key:
    return (a.experiment_id, a.phase, a.unit)


def _utc(a: Assignment) -> Assignment:
    """``a`` with its time as an aware UTC datetime (a naive one is taken to be UTC)."""
    at = a.first_exposure_at
    if at.tzinfo is UTC:
        return a
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return msgspec.structs.replace(a, first_exposure_at=at)
