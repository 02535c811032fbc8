"""Opening the DuckDB file, per-thread cursors, and the schema of Retailor's tables: the
numbered migrations of ``sql/``, applied when the file is opened (one process owns it);
rewriting the file so that no byte of deleted rows remains in it."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from retailor.storage.duckdb.gate import SwapGate
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
    """The database file and a cursor per thread.

    Every use of the database goes through :meth:`use` (this thread's cursor) or
    :meth:`own` (a cursor of its own, for reads interleaved with other calls), which hold
    the shared side of a gate; :meth:`rewrite` takes it whole, so it never swaps the file
    under a statement or a stream of batches."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            make_private_dir(path.parent)
        self._root = self._connect()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()
        self._gate = SwapGate()
        self._generation = 0
        try:
            self.applied = migrate(self._root)
        except BaseException:
            self._root.close()
            raise

    def _connect(self) -> duckdb.DuckDBPyConnection:
        path = self.path
        target = ":memory:" if path is None else str(path)
        try:
            root = duckdb.connect(target)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or path is None:
                raise
            match = _LOCK_PID.search(str(exc))
            raise DataDirLockedError(path, int(match.group(1)) if match else None) from exc
        if path is not None:
            make_private_file(path)
        root.execute("SET TimeZone = 'UTC'")
        return root

    def _thread_cursor(self) -> duckdb.DuckDBPyConnection:
        held: tuple[int, duckdb.DuckDBPyConnection] | None = getattr(self._local, "cursor", None)
        if held is not None and held[0] == self._generation:
            return held[1]
        cur = self._root.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        self._local.cursor = (self._generation, cur)
        with self._lock:
            self._cursors.append(cur)
        return cur

    @contextlib.contextmanager
    def use(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """This thread's cursor on the database, for the statements of the ``with`` block."""
        with self._gate.shared():
            yield self._thread_cursor()

    @contextlib.contextmanager
    def own(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own (in UTC), closed at the end of the ``with`` block: for a
        stream of batches the caller may interleave with other calls on this thread."""
        with self._gate.shared():
            cur = self._thread_cursor().cursor()
            try:
                cur.execute("SET TimeZone = 'UTC'")
                yield cur
            finally:
                cur.close()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement on this thread's cursor and fetch every row it answers."""
        with self.use() as cur:
            return cur.execute(sql, params or None).fetchall()

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query on this thread's cursor and return its result as an Arrow table
        (through a relation: no extra copy of the rows)."""
        with self.use() as cur:
            return cur.sql(sql, params=params or None).to_arrow_table()

    def rewrite(self) -> tuple[int, int]:
        """Copy every table into a fresh file and put it in the old one's place, so that
        no byte of a deleted row remains (DuckDB keeps deleted rows and freed blocks in
        its file until they are overwritten). Waits for the statements under way and
        holds new ones until the copy is in place. Returns the file's size before and
        after, in bytes; an in-memory database is left as it is."""
        path = self.path
        if path is None:
            return 0, 0
        fresh = path.with_name(path.name + ".rewrite")
        with self._gate.exclusive():
            self._root.execute("CHECKPOINT")
            before = path.stat().st_size
            for leftover in (fresh, _wal(fresh)):
                leftover.unlink(missing_ok=True)
            name = self._root.execute("SELECT current_database()").fetchall()[0][0]
            self._root.execute(f"ATTACH '{_quoted(fresh)}' AS retailor_rewrite")
            try:
                self._root.execute(f'COPY FROM DATABASE "{name}" TO retailor_rewrite')
            finally:
                self._root.execute("DETACH retailor_rewrite")
            self._close_cursors()
            self._root.close()
            os.replace(fresh, path)
            _wal(path).unlink(missing_ok=True)
            self._generation += 1
            self._root = self._connect()
            return before, path.stat().st_size

    def _close_cursors(self) -> None:
        with self._lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()

    def close(self) -> None:
        self._close_cursors()
        self._root.close()


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
