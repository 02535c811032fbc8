"""Route modules, one per resource. Importing them registers their endpoints."""

from retailor.api.routes import (
    catalog,
    customers,
    events,
    models,
    quarantine,
    recommendations,
    segment,
    segments,
    system,
)

__all__ = [
    "catalog",
    "customers",
    "events",
    "models",
    "quarantine",
    "recommendations",
    "segment",
    "segments",
    "system",
]
