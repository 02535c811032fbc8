"""The server's model service: live models before any training, freshness from the
stream, scheduled retraining in the background, and swapping in what became active."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retailor.domain.events import Event, EventType
from retailor.models.base import Context
from retailor.models.errors import NotTrainedError
from retailor.models.serving import ModelService
from retailor.storage.files.models import FileModelRegistry
from retailor.storage.schema import events_to_table


def views(start: datetime, n: int, item: str = "sku{k}", prefix: str = "e") -> list[Event]:
    return [
        Event(
            event_id=f"{prefix}{k}",
            type=EventType.PRODUCT_VIEWED,
            timestamp=start + timedelta(hours=k),
            received_at=start,
            customer_id=f"c{k % 7}",
            session_id=f"s{k // 3}",
            properties={"item_id": item.format(k=k % 5)},
        )
        for k in range(n)
    ]


def service(tmp_path: Path, log: list[Event], retrain_every: float) -> ModelService:
    return ModelService(
        FileModelRegistry(tmp_path / "models"),
        lambda: events_to_table(log).to_batches(),
        lambda identifier: identifier,
        lambda ids: {},
        lambda: [],
        refresh_seconds=0.1,
        retrain_every=retrain_every,
    )


def wait_until(check: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_live_models_answer_and_learn_from_the_stream(tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(days=3)
    models = service(tmp_path, views(start, 40), retrain_every=0)
    models.start()
    try:
        used, items = models.recommend("blend", "c1", Context(), 3)
        assert used == "popularity" and items
        models.observe(views(datetime.now(UTC), 12, item="brand-new", prefix="n"))
        assert models.wait_idle(timeout=60)
        assert models.recommend("trending", None, Context(), 1)[1][0].item_id == "brand-new"
    finally:
        models.close()


def test_scheduled_retraining_swaps_in_new_versions(tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(days=3)
    models = service(tmp_path, views(start, 60), retrain_every=0.2)
    models.start()
    try:
        assert wait_until(lambda: models.versions.get("blend") is not None, seconds=60)
        assert models.registry.active("item_item") is not None
        used, items = models.recommend("blend", "c1", Context(), 3)
        assert used == "blend" and items
    finally:
        models.close()


def test_wait_idle_keeps_nobody_waiting_when_nothing_folds(tmp_path: Path) -> None:
    models = service(tmp_path, [], retrain_every=0)
    assert models.wait_idle()  # nothing observed
    models.observe(views(datetime.now(UTC), 3))
    assert not models.wait_idle()  # not started: nothing folds what is observed
    models.start()
    assert models.wait_idle(timeout=60)
    models.close()
    models.observe(views(datetime.now(UTC), 3, prefix="late"))
    assert not models.wait_idle()  # closed


def test_a_model_not_trained_yet_is_its_own_error(tmp_path: Path) -> None:
    models = service(tmp_path, [], retrain_every=0)  # not started: nothing loaded
    asks = {
        "als": lambda: models.recommend("als", "c1", Context(), 3),
        "blend": lambda: models.recommend("blend", None, Context(), 3),  # nor any fallback
        "item_item": lambda: models.similar("item_item", ["sku1"], 3),
    }
    for name, ask in asks.items():
        with pytest.raises(NotTrainedError, match=f"model '{name}' has not been trained") as raised:
            ask()
        assert raised.value.name == name and not isinstance(raised.value, KeyError)


def test_a_pinned_block_sees_one_set_while_versions_are_swapped_in(tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(days=3)
    models = service(tmp_path, views(start, 40), retrain_every=0)
    other = service(tmp_path, views(start, 40), retrain_every=0)  # another process, same registry
    models.start()
    try:
        assert models.versions.get("popularity") is None  # fitted live
        with models.pinned() as pinned:
            other.train(["popularity", "trending"])
            assert models.reload() == ["popularity", "trending"]  # swapped in as one set
            assert models.versions is pinned.versions  # the block still reads its own set
            assert models.versions.get("popularity") is None
            assert models.get("trending") is pinned.models["trending"]
        latest = models.snapshot()
        assert latest.generation > pinned.generation
        assert latest.versions["popularity"] == latest.versions["trending"] == 1
        assert models.reload() == []  # nothing new
    finally:
        models.close()
