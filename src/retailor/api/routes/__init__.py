"""Route modules, one per resource. Importing them registers their endpoints."""

from retailor.api.routes import (
    activity,
    catalog,
    customer_decisions,
    customers,
    decisions,
    events,
    experiments,
    models,
    placements,
    quarantine,
    recommendations,
    reports,
    segment,
    segment_sizes,
    segments,
    system,
)

__all__ = [
    "activity",
    "catalog",
    "customer_decisions",
    "customers",
    "decisions",
    "events",
    "experiments",
    "models",
    "placements",
    "quarantine",
    "recommendations",
    "reports",
    "segment",
    "segment_sizes",
    "segments",
    "system",
]
