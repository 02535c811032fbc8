"""The dashboard's pages, one module each. Importing them registers them
(``dashboard.registry.page``); add a new page's module here."""

from retailor.dashboard.pages import (
    customers,
    experiments,
    models,
    overview,
    placements,
    quality,
    segments,
)

__all__ = ["customers", "experiments", "models", "overview", "placements", "quality", "segments"]
