"""The group-commit writer: per-submission results, dedupe across submissions, failures."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from retailor.domain.events import Event, EventType
from retailor.ingest.writer import GroupCommitWriter, WriterClosedError
from retailor.storage.base import AppendResult, EventLog
from retailor.storage.memory.events import MemoryEventLog
from retailor.storage.memory.quarantine import MemoryQuarantineStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def ev(event_id: str) -> Event:
    return Event(
        event_id=event_id,
        type=EventType.PAGE_VIEWED,
        timestamp=NOW,
        received_at=NOW,
        customer_id="c",
    )


def test_each_submitter_gets_its_own_share() -> None:
    log = MemoryEventLog()
    writer = GroupCommitWriter(log, MemoryQuarantineStore())
    try:
        assert writer.submit([ev("a"), ev("b")]).result(5) == AppendResult(2, [])
        results = [writer.submit([ev("b"), ev(f"n{i}"), ev(f"n{i}")]) for i in range(20)]
        for i, future in enumerate(results):
            result = future.result(5)
            assert result.accepted == 1
            assert result.duplicates == ["b", f"n{i}"]
    finally:
        writer.close()
    assert log.count() == 22


def test_concurrent_submitters_store_each_id_once() -> None:
    log = MemoryEventLog()
    writer = GroupCommitWriter(log, MemoryQuarantineStore())
    accepted: list[int] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        for n in range(50):
            result = writer.submit([ev(f"shared-{n}"), ev(f"own-{worker}-{n}")]).result(5)
            with lock:
                accepted.append(result.accepted)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert log.count() == 50 + 8 * 50
    assert sum(accepted) == log.count()


def test_rejections_are_kept_even_without_events() -> None:
    quarantine = MemoryQuarantineStore()
    writer = GroupCommitWriter(MemoryEventLog(), quarantine)
    from retailor.ingest.quarantining import rejection

    writer.submit([], [rejection(source="t", reason="bad", payload=b"x", received_at=NOW)]).result(
        5
    )
    writer.close()
    assert quarantine.count() == 1


class BrokenLog(MemoryEventLog):
    def append(self, table: pa.Table) -> AppendResult:
        raise OSError("disk full")


def test_a_failed_commit_fails_every_waiting_submitter_and_writing_goes_on() -> None:
    writer = GroupCommitWriter(BrokenLog(), MemoryQuarantineStore())
    future: Future[AppendResult] = writer.submit([ev("a")])
    with pytest.raises(OSError, match="disk full"):
        future.result(5)
    with pytest.raises(OSError):
        writer.submit([ev("b")]).result(5)
    writer.close()
    with pytest.raises(WriterClosedError):
        writer.submit([ev("c")])


def test_close_writes_what_is_queued() -> None:
    log: EventLog = MemoryEventLog()
    writer = GroupCommitWriter(log, MemoryQuarantineStore())
    futures = [writer.submit([ev(f"e{i}")]) for i in range(100)]
    writer.close()
    assert all(f.result(1).accepted == 1 for f in futures)
    assert log.count() == 100


def test_a_task_after_stored_sees_every_earlier_event_stored_and_observed() -> None:
    log = MemoryEventLog()
    observed: list[str] = []
    seen_by_task: list[tuple[int, list[str]]] = []
    writer = GroupCommitWriter(
        log,
        MemoryQuarantineStore(),
        on_stored=lambda events, _position: observed.extend(e.event_id for e in events),
    )
    try:
        sent = [writer.submit([ev(f"e{n}")]) for n in range(30)]
        task = writer.after_stored(lambda: seen_by_task.append((log.count(), list(observed))))
        later = writer.submit([ev("late")])
        task.result(5)
        later.result(5)
        assert all(f.done() for f in sent)
        assert seen_by_task == [(30, [f"e{n}" for n in range(30)])]
        failing = writer.after_stored(lambda: 1 / 0)  # a failing task fails its own future only
        with pytest.raises(ZeroDivisionError):
            failing.result(5)
        assert writer.submit([ev("after")]).result(5).accepted == 1
    finally:
        writer.close()
    with pytest.raises(WriterClosedError):
        writer.after_stored(lambda: None)


def test_wait_idle_returns_once_everything_sent_before_reached_the_projections() -> None:
    gate = threading.Event()
    observed: list[str] = []

    def project(events: list[Event], position: int | None) -> None:
        gate.wait()
        observed.extend(e.event_id for e in events)

    writer = GroupCommitWriter(MemoryEventLog(), MemoryQuarantineStore(), on_stored=project)
    try:
        for n in range(20):
            writer.submit([ev(f"e{n}")])
        assert not writer.wait_idle(timeout=0.05)  # the projections are held back
        gate.set()
        assert writer.wait_idle()
        assert observed == [f"e{n}" for n in range(20)]
        assert writer.wait_idle(timeout=0)  # nothing queued: idle at once
    finally:
        writer.close()
    assert writer.wait_idle()  # everything was handled before the thread stopped
