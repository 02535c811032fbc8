"""Deterministic assignment of units to variants and to the global holdout: pure
functions, no I/O, the same answer in every process.

A unit's **bucket** in an experiment is the first 8 bytes of
``sha256(f"{experiment_id}:{phase}:{unit}")`` read as a big-endian unsigned integer and
divided by 2**64: a number in [0, 1) spread evenly over units. The unit gets the first
variant (in the definition's order) whose cumulative weight is above its bucket. The
holdout uses the key ``holdout`` in place of the experiment id: a unit is held out when
its bucket is below the share (so raising the share keeps everyone held out so far).

A unit is the canonical customer id when the request resolves to a known customer, else
``a:`` and the visitor id; a request with neither is in no experiment.

>>> bucket("exp", 1, "c1") == bucket("exp", 1, "c1")
True
>>> choose([("a", 0.5), ("b", 0.5)], 0.7)
'b'
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from retailor.domain.experiments import HOLDOUT_ID

_SCALE = float(2**64)


def bucket(key: str, phase: int, unit: str) -> float:
    """The unit's place in [0, 1) for ``key`` (an experiment id) and ``phase``."""
    digest = hashlib.sha256(f"{key}:{phase}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def choose(split: Sequence[tuple[str, float]], place: float) -> str:
    """The variant whose cumulative weight range holds ``place`` (the last one for a
    place the rounding of the weights leaves past the sum)."""
    total = 0.0
    for variant, weight in split:
        total += weight
        if place < total:
            return variant
    return split[-1][0]


def assign(experiment_id: str, phase: int, split: Sequence[tuple[str, float]], unit: str) -> str:
    """The variant ``unit`` gets in this phase of the experiment."""
    return choose(split, bucket(experiment_id, phase, unit))


def held_out(share: float, phase: int, unit: str) -> bool:
    """Whether ``unit`` is in the global holdout of this share and phase."""
    return share > 0 and bucket(HOLDOUT_ID, phase, unit) < share
