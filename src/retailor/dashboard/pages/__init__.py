"""The dashboard's pages, one module each. Importing them registers them
(``dashboard.registry.page``); add a new page's module here."""

from retailor.dashboard.pages import models, overview, quality, segments

__all__ = ["overview"]
__all__ += ["models", "quality", "segments"]
