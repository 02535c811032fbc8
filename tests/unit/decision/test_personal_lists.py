"""Personal lists shared between workers through the hot cache."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from retailor.decision.personal import PersonalLists
from retailor.models.base import Scored
from retailor.models.serving import ModelSet
from retailor.storage.memory.cache import MemoryHotCache


class CountingModels:
    """A model service answering a fixed blend and counting what it computed."""

    def __init__(self, versions: dict[str, int | None]) -> None:
        self.set = ModelSet(MappingProxyType({}), MappingProxyType(versions), 1)
        self.computed: list[str | None] = []

    @property
    def generation(self) -> int:
        return self.set.generation

    def snapshot(self) -> ModelSet:
        return self.set

    def recommend(self, name: str, who: str | None, context: Any, n: int) -> Any:
        self.computed.append(who)
        return "blend", [Scored(1.0 / (i + 1), f"sku-{i}") for i in range(n)]


def _lists(models: CountingModels, cache: MemoryHotCache | None) -> PersonalLists:
    return PersonalLists(
        models,  # type: ignore[arg-type]
        lambda used, scored: f"by {used}",
        background=False,
        shared=cache,
    )


def test_a_list_computed_by_one_worker_is_taken_by_another() -> None:
    cache = MemoryHotCache()
    first_models, second_models = CountingModels({"blend": 3}), CountingModels({"blend": 3})
    first, second = _lists(first_models, cache), _lists(second_models, cache)
    assert first.get("c1", 5) == second.get("c1", 5)
    assert first_models.computed == ["c1"] and second_models.computed == []


def test_lists_of_other_versions_or_unregistered_models_are_not_shared() -> None:
    cache = MemoryHotCache()
    _lists(CountingModels({"blend": 3}), cache).get("c1", 5)
    newer = CountingModels({"blend": 4})
    _lists(newer, cache).get("c1", 5)
    assert newer.computed == ["c1"]
    fitted_at_start = CountingModels({"blend": None})
    _lists(fitted_at_start, cache).get("c2", 5)
    again = CountingModels({"blend": None})
    _lists(again, cache).get("c2", 5)
    assert again.computed == ["c2"]
