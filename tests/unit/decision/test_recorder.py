"""The decision log writer: ``wait_idle`` returns once what was queued is written and the
feedback processing that follows each write has run, without waiting for the interval."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from retailor.decision.recorder import DecisionRecorder
from retailor.domain.decisions import DecisionRecord
from retailor.storage.memory.decisions import MemoryDecisionLog

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def record(decision_id: str) -> DecisionRecord:
    return DecisionRecord(
        decision_id=decision_id, at=NOW, placement="home", customer="c1", anonymous_id=None,
        context={}, items=["sku1"], sources=["popular"], offers=[], model_versions={},
        personalized=False, fallback=None, latency_ms=1.0,
    )  # fmt: skip


def test_wait_idle_returns_once_the_queued_decisions_are_written_and_feedback_ran() -> None:
    store = MemoryDecisionLog()
    written_when_pumped: list[int] = []
    gate = threading.Event()

    def pump() -> None:
        gate.wait()
        written_when_pumped.append(store.count())

    recorder = DecisionRecorder(store, flush_seconds=3600, on_flush=pump)
    try:
        gate.set()
        for n in range(5):
            recorder.add(record(f"d{n}"))
        assert recorder.wait_idle(timeout=60)  # an hour-long interval is not waited out
        assert store.count() == 5 and written_when_pumped[-1] == 5
        gate.clear()
        recorder.add(record("d5"))
        assert not recorder.wait_idle(timeout=0.05)  # feedback processing is held back
        gate.set()
        assert recorder.wait_idle(timeout=60)
        assert written_when_pumped[-1] == 6
    finally:
        gate.set()
        recorder.close()
    assert not recorder.wait_idle(timeout=60)  # stopped: nobody is kept waiting
