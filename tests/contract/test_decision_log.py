"""The DecisionLog contract, against every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from retailor.domain.decisions import (
    DecisionRecord,
    ExperimentAssignment,
    FeedbackRecord,
    LoggedOffer,
)
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
