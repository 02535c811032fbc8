"""PostgreSQL ``FactStore``: the ``fact_*`` tables, shared by every worker. Rows go in by
``COPY`` into temporary tables that live for one transaction, then one statement moves
them; reports are one SQL statement (``fact_sql.aggregate_sql``) served by the indexes on
time; exports read through the port (``fact_export``)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg.rows import dict_row
from pyarrow import csv

from retailor.storage.fact_sql import POSTGRES
from retailor.storage.fact_sql_store import SqlFactStore, Statement
from retailor.storage.postgres.database import PostgresDatabase

_TYPES = {
    pa.string(): "text",
    pa.float64(): "double precision",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.bool_(): "boolean",
    pa.date32(): "date",
    pa.list_(pa.string()): "text[]",
    pa.list_(pa.float64()): "double precision[]",
}


def _pg_type(kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        return "timestamptz"
    return _TYPES[kind]


def _sql(text: str) -> str:
    """A statement written with ``?`` placeholders, as psycopg takes it."""
    return text.replace("?", "%s")


class PostgresFactStore(SqlFactStore):
    """The fact tables in a ``PostgresDatabase`` (see ``FactStore`` for the contract)."""

    dialect = POSTGRES

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def _run(self, statements: Sequence[Statement], tables: dict[str, pa.Table]) -> None:
        with self._db.connection() as conn, conn.transaction(), conn.cursor() as cur:
            for name, table in tables.items():
                _copy_in(cur, name, table)
            for sql, params in statements:
                cur.execute(_sql(sql).encode(), params or None)

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with self._db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_sql(sql).encode(), params or None)
            return cur.fetchall()

    def _tuples(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self._db.connection() as conn:
            return conn.execute(_sql(sql).encode(), params or None).fetchall()


def _array_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A list column as PostgreSQL array literals (``{"a","b"}``), element by element
    quoted and escaped; a null list stays null."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    values = pc.cast(pc.list_flatten(column), pa.string())
    escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    offsets = column.offsets
    if column.offset:
        offsets = pc.subtract(offsets, offsets[0])
    lists = pa.ListArray.from_arrays(offsets, quoted)
    joined = pc.binary_join(lists, ",")
    return pc.if_else(pc.is_null(column), pa.nulls(len(column), pa.string()),
                      pc.binary_join_element_wise("{", joined, "}", ""))  # fmt: skip


def _copy_in(cur: psycopg.Cursor[Any], name: str, table: pa.Table) -> None:
    """A temporary table ``name`` (dropped at commit) holding ``table``'s rows, sent by
    ``COPY`` as CSV (lists as array literals)."""
    types = [_pg_type(f.type) for f in table.schema]
    columns = ", ".join(f'"{n}" {t}' for n, t in zip(table.schema.names, types, strict=True))
    cur.execute(f"CREATE TEMPORARY TABLE {name} ({columns}) ON COMMIT DROP".encode())
    if table.num_rows == 0:
        return
    for index, field in enumerate(table.schema):
        if pa.types.is_list(field.type):
            table = table.set_column(index, field.name, _array_text(table.column(index)))
    buffer = io.BytesIO()
    csv.write_csv(table, buffer, csv.WriteOptions(include_header=False))
    quoted = ", ".join(f'"{n}"' for n in table.schema.names)
    with cur.copy(f"COPY {name} ({quoted}) FROM STDIN (FORMAT csv)".encode()) as copy:
        copy.write(buffer.getvalue())
