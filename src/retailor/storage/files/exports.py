"""``ExportFiles`` over the Parquet files of ``<data>/exports``: each file read, the rows
of the people erased left out, and written again in its place (atomically, private)."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from retailor.storage.permissions import make_private_file
from retailor.storage.privacy import ExportFiles

#: The columns that name people, per fact table; the other tables follow by their key.
_PEOPLE = {
    "decisions": ("customer", "anonymous_id", "person"),
    "orders": ("customer_id", "anonymous_id", "person"),
}
_FOLLOWERS = {"exposures": ("decision_id", "decisions"), "lines": ("order_id", "orders")}
_KEYS = {"decisions": "decision_id", "orders": "order_id"}


class ParquetExportFiles(ExportFiles):
    """The exports under ``root`` (``<data>/exports``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _files(self, export: Path, table: str) -> Iterator[Path]:
        yield from sorted((export / table).rglob("*.parquet"))

    def _exports(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        # an export being written (``.writing-…``) is put in place whole, then checked
        return sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def identifiers(self) -> set[str]:
        import pyarrow.parquet as pq

        found: set[str] = set()
        for export in self._exports():
            for table, columns in _PEOPLE.items():
                for path in self._files(export, table):
                    read = pq.read_table(path, columns=list(columns))
                    for column in columns:
                        found.update(v for v in read.column(column).to_pylist() if v)
        return found

    def erase(self, ids: Collection[str]) -> int:
        if not ids:
            return 0
        import pyarrow as pa

        wanted = pa.array(sorted(set(ids)), pa.string())
        removed = 0
        for export in self._exports():
            gone: dict[str, set[str]] = {}
            for table, columns in _PEOPLE.items():
                keys: set[str] = set()
                for path in self._files(export, table):
                    removed += _rewrite(path, _people(columns, wanted), keys, _KEYS[table])
                gone[table] = keys
            for table, (column, owner) in _FOLLOWERS.items():
                owned = pa.array(sorted(gone[owner]), pa.string())
                for path in self._files(export, table):
                    removed += _rewrite(path, _people((column,), owned), set(), column)
        return removed


def _people(columns: tuple[str, ...], wanted: Any) -> Callable[[Any], Any]:
    """The rows of a table whose ``columns`` hold one of ``wanted``, as a mask."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def mask(table: Any) -> Any:
        found = None
        for column in columns:
            values = table.column(column)
            if not pa.types.is_string(values.type):  # all null, or ids written as numbers
                values = values.cast(pa.string())
            hit = pc.fill_null(pc.is_in(values, value_set=wanted), False)
            found = hit if found is None else pc.or_(found, hit)
        return found

    return mask


def _rewrite(path: Path, doomed: Callable[[Any], Any], keys: set[str], key: str) -> int:
    """Write ``path`` again without the rows ``doomed(table)`` marks (removed when none
    is left), noting their ``key``; how many rows went."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    mask = pc.fill_null(doomed(table), False)
    count = int(pc.sum(mask).as_py() or 0)
    if not count:
        return 0
    keys.update(v for v in table.filter(mask).column(key).to_pylist() if v)
    kept = table.filter(pc.invert(mask))
    if kept.num_rows == 0:
        path.unlink()
        return count
    fresh = path.with_name(path.name + ".rewrite")
    pq.write_table(kept, fresh)
    make_private_file(fresh)
    os.replace(fresh, path)
    return count


def blank_people(directory: Path, ids: Collection[str]) -> int:
    """Blank (null) the person columns of the exported decisions and orders under
    ``directory`` that hold one of ``ids``; the rows stay (they still count), no longer
    saying whose they are. Returns how many rows were blanked."""
    if not ids:
        return 0
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    wanted = pa.array(sorted(set(ids)), pa.string())
    blanked = 0
    for table, columns in _PEOPLE.items():
        for path in sorted((directory / table).rglob("*.parquet")):
            read = pq.read_table(path)
            mask = _people(columns, wanted)(read)
            count = int(pc.sum(mask).as_py() or 0)
            if not count:
                continue
            for column in columns:
                values = read.column(column)
                index = read.schema.get_field_index(column)
                read = read.set_column(
                    index, column, pc.if_else(mask, pa.scalar(None, values.type), values)
                )
            fresh = path.with_name(path.name + ".rewrite")
            pq.write_table(read, fresh)
            make_private_file(fresh)
            os.replace(fresh, path)
            blanked += count
    return blanked
