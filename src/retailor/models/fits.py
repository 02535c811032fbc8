"""``Fits``: the models of one training run, each fitted once per cutoff and shared.

A run asks for the same fits several times: a holdout candidate is a model fitted on
everything before the holdout, which is also what the blend's newest validation window
needs, and the blend's windows of the holdout and of the final fit overlap. Cutoffs are
rounded to the millisecond so that the same instant, computed two ways, is one key.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from retailor.models.base import Recommender
from retailor.models.interactions import Interactions

T = TypeVar("T")


def cutoff(t: float) -> float:
    """A cutoff instant as the key it is known by."""
    return round(t, 3)


class Fits:
    """Subsets of ``data`` before a cutoff, models fitted on them, and other derived
    values, each made on first request."""

    def __init__(self, data: Interactions, seed: int = 0) -> None:
        self.data = data
        self.seed = seed
        self._memo: dict[Hashable, Any] = {}

    def until(self, before: float | None) -> Interactions:
        """The rows before ``before`` (None: all of them)."""
        if before is None:
            return self.data
        return self.memo(("rows", cutoff(before)), lambda: self.data.before(cutoff(before)))

    def model(self, name: str, before: float | None = None) -> Recommender:
        """Model ``name`` fitted on the rows before ``before``."""
        key = ("model", name, None if before is None else cutoff(before))

        def make() -> Recommender:
            from retailor.models.blend import Blend
            from retailor.models.families import create

            model = create(name, seed=self.seed)
            if isinstance(model, Blend):
                return model.fit_from(self, before)
            return model.fit(self.until(before))

        return self.memo(key, make)

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = make()
        value: T = self._memo[key]
        return value
