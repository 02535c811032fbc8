"""The SnapshotStore contract (see storage/base.py), run against memory and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from retailor.storage.base import SnapshotStore
from retailor.storage.factory import open_storage
from retailor.storage.memory.snapshots import MemorySnapshotStore


@pytest.fixture(params=["memory", "postgres"])
def snapshots(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SnapshotStore]:
    if request.param == "memory":
        yield MemorySnapshotStore()
        return
    storage = open_storage(request.getfixturevalue("postgres_dsn"), tmp_path)
    from retailor.storage.postgres.snapshots import PostgresSnapshotStore

    assert isinstance(storage.snapshots, PostgresSnapshotStore)
    storage.snapshots._part_bytes = 1000  # many parts even for small snapshots
    yield storage.snapshots
    storage.close()


def test_none_before_the_first(snapshots: SnapshotStore) -> None:
    assert snapshots.latest("projections") is None


def test_the_newest_position_wins_and_bytes_come_back_exactly(snapshots: SnapshotStore) -> None:
    data = bytes(range(256)) * 100
    snapshots.save("projections", 7, data)
    snapshots.save("projections", 3, b"older, saved later")
    snapshots.save("other", 99, b"another kind")
    assert snapshots.latest("projections") == (7, data)
    assert snapshots.latest("other") == (99, b"another kind")


def test_only_the_newest_few_are_kept(snapshots: SnapshotStore) -> None:
    for position in range(1, 6):
        snapshots.save("projections", position, f"at {position}".encode(), keep=2)
    assert snapshots.latest("projections") == (5, b"at 5")
    snapshots.save("projections", 6, b"at 6", keep=1)
    assert snapshots.latest("projections") == (6, b"at 6")


def test_a_snapshot_of_many_parts_comes_back_whole(snapshots: SnapshotStore) -> None:
    data = bytes(n % 251 for n in range(25_999))
    snapshots.save("projections", 1, data)
    snapshots.save("projections", 2, b"")
    snapshots.save("projections", 3, data[:1000])
    assert snapshots.latest("projections") == (3, data[:1000])
    snapshots.save("projections", 4, data, keep=3)
    assert snapshots.latest("projections") == (4, data)


def test_clear_removes_every_snapshot_of_every_kind(snapshots: SnapshotStore) -> None:
    snapshots.save("projections", 1, bytes(2500))
    snapshots.save("projections", 2, b"two")
    snapshots.save("other", 5, b"five")
    assert snapshots.clear() == 3
    assert snapshots.latest("projections") is None and snapshots.latest("other") is None
    assert snapshots.clear() == 0
    snapshots.save("projections", 3, b"after")
    assert snapshots.latest("projections") == (3, b"after")
