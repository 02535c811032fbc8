"""The DuckDB decision log keeps what analysis filters and groups by in real columns (in
files made before those columns too), and finds a decision by id through an index."""

from __future__ import annotations

from pathlib import Path

import duckdb
import msgspec

from retailor.domain.decisions import ExperimentAssignment, LoggedOffer
from retailor.storage.duckdb.database import MIGRATIONS, migrate
from retailor.storage.factory import open_storage
from tests.contract.test_decision_log import record

COLUMNS = (
    "decision_id, placement, channel, store_id, customer, anonymous_id, items, offer_ids, "
    "model_versions->>'blend', personalized, fallback, latency_ms, experiment_id, "
    "experiment_variant, record->>'decision_id'"
)


def test_decisions_have_columns_to_query(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    storage = open_storage(f"duckdb://{path}", tmp_path)
    chosen = LoggedOffer(offer_id="o2", probability=0.5, eligible=["o1", "o2"], features={})
    storage.decisions.append(
        [
            record(1, context={"channel": "app", "store_id": "s9", "item_id": None}),
            record(2, offers=[], anonymous_id="v7", customer=None, fallback="popular"),
            record(3, offers=[chosen, chosen], model_versions={"blend": 4},
                   experiment=ExperimentAssignment(experiment_id="hero", variant="b")),
        ]
    )  # fmt: skip
    storage.close()
    with duckdb.connect(str(path)) as conn:
        rows = conn.execute(f'SELECT {COLUMNS} FROM decisions ORDER BY "at"').fetchall()
        by_variant = conn.execute(
            "SELECT experiment_variant, count(*) FROM decisions GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    assert rows == [
        ("d1", "home", "app", "s9", "c1", None, ["x", "y"], ["o1"], "3", True, None, 0.4, None,
         None, "d1"),
        ("d2", "home", None, None, None, "v7", ["x", "y"], [], "3", True, "popular", 0.4, None,
         None, "d2"),
        ("d3", "home", None, None, "c0", None, ["x", "y"], ["o2", "o2"], "4", True, None, 0.4,
         "hero", "b", "d3"),
    ]  # fmt: skip
    assert by_variant == [("b", 1), (None, 2)]


def test_a_decision_is_found_by_id_through_an_index(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    storage = open_storage(f"duckdb://{path}", tmp_path)
    storage.decisions.append([record(n) for n in range(50)])
    storage.close()
    with duckdb.connect(str(path)) as conn:
        plan = conn.execute(
            "EXPLAIN ANALYZE SELECT record FROM decisions WHERE decision_id = ?", ["d7"]
        ).fetchall()
    assert "Type: Index Scan" in plan[0][1]
    storage = open_storage(f"duckdb://{path}", tmp_path)
    try:
        found = storage.decisions.get("d7")
        assert found is not None and found.decision_id == "d7"
    finally:
        storage.close()


def test_a_file_made_before_the_columns_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old = [
        record(1, context={"channel": "web", "store_id": None}),
        record(2, offers=[], customer=None, anonymous_id="v7", fallback="popular"),
    ]
    with duckdb.connect(str(path)) as conn:  # the schema and rows of the first version
        migrate(conn, MIGRATIONS[:1])
        conn.executemany(
            "INSERT INTO decisions VALUES (?, ?, ?, ?, ?)",
            [
                [r.decision_id, r.at, r.placement, r.customer, msgspec.json.encode(r).decode()]
                for r in old
            ],
        )
    storage = open_storage(f"duckdb://{path}", tmp_path)
    try:
        assert [r.decision_id for r in storage.decisions.scan()] == ["d1", "d2"]
        assert storage.decisions.get("d2") == old[1]
        storage.decisions.append([record(3)])
        assert storage.decisions.count() == 3
    finally:
        storage.close()
    with duckdb.connect(str(path)) as conn:
        rows = conn.execute(f'SELECT {COLUMNS} FROM decisions ORDER BY "at"').fetchall()
        indexes = conn.execute(
            "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'decisions'"
        ).fetchall()
    assert rows == [
        ("d1", "home", "web", None, "c1", None, ["x", "y"], ["o1"], "3", True, None, 0.4, None,
         None, "d1"),
        ("d2", "home", None, None, None, "v7", ["x", "y"], [], "3", True, "popular", 0.4, None,
         None, "d2"),
        ("d3", "home", None, None, "c0", None, ["x", "y"], ["o1"], "3", True, None, 0.4, None,
         None, "d3"),
    ]  # fmt: skip
    assert indexes == [("decisions_by_id",)]
