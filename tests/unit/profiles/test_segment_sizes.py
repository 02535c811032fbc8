"""The segment size sampler keeps a sample when a segment has none, when its size
changed and once a day, and nothing more; a segment still building is left for later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from retailor.profiles.segment_sizes import SegmentSizeSampler, size_history
from retailor.storage.memory.segment_sizes import MemorySegmentSizeStore
from tests.unit.profiles.test_identity import order
from tests.unit.profiles.test_segment_counts import fold, setup

BUYERS = {"trait": "order_count", "op": "gte", "value": 1}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_sample_on_first_sight_on_change_and_once_a_day(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    fold(profiles, log, [order(0, "c1", None, "o1", ("boot", 1, 10.0))])
    segments.put("buyers", BUYERS)
    store = MemorySegmentSizeStore()
    now = [T0]
    sampler = SegmentSizeSampler(segments, store, clock=lambda: now[0])

    assert [s.size for s in sampler.run_once()] == [1]
    now[0] = T0 + timedelta(minutes=1)
    assert sampler.run_once() == []  # same size, same day: nothing new
    fold(profiles, log, [order(5, "c2", None, "o2", ("mug", 1, 5.0))])
    now[0] = T0 + timedelta(minutes=2)
    assert [(s.at, s.size) for s in sampler.run_once()] == [(now[0], 2)]
    now[0] = T0 + timedelta(days=1)
    assert [(s.at, s.size) for s in sampler.run_once()] == [(now[0], 2)]  # a new day
    history = size_history(store, "buyers")
    assert [s.size for s in history] == [1, 2, 2]
    assert [s.size for s in size_history(store, "buyers", start=T0 + timedelta(minutes=2))] == [
        2,
        2,
    ]
    segments.close()


def test_a_building_segment_waits(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    fold(profiles, log, [order(0, "c1", None, "o1", ("boot", 1, 10.0))])
    counted = {"event": "order_completed", "within_days": 30, "min_count": 1}
    store = MemorySegmentSizeStore()
    sampler = SegmentSizeSampler(segments, store, clock=lambda: T0)
    segments.put("orderers", counted, wait=0)
    if not segments.ready("orderers"):  # still building: no sample of it yet
        assert sampler.run_once() == []
        assert store.latest("orderers") is None
    segments.idle()
    assert [s.size for s in sampler.run_once()] == [1]
    segments.close()
