"""Keeping the first occurrence of each event id in an Arrow table, as every event log must."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def first_occurrences(table: pa.Table) -> tuple[pa.Table, list[str]]:
    """Keep the first row of each ``event_id``; return the kept rows and the repeated ids."""
    ids = table.column("event_id")
    if pc.count_distinct(ids).as_py() == table.num_rows:
        return table, []
    indexed = table.append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    firsts = indexed.group_by("event_id", use_threads=False).aggregate([("__row", "min")])
    keep = pc.sort_indices(firsts.column("__row_min"))
    rows = pc.take(firsts.column("__row_min"), keep)
    mask = pc.is_in(pa.array(range(table.num_rows), pa.int64()), value_set=rows.combine_chunks())
    repeated = pc.filter(ids, pc.invert(mask)).to_pylist()
    return table.filter(mask), repeated
