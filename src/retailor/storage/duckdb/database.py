"""Opening the DuckDB file, per-thread cursors, and the schema of Retailor's tables: the
numbered migrations of ``sql/``, applied when the file is opened (one process owns it)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from retailor.storage.errors import DataDirLockedError
from retailor.storage.migrations import Migration, load_migrations, pending
from retailor.storage.permissions import make_private_dir, make_private_file

MIGRATIONS = load_migrations("retailor.storage.duckdb.sql")
_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""

_LOCK_PID = re.compile(r"PID (\d+)")


def migrate(
    conn: duckdb.DuckDBPyConnection, migrations: list[Migration] = MIGRATIONS
) -> list[Migration]:
    """Apply the migrations the file lacks, in order and in one transaction; return them.

    ``migrations`` are the steps this code knows: all of ``sql/``, or the first few to
    make a file of an older version. Raises ``StorageUnavailableError`` when the file's
    schema is newer than that, and leaves it untouched.
    """
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(_LEDGER)
        rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
        applied = {int(row[0]) for row in rows}
        todo = pending(migrations, applied)
        for migration in todo:
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return todo


class DuckDBDatabase:
    """The database file and a cursor per thread."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        target = ":memory:" if path is None else str(path)
        if path is not None:
            make_private_dir(path.parent)
        try:
            self._root = duckdb.connect(target)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or path is None:
                raise
            match = _LOCK_PID.search(str(exc))
            raise DataDirLockedError(path, int(match.group(1)) if match else None) from exc
        if path is not None:
            make_private_file(path)
        self._root.execute("SET TimeZone = 'UTC'")
        try:
            self.applied = migrate(self._root)
        except BaseException:
            self._root.close()
            raise
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the database."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._root.cursor()
            cur.execute("SET TimeZone = 'UTC'")
            self._local.cursor = cur
            with self._lock:
                self._cursors.append(cur)
        return cur

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query on this thread's cursor and return its result as an Arrow table
        (through a relation: no extra copy of the rows)."""
        return self.cursor().sql(sql, params=params or None).to_arrow_table()

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
        self._root.close()
