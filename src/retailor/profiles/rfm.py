"""Recency, frequency and monetary value: quintile scores over the customer base and the
named segments of the classic R x F grid.

Recency is counted in days to the newest event Retailor has seen (``as_of``), so a
history imported from the past is scored as it stood then.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime

# (name, lowest R, highest R, lowest F, highest F); the first match wins.
SEGMENTS: tuple[tuple[str, int, int, int, int], ...] = (
    ("champions", 4, 5, 4, 5),
    ("cannot lose them", 1, 2, 5, 5),
    ("at risk", 1, 2, 3, 4),
    ("loyal", 3, 5, 3, 5),
    ("potential loyalist", 4, 5, 2, 3),
    ("new customers", 5, 5, 1, 1),
    ("promising", 4, 4, 1, 1),
    ("needs attention", 3, 3, 2, 2),
    ("about to sleep", 3, 3, 1, 1),
    ("hibernating", 2, 2, 1, 2),
    ("lost", 1, 1, 1, 2),
)
SEGMENT_NAMES = tuple(name for name, *_ in SEGMENTS)


def segment_of(r: int, f: int) -> str:
    for name, r_low, r_high, f_low, f_high in SEGMENTS:
        if r_low <= r <= r_high and f_low <= f <= f_high:
            return name
    return "others"


def _cuts(values: list[float]) -> list[float]:
    """The upper bounds of the first four quintiles of ``values``."""
    ordered = sorted(values)
    n = len(ordered)
    return [ordered[max(0, (n * q) // 5 - 1)] for q in (1, 2, 3, 4)] if n else [0.0] * 4


def _score(value: float, cuts: list[float]) -> int:
    return 1 + bisect_left(cuts, value) if cuts else 3


@dataclass(frozen=True)
class RFMScale:
    """Quintile boundaries of the customers who have ordered, and the reference time."""

    as_of: datetime
    recency_cuts: list[float]
    frequency_cuts: list[float]
    monetary_cuts: list[float]

    @classmethod
    def fit(cls, as_of: datetime, rows: list[tuple[float, float, float]]) -> RFMScale:
        """``rows`` are (recency days, frequency, monetary) of every customer with an order."""
        return cls(
            as_of=as_of,
            recency_cuts=_cuts([r for r, _, _ in rows]),
            frequency_cuts=_cuts([f for _, f, _ in rows]),
            monetary_cuts=_cuts([m for _, _, m in rows]),
        )

    def scores(self, recency: float, frequency: float, monetary: float) -> dict[str, object]:
        r = 6 - _score(recency, self.recency_cuts)  # recent is good
        r = max(1, min(5, r))
        f = _score(frequency, self.frequency_cuts)
        m = _score(monetary, self.monetary_cuts)
        return {"r": r, "f": f, "m": m, "score": f"{r}{f}{m}", "segment": segment_of(r, f)}
