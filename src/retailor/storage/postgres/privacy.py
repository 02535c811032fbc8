"""PostgreSQL ``PrivacyStore`` (the ``erasures``, ``suppressions`` and
``suppression_revision`` tables) and ``SpaceReclaimer`` (``VACUUM FULL`` of every table of
the schema).

PostgreSQL keeps a deleted row's bytes in its table's pages, and an index entry's in the
index's, until a vacuum reuses the space; even then the bytes may stay in a page until
something overwrites them. ``VACUUM FULL`` writes each table anew into a fresh file, with
its TOAST table and every index rebuilt, and gives the old files up. It cannot run in a
transaction, so it goes over a connection in autocommit mode (the pool's connections
are), one relation at a time: each holds its table's ``ACCESS EXCLUSIVE`` lock while it
runs, so the readers and writers of that table wait for it.

Beyond the relation files the reclaimer cannot reach: the write-ahead log keeps what was
written until its segments are recycled after checkpoints, and backups keep what they
copied.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import sql

from retailor.storage.postgres.database import PostgresDatabase
from retailor.storage.privacy import (
    ErasureRecord,
    PrivacyStore,
    SpaceReclaimer,
    erasure_of_row,
    erasure_row,
)

_COLUMNS = (
    "erasure_id, status, target_hash, requested_at, finished_at, receipt::text, error, identifier"
)
_FIELDS = "erasure_id, status, target_hash, requested_at, finished_at, receipt, error, identifier"
_VALUES = "%s, %s, %s, %s, %s, %s::json, %s, %s"
_BUMP = "UPDATE suppression_revision SET revision = revision + 1"

#: The relations of the schema that hold rows in files of their own: tables (partitions
#: of the event log among them) and materialized views. Their indexes and TOAST tables
#: are rewritten with them; a partitioned parent holds no rows itself.
_RELATIONS = (
    "SELECT current_schema(), c.relname FROM pg_class c "
    "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'm') "
    "ORDER BY c.relname"
)
#: Bytes on disk of those relations, their indexes and TOAST included.
_SIZE = (
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
    "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'm')"
)


class PostgresPrivacyStore(PrivacyStore):
    """Requests and suppressions in tables of a ``PostgresDatabase``, shared by every
    worker."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def add_erasure(self, record: ErasureRecord) -> None:
        with self._db.connection() as conn:
            conn.execute(
                f"INSERT INTO erasures ({_FIELDS}) VALUES ({_VALUES})", erasure_row(record)
            )

    def save_erasure(self, record: ErasureRecord) -> None:
        with self._db.connection() as conn:
            conn.execute(
                f"INSERT INTO erasures ({_FIELDS}) VALUES ({_VALUES}) "
                "ON CONFLICT (erasure_id) DO UPDATE SET status = excluded.status, "
                "target_hash = excluded.target_hash, requested_at = excluded.requested_at, "
                "finished_at = excluded.finished_at, receipt = excluded.receipt, "
                "error = excluded.error, identifier = excluded.identifier",
                erasure_row(record),
            )

    def get_erasure(self, erasure_id: str) -> ErasureRecord | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM erasures WHERE erasure_id = %s", [erasure_id]
            ).fetchone()
        return None if row is None else erasure_of_row(row)

    def pending_erasures(self) -> list[ErasureRecord]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM erasures WHERE status IN ('pending', 'failed') "
                "ORDER BY requested_at, erasure_id"
            ).fetchall()
        return [erasure_of_row(r) for r in rows]

    def suppress(self, hashes: Sequence[str], at: datetime) -> int:
        wanted = list(dict.fromkeys(hashes))
        if not wanted:
            return 0
        with self._db.connection() as conn, conn.transaction():
            new = conn.execute(
                "INSERT INTO suppressions (hash, suppressed_at) SELECT unnest(%s::text[]), %s "
                "ON CONFLICT (hash) DO NOTHING RETURNING hash",
                [wanted, at],
            ).fetchall()
            if new:
                conn.execute(_BUMP)
        return len(new)

    def lift(self, hash_: str) -> bool:
        with self._db.connection() as conn, conn.transaction():
            if not conn.execute("DELETE FROM suppressions WHERE hash = %s", [hash_]).rowcount:
                return False
            conn.execute(_BUMP)
        return True

    def suppressed(self) -> frozenset[str]:
        with self._db.connection() as conn:
            rows = conn.execute("SELECT hash FROM suppressions").fetchall()
        return frozenset(r[0] for r in rows)

    def revision(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT revision FROM suppression_revision").fetchone()
        return int(row[0]) if row else 0


class PostgresReclaimer(SpaceReclaimer):
    """``VACUUM FULL`` of every table of the schema the database's connections work in
    (see the module docstring)."""

    def __init__(self, db: PostgresDatabase, wait_seconds: float = 120.0) -> None:
        self._db = db
        self._wait = wait_seconds

    def reclaim(self) -> tuple[int, int]:
        # the pool's connections are in autocommit mode: VACUUM refuses a transaction block
        with self._db.connection() as conn:
            self._wait_for_older_transactions(conn)
            before = _bytes(conn)
            tables = conn.execute(_RELATIONS).fetchall()
            for schema, table in tables:
                conn.execute(sql.SQL("VACUUM (FULL) {}").format(sql.Identifier(schema, table)))
            return before, _bytes(conn)

    def _wait_for_older_transactions(self, conn: Any) -> None:
        """Wait until no transaction that began before now is still open: ``VACUUM FULL``
        keeps a deleted row that some open transaction may still see (another worker's
        read of the log under way, say), and that row must not survive the rewrite.
        TimeoutError after ``wait_seconds`` (the erasure is then run again)."""
        started = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        deadline = time.monotonic() + self._wait
        while True:
            open_ = conn.execute(_OLDER, [started]).fetchone()[0]
            if not open_:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{open_} transaction(s) begun before the erasure are still open after "
                    f"{self._wait:.0f} s; the space is reclaimed once they end"
                )
            time.sleep(0.05)


#: Transactions of other sessions of this database begun before a time that hold a
#: snapshot (which may still see rows deleted before that time).
_OLDER = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) AND xact_start < %s
"""


def _bytes(conn: Any) -> int:
    row = conn.execute(_SIZE).fetchone()
    return int(row[0]) if row else 0
