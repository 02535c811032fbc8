"""The DecisionLog contract, against every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from retailor.domain.decisions import (
    DecisionRecord,
    ExperimentAssignment,
    FeedbackRecord,
    LoggedOffer,
)
from retailor.domain.privacy import Subject
from retailor.storage.factory import Storage

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def record(n: int, **fields: object) -> DecisionRecord:
    base: dict[str, object] = {
        "decision_id": f"d{n}",
        "at": T0 + timedelta(minutes=n),
        "placement": "home",
        "customer": f"c{n % 3}",
        "anonymous_id": None,
        "context": {"item_id": "sku1", "cart": ["a", "b"]},
        "items": ["x", "y"],
        "sources": ["personal", "trending_now"],
        "offers": [
            LoggedOffer(
                offer_id="o1", probability=0.25, eligible=["o1", "o2"], features={"tier": "gold"}
            )
        ],
        "model_versions": {"blend": 3, "trending": None},
        "personalized": True,
        "fallback": None,
        "latency_ms": 0.4,
    }
    base.update(fields)
    return DecisionRecord(**base)  # type: ignore[arg-type]


def test_decisions_round_trip(storage: Storage) -> None:
    log = storage.decisions
    log.append([record(2), record(1)])
    assert log.count() == 2
    got = log.get("d1")
    assert got == record(1)
    assert log.get("nope") is None
    assert [r.decision_id for r in log.scan()] == ["d1", "d2"]
    assert [r.decision_id for r in log.scan(start=T0 + timedelta(minutes=2))] == ["d2"]
    log.append([])


def test_a_decision_keeps_its_experiment_variant(storage: Storage) -> None:
    log = storage.decisions
    tried = record(1, experiment=ExperimentAssignment(experiment_id="hero", variant="b"))
    log.append([tried, record(2)])
    assert log.get("d1") == tried
    assert [r.experiment for r in log.scan()] == [tried.experiment, None]


def test_a_decision_keeps_its_phase_unit_and_holdout(storage: Storage) -> None:
    log = storage.decisions
    tried = record(
        1,
        experiment=ExperimentAssignment(experiment_id="hero", variant="b", phase=2, unit="a:v1"),
        holdout=False,
    )
    held = record(2, holdout=True, personalized=False)
    log.append([tried, held, record(3)])
    assert log.get("d1") == tried
    assert [r.holdout for r in log.scan()] == [False, True, None]


def test_feedback_is_kept_in_order(storage: Storage) -> None:
    log = storage.decisions
    log.append([record(1)])
    later = FeedbackRecord(decision_id="d1", at=T0 + timedelta(hours=2), type="redeemed", item_id=None,
                           offer_id="o1", value=12.5, source="api")  # fmt: skip
    earlier = FeedbackRecord(decision_id="d1", at=T0 + timedelta(hours=1), type="clicked", item_id="x",
                             offer_id=None, value=None, source="event")  # fmt: skip
    other = FeedbackRecord(decision_id="d9", at=T0, type="viewed", item_id="y", offer_id=None, value=None,
                           source="api")  # fmt: skip
    log.add_feedback([later, earlier, other])
    log.add_feedback([])
    assert log.feedback(decision_id="d1") == [earlier, later]
    assert log.feedback() == [other, earlier, later]


def test_decisions_between_follow_a_cursor(storage: Storage) -> None:
    log = storage.decisions
    same_time = [record(n, at=T0 + timedelta(minutes=5)) for n in (7, 6)]
    log.append([record(3), record(1), record(2), *same_time, record(9)])
    until = T0 + timedelta(minutes=6)
    first = log.decisions_between(None, until, 2)
    assert [r.decision_id for r in first] == ["d1", "d2"]
    assert first[0] == record(1)
    cursor = (first[-1].at, first[-1].decision_id)
    rest = log.decisions_between(cursor, until, 10)
    assert [r.decision_id for r in rest] == ["d3", "d6", "d7"]
    # one of two decisions at the same time read: the other one comes next
    middle = (rest[1].at, rest[1].decision_id)
    assert [r.decision_id for r in log.decisions_between(middle, until, 10)] == ["d7"]
    last = (rest[-1].at, rest[-1].decision_id)
    assert log.decisions_between(last, until, 10) == []
    assert [r.decision_id for r in log.decisions_between(last, T0 + timedelta(hours=1), 10)] == [
        "d9"
    ]


def test_feedback_for_some_decisions(storage: Storage) -> None:
    log = storage.decisions

    def fb(decision_id: str, minutes: int) -> FeedbackRecord:
        return FeedbackRecord(decision_id=decision_id, at=T0 + timedelta(minutes=minutes),
                              type="redeemed", item_id=None, offer_id="o1", value=None,
                              source="api")  # fmt: skip

    log.add_feedback([fb("d2", 3), fb("d1", 2), fb("d3", 1), fb("d1", 1)])
    assert log.feedback_for(["d1", "d2", "d9"]) == [fb("d1", 1), fb("d1", 2), fb("d2", 3)]
    assert log.feedback_for([]) == []


def test_logged_between_reads_in_the_order_of_writing(storage: Storage) -> None:
    """A decision made "in the past" (a replay) but appended later comes after those
    appended before it, whatever its ``at``: a reader that follows the logged cursor
    misses nothing."""
    log = storage.decisions
    before = datetime.now(UTC) - timedelta(seconds=1)
    log.append([record(5), record(4)])
    first = log.logged_between(None, datetime.now(UTC) + timedelta(seconds=1), 10)
    assert [d.record.decision_id for d in first] == ["d4", "d5"]
    assert first[0].record == record(4)
    assert all(before <= d.logged_at <= datetime.now(UTC) for d in first)
    cursor = (first[-1].logged_at, first[-1].record.decision_id)
    # appended afterwards with an older time: still after the cursor
    log.append([record(1), record(2)])
    until = datetime.now(UTC) + timedelta(seconds=1)
    rest = log.logged_between(cursor, until, 10)
    assert [d.record.decision_id for d in rest] == ["d1", "d2"]
    assert rest[0].logged_at >= first[-1].logged_at
    # the limit, then the next page from the last one read
    page = log.logged_between(None, until, 3)
    assert [d.record.decision_id for d in page] == ["d4", "d5", "d1"]
    after = (page[-1].logged_at, page[-1].record.decision_id)
    assert [d.record.decision_id for d in log.logged_between(after, until, 3)] == ["d2"]
    # nothing logged after ``until``
    assert log.logged_between(None, before, 10) == []


def test_a_subjects_decisions_are_named_and_erased_with_their_feedback(storage: Storage) -> None:
    log = storage.decisions

    def fb(decision_id: str) -> FeedbackRecord:
        return FeedbackRecord(decision_id=decision_id, at=T0, type="clicked", item_id="x",
                              offer_id=None, value=None, source="api")  # fmt: skip

    # record(n) is for customer c{n % 3}: c1 gets d1 and d4; d2 is c2's
    visitor = record(6, customer=None, anonymous_id="v-ann")
    log.append([record(4), record(1), record(2), visitor])
    log.add_feedback([fb("d1"), fb("d1"), fb("d2"), fb("d6"), fb("d4")])
    ann = Subject(ids=("c1", "v-ann"), texts=("ann@example.com",))
    assert [r.decision_id for r in log.naming(ann)] == ["d1", "d4", "d6"]
    assert log.naming(ann)[0] == record(1)
    assert log.naming(Subject(texts=("ann@example.com",))) == []
    assert log.erase(ann) == 3 + 4
    assert log.erase(ann) == 0
    assert log.naming(ann) == []
    assert [r.decision_id for r in log.scan()] == ["d2"] and log.count() == 1
    assert log.get("d1") is None
    assert log.feedback() == [fb("d2")]
    assert log.feedback_for(["d1", "d4", "d6"]) == []
