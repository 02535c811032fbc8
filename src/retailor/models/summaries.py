"""Every trained model as people read it: its versions (the active one marked) with the
holdout metrics recorded when each was trained, and its freshness — when the active
version was trained, how long ago, and how many events were received since. What
``GET /v1/models`` answers and the dashboard's models page shows (:func:`summarize`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.storage.base import EventLog, ModelRecord, ModelRegistry


class VersionSummary(msgspec.Struct, kw_only=True):
    """One trained version: when, whether it is the active one, the holdout metrics
    recorded at training (metric → value; empty when it was not scored on a holdout) and
    every metric recorded."""

    version: int
    created_at: datetime
    active: bool
    holdout: dict[str, float]
    metrics: dict[str, Any]


class ModelSummary(msgspec.Struct, kw_only=True):
    """A model with its versions (oldest first) and the freshness of the active one
    (``trained_at``, ``age_seconds`` and ``events_since`` null when none is active)."""

    name: str
    active_version: int | None
    trained_at: datetime | None
    age_seconds: float | None
    #: events the server received (``received_at``) since the active version was trained
    events_since: int | None
    versions: list[VersionSummary]


def holdout_of(record: ModelRecord) -> dict[str, float]:
    """The numeric holdout metrics recorded with a version (``metrics["holdout"]``)."""
    holdout = record.metrics.get("holdout")
    if not isinstance(holdout, dict):
        return {}
    return {
        str(name): float(value)
        for name, value in holdout.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def events_received(events: EventLog, since: datetime, now: datetime) -> int:
    """How many stored events were received in ``[since, now)``."""
    if since >= now:
        return 0
    return sum(count for _, count in events.arrivals(since, now))


def summarize(
    registry: ModelRegistry, events: EventLog, now: datetime | None = None
) -> list[ModelSummary]:
    """Every model that has a version, by name (see :class:`ModelSummary`)."""
    now = now or datetime.now(UTC)
    active = registry.active_versions()
    summaries = []
    for name in sorted(registry.names()):
        records = registry.versions(name)
        current = active.get(name)
        versions = [
            VersionSummary(
                version=r.version,
                created_at=r.created_at,
                active=r.version == current,
                holdout=holdout_of(r),
                metrics=r.metrics,
            )
            for r in records
        ]
        live = next((r for r in records if r.version == current), None)
        summaries.append(
            ModelSummary(
                name=name,
                active_version=current,
                trained_at=live.created_at if live else None,
                age_seconds=(now - live.created_at).total_seconds() if live else None,
                events_since=events_received(events, live.created_at, now) if live else None,
                versions=versions,
            )
        )
    return summaries
