"""DuckDB ``ExposureStore``: the ``exposures`` table, with every row also held in an
in-process index (:class:`MemoryExposureStore`) loaded when the store opens. One process
owns the file, so the index is the whole truth: ``find`` on a decision's hot path is a
few dict look-ups, and ``record`` writes through to the table before it answers."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from retailor.domain.experiments import Assignment
from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.experiments import ExposureStore
from retailor.storage.memory.exposures import MemoryExposureStore

_COLUMNS = "experiment_id, phase, unit, variant, first_exposure_at"


class DuckDBExposureStore(ExposureStore):
    """First exposures in the ``exposures`` table of a ``DuckDBDatabase``."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db
        self._lock = threading.Lock()
        rows = db.rows(f"SELECT {_COLUMNS} FROM exposures")
        self._index = MemoryExposureStore(
            Assignment(
                experiment_id=r[0], phase=int(r[1]), unit=r[2], variant=r[3], first_exposure_at=r[4]
            )
            for r in rows
        )

    def record(self, first: Assignment) -> Assignment:
        with self._lock:
            held = self._index.find(first.experiment_id, first.phase, [first.unit])
            if held is not None:
                return held
            kept = self._index.record(first)
            self._db.rows(
                f"INSERT OR IGNORE INTO exposures ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                [kept.experiment_id, kept.phase, kept.unit, kept.variant, kept.first_exposure_at],
            )
            return kept

    def find(self, experiment_id: str, phase: int, identifiers: Sequence[str]) -> Assignment | None:
        return self._index.find(experiment_id, phase, identifiers)

    def units(self, experiment_id: str, phase: int | None = None) -> list[Assignment]:
        return self._index.units(experiment_id, phase)

    def delete(self, experiment_id: str) -> int:
        with self._lock:
            self._db.rows("DELETE FROM exposures WHERE experiment_id = ?", [experiment_id])
            return self._index.delete(experiment_id)

    def naming(self, units: Sequence[str]) -> list[Assignment]:
        return self._index.naming(units)

    def erase(self, units: Sequence[str]) -> int:
        with self._lock:
            self._db.rows("DELETE FROM exposures WHERE unit IN (SELECT UNNEST(?))", [list(units)])
            return self._index.erase(units)
