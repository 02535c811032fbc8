"""Hive-partitioned Parquet exports of fact tables read through the ``FactStore`` port
(what stores without a native partitioned writer use: PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retailor.storage.facts import FactStore


def export_tables(
    store: FactStore, directory: Path, start: datetime, end: datetime
) -> dict[str, int]:
    """Write each fact table's rows of ``[start, end)`` to
    ``directory/<table>/day=YYYY-MM-DD/part-N.parquet``; return the rows per table."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from retailor.storage.fact_sql import FACT_PARTITION, SCHEMAS
    from retailor.storage.facts import FACT_TABLES

    written: dict[str, int] = {}
    for table in FACT_TABLES:
        rows = pa.Table.from_batches(list(store.read(table, start, end)), schema=SCHEMAS[table])
        written[table] = rows.num_rows
        if not rows.num_rows:
            continue
        partition = pa.schema([SCHEMAS[table].field(FACT_PARTITION)])
        ds.write_dataset(
            rows.cast(SCHEMAS[table]),
            directory / table,
            format="parquet",
            partitioning=ds.partitioning(partition, flavor="hive"),
            basename_template="part-{i}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
    return written
