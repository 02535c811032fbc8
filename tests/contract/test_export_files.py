"""The ``ExportFiles`` contract, for the Parquet exports of the data directory: the ids
they name, and rewriting them without one person's decisions, orders, exposures and
lines, every other row kept."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from retailor.storage.files.exports import ParquetExportFiles


def write(path: Path, rows: dict[str, list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), path)


def export(root: Path, name: str) -> None:
    base = root / name
    write(
        base / "decisions/day=2026-11-01/part-0.parquet",
        {
            "decision_id": ["d1", "d2", "d3"],
            "customer": ["ann", None, "bob"],
            "anonymous_id": [None, "dev-ann", None],
            "person": ["ann", "ann", "bob"],
        },
    )
    write(
        base / "exposures/day=2026-11-01/part-0.parquet",
        {"decision_id": ["d1", "d1", "d2", "d3"], "position": [0, 1, 0, 0]},
    )
    write(
        base / "orders/day=2026-11-02/part-0.parquet",
        {"order_id": ["o1"], "customer_id": ["ann"], "anonymous_id": [None], "person": ["ann"]},
    )
    write(base / "lines/day=2026-11-02/part-0.parquet", {"order_id": ["o1", "o1"], "line": [0, 1]})


def rows(path: Path) -> list[dict[str, object]]:
    return pq.read_table(path).to_pylist() if path.exists() else []


def test_an_export_is_rewritten_without_one_person(tmp_path: Path) -> None:
    export(tmp_path, "march")
    export(tmp_path, "april")
    files = ParquetExportFiles(tmp_path)
    assert files.identifiers() == {"ann", "bob", "dev-ann"}
    assert files.erase(["ann", "dev-ann"]) == 2 * (2 + 3 + 1 + 2)
    for name in ("march", "april"):
        base = tmp_path / name
        decisions = rows(base / "decisions/day=2026-11-01/part-0.parquet")
        assert [r["decision_id"] for r in decisions] == ["d3"]
        exposures = rows(base / "exposures/day=2026-11-01/part-0.parquet")
        assert [r["decision_id"] for r in exposures] == ["d3"]
        assert not (base / "orders/day=2026-11-02/part-0.parquet").exists()
        assert not (base / "lines/day=2026-11-02/part-0.parquet").exists()
    assert files.identifiers() == {"bob"}
    assert files.erase(["ann"]) == 0


def test_no_exports_is_nothing_to_erase(tmp_path: Path) -> None:
    files = ParquetExportFiles(tmp_path / "none")
    assert files.identifiers() == set() and files.erase(["ann"]) == 0
