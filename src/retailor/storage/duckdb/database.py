"""Opening the DuckDB file, per-thread cursors, and the schema of Retailor's tables."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from retailor.storage.errors import DataDirLockedError
from retailor.storage.permissions import make_private_dir, make_private_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id VARCHAR PRIMARY KEY,
    type VARCHAR NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    customer_id VARCHAR,
    anonymous_id VARCHAR,
    channel VARCHAR,
    store_id VARCHAR,
    session_id VARCHAR,
    decision_id VARCHAR,
    properties VARCHAR NOT NULL,
    context VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog (
    item_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    category VARCHAR[] NOT NULL,
    brand VARCHAR,
    price DOUBLE,
    cost DOUBLE,
    stock BIGINT,
    attributes VARCHAR NOT NULL,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id VARCHAR PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    source VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    event_id VARCHAR,
    "index" BIGINT
);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    placement VARCHAR NOT NULL,
    customer VARCHAR,
    record VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS decision_feedback (
    decision_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    type VARCHAR NOT NULL,
    item_id VARCHAR,
    offer_id VARCHAR,
    value DOUBLE,
    source VARCHAR NOT NULL
);
"""

_LOCK_PID = re.compile(r"PID (\d+)")


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
        self._root.execute(SCHEMA)
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
