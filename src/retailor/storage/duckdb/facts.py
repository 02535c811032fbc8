"""DuckDB ``FactStore``: the ``fact_*`` tables of the embedded file (and, on an in-memory
database, of the memory backend). Rows go in as Arrow tables registered for one
transaction; a report is one SQL statement over the columnar tables; exports are DuckDB's
own Hive-partitioned ``COPY``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.fact_sql import DUCKDB, FACT_PARTITION, SCHEMAS
from retailor.storage.fact_sql_store import SqlFactStore, Statement
from retailor.storage.facts import FACT_TABLES


class DuckDBFactStore(SqlFactStore):
    """The fact tables in a ``DuckDBDatabase`` (see ``FactStore`` for the contract)."""

    dialect = DUCKDB

    def __init__(self, db: DuckDBDatabase) -> None:
        self._db = db

    def _run(self, statements: Sequence[Statement], tables: dict[str, pa.Table]) -> None:
        with self._db.use() as cur:
            for name, table in tables.items():
                cur.register(name, table)
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
                    for sql, params in statements:
                        cur.execute(sql, params or None)
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
            finally:
                for name in tables:
                    cur.unregister(name)

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return self._db.arrow(sql, params).to_pylist()  # type: ignore[no-any-return]

    def _tuples(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return self._db.rows(sql, params or None)

    def read(self, table: str, start: datetime, end: datetime) -> Iterator[pa.RecordBatch]:
        result = self._db.arrow(self._read_sql(table), [start, end])
        yield from result.cast(SCHEMAS[table]).to_batches()

    def export(self, directory: Path, start: datetime, end: datetime) -> dict[str, int]:
        written: dict[str, int] = {}
        directory.mkdir(parents=True, exist_ok=True)
        for table in FACT_TABLES:
            sql = self._read_sql(table)
            sql = sql.replace("?", _timestamp(start), 1).replace("?", _timestamp(end), 1)
            written[table] = int(self._tuples(f"SELECT count(*) FROM ({sql}) AS s", [])[0][0])
            if written[table]:
                self._db.rows(
                    f"COPY ({sql}) TO '{_path(directory / table)}' (FORMAT PARQUET, "
                    f"PARTITION_BY ({FACT_PARTITION}), OVERWRITE_OR_IGNORE, "
                    "FILENAME_PATTERN 'part-{i}')"
                )
        return written


def _timestamp(at: datetime) -> str:
    return f"TIMESTAMPTZ '{at.isoformat()}'"


def _path(path: Path) -> str:
    return str(path).replace("'", "''")
