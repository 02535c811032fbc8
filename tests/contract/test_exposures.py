"""The ExposureStore contract, against every adapter: memory, DuckDB (an index in front of
the table, reopened from the file) and PostgreSQL (views opened as other workers would)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from retailor.domain.experiments import Assignment
from retailor.storage.experiments import ExposureStore
from retailor.storage.factory import Storage, open_storage
from retailor.storage.memory.exposures import MemoryExposureStore

#: Opens one more view of the same exposures, as another process (or a restart) would.
OpenExposures = Callable[[], ExposureStore]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def first(unit: str, variant: str = "a", *, seconds: float = 0, phase: int = 1,
          experiment: str = "exp") -> Assignment:  # fmt: skip
    return Assignment(
        experiment_id=experiment,
        phase=phase,
        unit=unit,
        variant=variant,
        first_exposure_at=T0 + timedelta(seconds=seconds),
    )


@pytest.fixture(params=["memory", "duckdb", "postgres"])
def open_exposures(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenExposures]:
    if request.param == "memory":
        store = MemoryExposureStore()
        yield lambda: store
        return
    opened: list[Storage] = []
    if request.param == "duckdb":
        path = tmp_path / "r.duckdb"

        def reopen() -> ExposureStore:  # one process owns the file: close, then reopen
            for storage in opened:
                storage.close()
            opened.clear()
            opened.append(open_storage(f"duckdb://{path}", tmp_path))
            return opened[-1].exposures

        yield reopen
    else:
        dsn = request.getfixturevalue("postgres_dsn")

        def open_view() -> ExposureStore:
            opened.append(open_storage(dsn, tmp_path))
            return opened[-1].exposures

        yield open_view
    for storage in opened:
        storage.close()


def test_the_first_exposure_wins(open_exposures: OpenExposures) -> None:
    store = open_exposures()
    kept = store.record(first("c1", "a"))
    assert kept == first("c1", "a")
    again = store.record(first("c1", "b", seconds=60))
    assert again == first("c1", "a")
    assert store.find("exp", 1, ["c1"]) == first("c1", "a")
    later = open_exposures()
    assert later.record(first("c1", "b", seconds=120)) == first("c1", "a")
    assert later.units("exp") == [first("c1", "a")]


def test_phases_and_experiments_are_apart(open_exposures: OpenExposures) -> None:
    store = open_exposures()
    store.record(first("c1", "a"))
    store.record(first("c1", "b", phase=2, seconds=10))
    store.record(first("c1", "b", experiment="other", seconds=5))
    assert store.find("exp", 1, ["c1"]) == first("c1", "a")
    assert store.find("exp", 2, ["c1"]) == first("c1", "b", phase=2, seconds=10)
    assert store.find("exp", 3, ["c1"]) is None
    assert store.find("nope", 1, ["c1"]) is None
    assert store.units("exp") == [first("c1", "a"), first("c1", "b", phase=2, seconds=10)]
    assert store.units("exp", 2) == [first("c1", "b", phase=2, seconds=10)]
    assert store.units("other") == [first("c1", "b", experiment="other", seconds=5)]


def test_find_gives_the_earliest_of_a_cluster(open_exposures: OpenExposures) -> None:
    store = open_exposures()
    store.record(first("c1", "b", seconds=30))
    store.record(first("a:v1", "a", seconds=10))
    store.record(first("a:v2", "b", seconds=20))
    view = open_exposures()
    assert view.find("exp", 1, ["c1", "a:v1", "a:v2"]) == first("a:v1", "a", seconds=10)
    assert view.find("exp", 1, ["c1", "a:v2", "a:unseen"]) == first("a:v2", "b", seconds=20)
    assert view.find("exp", 1, ["a:unseen"]) is None
    assert view.find("exp", 1, []) is None


def test_units_are_oldest_first_and_delete_removes_every_phase(
    open_exposures: OpenExposures,
) -> None:
    store = open_exposures()
    for i, unit in enumerate(["u3", "u1", "u2"]):
        store.record(first(unit, seconds=100 - i))
    store.record(first("u9", phase=2))
    store.record(first("u1", experiment="kept"))
    assert [a.unit for a in store.units("exp", 1)] == ["u2", "u1", "u3"]
    assert store.delete("exp") == 4
    view = open_exposures()
    assert view.units("exp") == []
    assert view.find("exp", 1, ["u1"]) is None
    assert view.units("kept") == [first("u1", experiment="kept")]
    assert view.delete("exp") == 0


def test_times_come_back_in_utc_to_the_microsecond(open_exposures: OpenExposures) -> None:
    store = open_exposures()
    at = datetime(2026, 3, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    store.record(
        Assignment(experiment_id="exp", phase=1, unit="c1", variant="a", first_exposure_at=at)
    )
    got = open_exposures().find("exp", 1, ["c1"])
    assert got is not None and got.first_exposure_at == at
    assert got.first_exposure_at.utcoffset() == timedelta(0)


def test_racing_first_exposures_agree(
    open_exposures: OpenExposures, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["open_exposures"] == "duckdb":
        views = [open_exposures()] * 4  # one process owns the file: threads share it
    else:
        views = [open_exposures() for _ in range(4)]
    got: list[Assignment] = []
    lock = threading.Lock()
    start = threading.Barrier(len(views))

    def race(i: int) -> None:
        start.wait()
        kept = views[i].record(first("c-race", f"v{i}", seconds=i))
        with lock:
            got.append(kept)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(views))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({a.variant for a in got}) == 1
    assert views[-1].units("exp") == [got[0]]


def test_a_persons_assignments_are_named_and_erased(open_exposures: OpenExposures) -> None:
    store = open_exposures()
    store.record(first("c1", seconds=5))
    store.record(first("c1", "b", seconds=1, experiment="hero"))
    store.record(first("v1", seconds=3, phase=2))
    store.record(first("c2", seconds=2))
    store.record(first("c12", seconds=4, experiment="hero"))
    store = open_exposures()
    named = store.naming(["c1", "v1"])
    assert [(a.experiment_id, a.phase, a.unit) for a in named] == [
        ("hero", 1, "c1"),
        ("exp", 2, "v1"),
        ("exp", 1, "c1"),
    ]
    assert named[0] == first("c1", "b", seconds=1, experiment="hero")
    assert store.naming([]) == [] and store.naming(["nobody"]) == []
    assert store.erase(["c1", "v1"]) == 3
    assert store.erase(["c1", "v1"]) == 0
    assert store.erase([]) == 0
    store = open_exposures()
    assert store.naming(["c1", "v1"]) == []
    assert store.find("exp", 1, ["c1"]) is None
    assert [a.unit for a in store.units("exp")] == ["c2"]
    assert [a.unit for a in store.units("hero")] == ["c12"]
