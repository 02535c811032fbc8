"""The PostgreSQL decision log keeps what analysis filters and groups by in real columns,
and finds a decision by id through an index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import psycopg
import pytest

from retailor.domain.decisions import ExperimentAssignment, LoggedOffer
from retailor.storage.factory import Storage, open_storage
from retailor.storage.postgres.database import MIGRATIONS, connect, migrate
from tests.contract.test_decision_log import record

COLUMNS = (
    "decision_id, placement, channel, store_id, customer, anonymous_id, items, offer_ids, "
    "model_versions->>'blend', personalized, fallback, latency_ms, experiment_id, "
    "experiment_variant, record->>'decision_id'"
)


@pytest.fixture
def storage(postgres_dsn: str, tmp_path: Path) -> Iterator[Storage]:
    opened = open_storage(postgres_dsn, tmp_path)
    yield opened
    opened.close()


def test_decisions_have_columns_to_query(postgres_dsn: str, storage: Storage) -> None:
    chosen = LoggedOffer(offer_id="o2", probability=0.5, eligible=["o1", "o2"], features={})
    storage.decisions.append(
        [
            record(1, context={"channel": "app", "store_id": "s9", "item_id": None}),
            record(2, offers=[], anonymous_id="v7", customer=None, fallback="popular"),
            record(3, offers=[chosen, chosen], model_versions={"blend": 4},
                   experiment=ExperimentAssignment(experiment_id="hero", variant="b")),
        ]
    )  # fmt: skip
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(f"SELECT {COLUMNS} FROM decisions ORDER BY at").fetchall()
        by_channel = conn.execute(
            "SELECT channel, count(*) FROM decisions GROUP BY channel ORDER BY channel"
        ).fetchall()
        by_variant = conn.execute(
            "SELECT experiment_variant, count(*) FROM decisions WHERE experiment_id = 'hero' "
            "GROUP BY 1"
        ).fetchall()
    assert rows == [
        ("d1", "home", "app", "s9", "c1", None, ["x", "y"], ["o1"], "3", True, None, 0.4, None,
         None, "d1"),
        ("d2", "home", None, None, None, "v7", ["x", "y"], [], "3", True, "popular", 0.4, None,
         None, "d2"),
        ("d3", "home", None, None, "c0", None, ["x", "y"], ["o2", "o2"], "4", True, None, 0.4,
         "hero", "b", "d3"),
    ]  # fmt: skip
    assert by_channel == [("app", 1), (None, 2)]
    assert by_variant == [("b", 1)]


def test_a_decision_is_found_by_id_through_an_index(postgres_dsn: str, storage: Storage) -> None:
    storage.decisions.append([record(n) for n in range(50)])
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("SET enable_seqscan = off")  # a small table: ask whether an index can
        plan = conn.execute(
            "EXPLAIN SELECT record FROM decisions WHERE decision_id = %s", ["d7"]
        ).fetchall()
    assert "Index Scan using decisions_pkey" in " ".join(line for (line,) in plan)
    found = storage.decisions.get("d7")
    assert found is not None and found.decision_id == "d7"


def test_appending_a_record_again_stores_it_once(storage: Storage) -> None:
    storage.decisions.append([record(1), record(2)])
    storage.decisions.append([record(2), record(3)])
    assert storage.decisions.count() == 3


def test_a_schema_made_before_the_experiment_columns_gains_them(
    postgres_dsn: str, tmp_path: Path
) -> None:
    old = record(1, context={"channel": "web"})
    with connect(postgres_dsn) as conn:  # the schema and a row of the first version
        migrate(conn, MIGRATIONS[:1])
        conn.execute(
            "INSERT INTO decisions (decision_id, at, placement, channel, customer, items, "
            "offer_ids, model_versions, personalized, latency_ms, record) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [old.decision_id, old.at, old.placement, "web", old.customer, old.items, ["o1"],
             '{"blend": 3}', True, old.latency_ms, msgspec.json.encode(old).decode()],
        )  # fmt: skip
    storage = open_storage(postgres_dsn, tmp_path)
    try:
        assert storage.decisions.get("d1") == old
        tried = record(2, experiment=ExperimentAssignment(experiment_id="hero", variant="a"))
        storage.decisions.append([tried])
        assert [r.experiment for r in storage.decisions.scan()] == [None, tried.experiment]
    finally:
        storage.close()
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(
            "SELECT decision_id, channel, experiment_id, experiment_variant FROM decisions "
            "ORDER BY at"
        ).fetchall()
    assert rows == [("d1", "web", None, None), ("d2", None, "hero", "a")]
