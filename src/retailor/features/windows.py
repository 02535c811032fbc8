"""Per-item event counts in sliding windows, bucketed by minute (last hour) and by hour
(last day), so a count over 5 minutes, 1 hour or 24 hours costs a few additions."""

from __future__ import annotations

from dataclasses import dataclass, field

WINDOWS = {"5m": 300, "1h": 3600, "24h": 86_400}
KINDS = ("views", "carts", "purchases")


@dataclass
class ItemWindows:
    """Counts of one item's views, carts and purchases by minute and by hour."""

    minutes: dict[int, list[float]] = field(default_factory=dict)
    hours: dict[int, list[float]] = field(default_factory=dict)

    def add(self, at: float, kind: int, amount: float = 1.0) -> None:
        minute, hour = int(at // 60), int(at // 3600)
        self.minutes.setdefault(minute, [0.0, 0.0, 0.0])[kind] += amount
        self.hours.setdefault(hour, [0.0, 0.0, 0.0])[kind] += amount

    def prune(self, now: float) -> None:
        first_minute, first_hour = int(now // 60) - 60, int(now // 3600) - 24
        for m in [m for m in self.minutes if m < first_minute]:
            del self.minutes[m]
        for h in [h for h in self.hours if h < first_hour]:
            del self.hours[h]

    def counts(self, now: float, seconds: int) -> tuple[float, float, float]:
        """Views, carts and purchases in the ``seconds`` before ``now`` (minute buckets up
        to an hour, hour buckets beyond)."""
        totals = [0.0, 0.0, 0.0]
        if seconds <= 3600:
            first, last, buckets = int((now - seconds) // 60) + 1, int(now // 60), self.minutes
        else:
            first, last, buckets = int((now - seconds) // 3600) + 1, int(now // 3600), self.hours
        for key, values in buckets.items():
            if first <= key <= last:
                totals[0] += values[0]
                totals[1] += values[1]
                totals[2] += values[2]
        return totals[0], totals[1], totals[2]

    def empty(self) -> bool:
        return not self.hours
