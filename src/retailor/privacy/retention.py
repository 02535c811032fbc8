"""Retention: events older than their type's ``retention_days`` removed, applied by the
background role once a day with the erasure's machinery (what derives from the log
derived again, the space of the deleted rows reclaimed)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from retailor.storage.base import EventLog
from retailor.storage.privacy import SpaceReclaimer

log = logging.getLogger(__name__)


class Retention:
    """Applies ``days`` (event type → days kept; a type not named is kept for ever)."""

    def __init__(
        self,
        events: EventLog,
        days: Mapping[str, float],
        rederive: Callable[[], object],
        reclaimer: SpaceReclaimer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.events, self.days = events, dict(days)
        self.rederive, self.reclaimer, self.clock = rederive, reclaimer, clock

    def apply(self) -> dict[str, int]:
        """Remove what is past its retention now; events removed per type."""
        now = self.clock()
        removed = {
            event_type: self.events.expire(event_type, now - timedelta(days=days))
            for event_type, days in sorted(self.days.items())
        }
        if any(removed.values()):
            self.rederive()
            self.reclaimer.reclaim()
            log.info("retention removed %s", {k: v for k, v in removed.items() if v})
        return removed
