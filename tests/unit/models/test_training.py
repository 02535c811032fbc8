"""Training runs: versions with metrics, the holdout gate, artifacts that load back."""

from __future__ import annotations

from pathlib import Path

from retailor.models.families import load
from retailor.models.training import train_models
from retailor.storage.files.models import FileModelRegistry
from tests.unit.models.synthetic import shop


def test_versions_are_kept_and_gated_on_the_holdout(tmp_path: Path) -> None:
    registry = FileModelRegistry(tmp_path / "models")
    data = shop(days=60)
    first = train_models(data, registry, ["popularity", "item_item"], holdout_days=10)
    assert [o.activated for o in first] == [True, True]
    assert first[0].record.metrics["holdout"]["ndcg@10"] >= 0
    again = train_models(data, registry, ["popularity"], holdout_days=10)
    assert again[0].activated, again[0].reason  # same data, same model: not worse
    assert [r.version for r in registry.versions("popularity")] == [1, 2]
    blob = registry.artifact("popularity", 2)
    assert blob is not None and load("popularity", blob).recommend(None, k=3)

    # an active version with better holdout figures than a new one can reach keeps its place
    record = registry.active("item_item")
    assert record is not None
    better = {**record.metrics, "holdout": {"ndcg@10": 0.99, "recall@10": 0.99}}
    registry.save(
        "item_item",
        {**record.params, "trained_until": 1e18},
        better,
        artifact=registry.artifact("item_item", 1),
    )
    worse = train_models(data, registry, ["item_item"], holdout_days=10)[0]
    assert not worse.activated and "kept inactive" in worse.reason
    active = registry.active("item_item")
    assert active is not None and active.version == 2
    assert registry.activate("item_item", 3).version == 3  # a manual roll-forward
