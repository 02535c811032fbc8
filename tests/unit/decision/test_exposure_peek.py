"""A preview's look at experiment groups: ``ExposureTracker.peek`` answers what
``assignment`` would (a recorded first exposure under any identifier, else the variant the
unit would be given) and remembers and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from retailor.decision.exposure import ExposureTracker
from retailor.storage.memory.exposures import MemoryExposureStore

AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_peek_answers_the_assignment_without_recording_it() -> None:
    store = MemoryExposureStore()
    tracker = ExposureTracker(store, background=False)
    peeked = tracker.peek("hero", 1, "ada", ("ada", "a:dev-1"), lambda unit: "treatment", AT)
    assert (peeked.unit, peeked.variant, peeked.first_exposure_at) == ("ada", "treatment", AT)
    assert store.units("hero") == []
    # the real first exposure is made later, and peeking again finds it (not a new one)
    first = tracker.assignment("hero", 1, "ada", ("ada",), lambda unit: "control", AT)
    assert first.variant == "control" and [a.unit for a in store.units("hero")] == ["ada"]
    again = tracker.peek("hero", 1, "ada", ("a:dev-1", "ada"), lambda unit: "treatment")
    assert again == first


def test_peek_finds_a_first_exposure_recorded_by_another_process() -> None:
    store = MemoryExposureStore()
    ExposureTracker(store, background=False).assignment(
        "hero", 1, "a:dev-2", ("a:dev-2",), lambda unit: "treatment", AT
    )
    fresh = ExposureTracker(store, background=False)  # an empty cache
    found = fresh.peek("hero", 1, "bo", ("bo", "a:dev-2"), lambda unit: "control")
    assert (found.unit, found.variant) == ("a:dev-2", "treatment")
    assert len(store.units("hero")) == 1
