"""Model summaries: every version with its holdout metrics, the active one marked, and
the active version's freshness (age, events received since it was trained)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from retailor.domain.events import Event, EventType
from retailor.models.summaries import summarize
from retailor.storage.files.models import FileModelRegistry
from retailor.storage.memory.events import MemoryEventLog
from retailor.storage.schema import events_to_table


def test_versions_metrics_and_freshness(tmp_path: Path) -> None:
    registry = FileModelRegistry(tmp_path / "models")
    registry.save("popularity", {}, {"holdout": {"ndcg@10": 0.2, "recall@10": 0.4}})
    second = registry.save("popularity", {}, {"holdout": {"ndcg@10": 0.3, "flag": True}})
    registry.activate("popularity", 1)
    registry.save("clv", {}, {"customers": 10})
    trained = registry.versions("popularity")[0].created_at
    events = MemoryEventLog()
    at = [
        trained - timedelta(minutes=1),
        trained + timedelta(minutes=1),
        trained + timedelta(hours=1),
    ]
    events.append(events_to_table([
        Event(event_id=f"e{n}", type=EventType.PAGE_VIEWED, timestamp=t, received_at=t,
              customer_id="c1") for n, t in enumerate(at)]))  # fmt: skip
    now = trained + timedelta(hours=2)
    clv, popularity = summarize(registry, events, now)
    assert popularity.name == "popularity" and popularity.active_version == 1
    assert [(v.version, v.active) for v in popularity.versions] == [
        (1, True),
        (second.version, False),
    ]
    assert [v.holdout for v in popularity.versions] == [
        {"ndcg@10": 0.2, "recall@10": 0.4}, {"ndcg@10": 0.3}]  # fmt: skip
    assert popularity.trained_at == trained
    assert popularity.age_seconds == 7200
    assert popularity.events_since == 2
    assert clv.versions[0].holdout == {} and clv.active_version == 1
