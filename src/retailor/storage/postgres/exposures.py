"""PostgreSQL ``ExposureStore``: the ``exposures`` table, shared by every worker. The
first insert of a ``(experiment_id, phase, unit)`` wins: a racing insert waits for the
winner's commit, does nothing, and the read that follows returns the winner's row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from retailor.domain.experiments import Assignment
from retailor.storage.experiments import ExposureStore
from retailor.storage.postgres.database import PostgresDatabase

_COLUMNS = "experiment_id, phase, unit, variant, first_exposure_at"
_ORDER = "ORDER BY first_exposure_at, unit"


def _assignment(row: tuple[Any, ...]) -> Assignment:
    return Assignment(
        experiment_id=row[0], phase=int(row[1]), unit=row[2], variant=row[3],
        first_exposure_at=row[4],
    )  # fmt: skip


class PostgresExposureStore(ExposureStore):
    """First exposures in the ``exposures`` table of a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def record(self, first: Assignment) -> Assignment:
        with self._db.connection() as conn:
            conn.execute(
                f"INSERT INTO exposures ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (experiment_id, phase, unit) DO NOTHING",
                [first.experiment_id, first.phase, first.unit, first.variant,
                 first.first_exposure_at],
            )  # fmt: skip
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM exposures "
                "WHERE experiment_id = %s AND phase = %s AND unit = %s",
                [first.experiment_id, first.phase, first.unit],
            ).fetchone()
        assert row is not None
        return _assignment(row)

    def find(self, experiment_id: str, phase: int, identifiers: Sequence[str]) -> Assignment | None:
        if not identifiers:
            return None
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM exposures "
                f"WHERE experiment_id = %s AND phase = %s AND unit = ANY(%s) {_ORDER} LIMIT 1",
                [experiment_id, phase, list(identifiers)],
            ).fetchone()
        return None if row is None else _assignment(row)

    def units(self, experiment_id: str, phase: int | None = None) -> list[Assignment]:
        where = "experiment_id = %s"
        params: list[object] = [experiment_id]
        if phase is not None:
            where += " AND phase = %s"
            params.append(phase)
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM exposures WHERE {where} {_ORDER}", params
            ).fetchall()
        return [_assignment(r) for r in rows]

    def delete(self, experiment_id: str) -> int:
        with self._db.connection() as conn:
            cur = conn.execute("DELETE FROM exposures WHERE experiment_id = %s", [experiment_id])
            return cur.rowcount

    def naming(self, units: Sequence[str]) -> list[Assignment]:
        if not units:
            return []
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM exposures WHERE unit = ANY(%s) "
                "ORDER BY first_exposure_at, unit, experiment_id, phase",
                [list(units)],
            ).fetchall()
        return [_assignment(r) for r in rows]

    def erase(self, units: Sequence[str]) -> int:
        if not units:
            return 0
        with self._db.connection() as conn:
            return conn.execute(
                "DELETE FROM exposures WHERE unit = ANY(%s)", [list(units)]
            ).rowcount
