"""DuckDB ``PrivacyStore`` (the ``erasures`` and ``suppressions`` tables) and
``SpaceReclaimer`` (a fresh copy of the file in place of the old one)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.privacy import (
    ErasureRecord,
    PrivacyStore,
    SpaceReclaimer,
    erasure_of_row,
    erasure_row,
)

_COLUMNS = "erasure_id, status, target_hash, requested_at, finished_at, receipt, error, identifier"


class DuckDBPrivacyStore(PrivacyStore):
    """Requests and suppressions in tables of a ``DuckDBDatabase``."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def add_erasure(self, record: ErasureRecord) -> None:
        self._db.rows(f"INSERT INTO erasures ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      erasure_row(record))  # fmt: skip

    def save_erasure(self, record: ErasureRecord) -> None:
        self._db.rows(
            f"INSERT OR REPLACE INTO erasures ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            erasure_row(record),
        )

    def get_erasure(self, erasure_id: str) -> ErasureRecord | None:
        rows = self._db.rows(f"SELECT {_COLUMNS} FROM erasures WHERE erasure_id = ?", [erasure_id])
        return erasure_of_row(rows[0]) if rows else None

    def pending_erasures(self) -> list[ErasureRecord]:
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM erasures WHERE status IN ('pending', 'failed') "
            "ORDER BY requested_at, erasure_id"
        )
        return [erasure_of_row(r) for r in rows]

    def suppress(self, hashes: Sequence[str], at: datetime) -> int:
        wanted = list(dict.fromkeys(hashes))
        if not wanted:
            return 0
        with self._db.use() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                held = cur.execute(
                    "SELECT hash FROM suppressions WHERE hash IN (SELECT UNNEST(?))", [wanted]
                ).fetchall()
                new = [h for h in wanted if h not in {r[0] for r in held}]
                if new:
                    cur.executemany(
                        "INSERT INTO suppressions VALUES (?, ?)", [[h, at] for h in new]
                    )
                    cur.execute("UPDATE suppression_revision SET revision = revision + 1")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return len(new)

    def lift(self, hash_: str) -> bool:
        with self._db.use() as cur:
            gone = cur.execute("DELETE FROM suppressions WHERE hash = ?", [hash_]).fetchall()
            if not int(gone[0][0]):
                return False
            cur.execute("UPDATE suppression_revision SET revision = revision + 1")
        return True

    def suppressed(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._db.rows("SELECT hash FROM suppressions"))

    def revision(self) -> int:
        return int(self._db.rows("SELECT revision FROM suppression_revision")[0][0])


class DuckDBReclaimer(SpaceReclaimer):
    """Rewrites the database file (``DuckDBDatabase.rewrite``)."""

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def reclaim(self) -> tuple[int, int]:
        return self._db.rewrite()
