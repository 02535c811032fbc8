"""``Vocab``: item identifiers as stable integer positions that can grow."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Vocab:
    """A growing list of identifiers and their positions; existing positions never change."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self.ids: list[str] = [str(i) for i in ids]
        self.index: dict[str, int] = {item: i for i, item in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, item: str) -> int:
        position = self.index.get(item)
        if position is None:
            position = self.index[item] = len(self.ids)
            self.ids.append(item)
        return position

    def codes(self, ids: Iterable[str]) -> np.ndarray:
        """The position of each id (added when new), as an int64 array."""
        return np.fromiter((self.add(str(i)) for i in ids), dtype=np.int64)

    def get(self, item: str) -> int | None:
        return self.index.get(item)

    def array(self) -> np.ndarray:
        return np.asarray(self.ids, dtype=str)
