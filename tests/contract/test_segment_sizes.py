"""The SegmentSizeStore contract, against every adapter: memory, DuckDB (reopened from
the file, as after a restart) and PostgreSQL (views opened as other workers would)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from retailor.storage.factory import Storage, open_storage
from retailor.storage.memory.segment_sizes import MemorySegmentSizeStore
from retailor.storage.segment_sizes import SegmentSize, SegmentSizeStore

#: Opens one more view of the same samples, as another process (or a restart) would.
OpenSizes = Callable[[], SegmentSizeStore]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sample(size: int, *, hours: float = 0, segment: str = "vip") -> SegmentSize:
    return SegmentSize(segment_id=segment, at=T0 + timedelta(hours=hours), size=size)


@pytest.fixture(params=["memory", "duckdb", "postgres"])
def open_sizes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenSizes]:
    if request.param == "memory":
        store = MemorySegmentSizeStore()
        yield lambda: store
        return
    opened: list[Storage] = []
    if request.param == "duckdb":
        path = tmp_path / "r.duckdb"

        def reopen() -> SegmentSizeStore:  # one process owns the file: close, then reopen
            for storage in opened:
                storage.close()
            opened.clear()
            opened.append(open_storage(f"duckdb://{path}", tmp_path))
            return opened[-1].segment_sizes

        yield reopen
    else:
        dsn = request.getfixturevalue("postgres_dsn")

        def open_view() -> SegmentSizeStore:
            opened.append(open_storage(dsn, tmp_path))
            return opened[-1].segment_sizes

        yield open_view
    for storage in opened:
        storage.close()


def test_samples_come_back_oldest_first_and_durable(open_sizes: OpenSizes) -> None:
    store = open_sizes()
    store.record(sample(5, hours=2))
    store.record(sample(3))
    store.record(sample(4, hours=1))
    later = open_sizes()
    assert later.history("vip") == [sample(3), sample(4, hours=1), sample(5, hours=2)]
    assert later.latest("vip") == sample(5, hours=2)


def test_the_same_moment_is_replaced(open_sizes: OpenSizes) -> None:
    store = open_sizes()
    store.record(sample(3))
    store.record(sample(7))
    assert store.history("vip") == [sample(7)]


def test_history_reads_a_range_start_inclusive_end_exclusive(open_sizes: OpenSizes) -> None:
    store = open_sizes()
    for hour in range(5):
        store.record(sample(hour, hours=hour))
    got = store.history("vip", T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    assert [s.size for s in got] == [1, 2]
    assert [s.size for s in store.history("vip", start=T0 + timedelta(hours=3))] == [3, 4]
    assert [s.size for s in store.history("vip", end=T0 + timedelta(hours=1))] == [0]


def test_segments_are_apart_and_delete_counts(open_sizes: OpenSizes) -> None:
    store = open_sizes()
    store.record(sample(1))
    store.record(sample(2, hours=1))
    store.record(sample(9, segment="other"))
    assert store.latest("nobody") is None
    assert store.history("nobody") == []
    assert store.delete("vip") == 2
    assert store.delete("vip") == 0
    assert store.history("vip") == []
    assert open_sizes().history("other") == [sample(9, segment="other")]


def test_times_come_back_in_utc_to_the_microsecond(open_sizes: OpenSizes) -> None:
    store = open_sizes()
    paris = timezone(timedelta(hours=1))
    at = datetime(2026, 3, 1, 13, 0, 0, 123456, tzinfo=paris)
    store.record(SegmentSize(segment_id="vip", at=at, size=4))
    got = open_sizes().latest("vip")
    assert got is not None
    assert got.at == at and got.at.utcoffset() == timedelta(0)
    assert got.at.microsecond == 123456
