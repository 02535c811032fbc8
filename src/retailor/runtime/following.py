"""Following what other processes store: a thread per follower asks a store what changed
since the revision it holds, every ``POLL_SECONDS``, and hands the changes to the
services that use them, so that a definition, a catalog item or a model version written
through one server (or the CLI) reaches every other within a second.

- ``DefinitionFollower``: placements, offers and segments, read again by id.
- ``CatalogFollower``: changed catalog items, fed where a catalog upsert feeds them.
- ``ModelFollower``: newly activated model versions, swapped in by the model service.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence

from retailor.domain.catalog import CatalogItem
from retailor.storage.base import CatalogStore, DefinitionStore, ModelRegistry
from retailor.storage.errors import StorageUnavailableError

log = logging.getLogger(__name__)

#: How often a server asks what changed: a change reaches it within this time and the
#: time of one poll.
POLL_SECONDS = 0.5

#: Reads one definition again, by id: ``PlacementBook.reload`` and the like.
Reload = Callable[[str], None]


class Follower(ABC):
    """A thread that calls ``poll`` every ``poll_seconds`` until closed, logging an outage
    once (not twice a second) and its end."""

    what = "changes"

    def __init__(self, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    @abstractmethod
    def poll(self) -> int:
        """Take up what changed since the last poll; how many things changed."""

    def start(self) -> None:
        name = f"retailor-follow-{self.what.replace(' ', '-')}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception as exc:
                if not self._failing:  # once per outage, not twice a second
                    log.error(
                        "cannot follow %s (%s); retrying",
                        self.what,
                        exc,
                        exc_info=not isinstance(exc, StorageUnavailableError),
                    )
                self._failing = True
            else:
                if self._failing:
                    log.info("following %s again", self.what)
                self._failing = False

    def close(self) -> None:
        """Stop polling (the store stays open: it belongs to whoever opened it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class DefinitionFollower(Follower):
    """Polls a definition store and hands each changed id to the reload of its kind."""

    what = "definition changes"

    def __init__(
        self,
        store: DefinitionStore,
        reloads: Mapping[str, Reload],
        revision: int,
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        """``revision`` is the store's revision read before the services loaded the
        definitions: what was written after it is read again (harmless when they
        already had it)."""
        super().__init__(poll_seconds=poll_seconds)
        self._store = store
        self._reloads = reloads
        self.revision = revision

    def poll(self) -> int:
        changes = self._store.changed_since(self.revision)
        touched = [(s.kind, s.id) for s in changes.changed] + changes.deleted
        for kind, definition_id in touched:
            reload = self._reloads.get(kind)
            if reload is not None:
                reload(definition_id)
        self.revision = changes.revision
        return len(touched)


class CatalogFollower(Follower):
    """Polls the catalog and hands the items written since to each of ``feeds`` (what a
    catalog upsert through this server feeds: the profiles' and the decisions' view of
    the catalog)."""

    what = "catalog changes"

    def __init__(
        self,
        store: CatalogStore,
        feeds: Sequence[Callable[[list[CatalogItem]], None]],
        revision: int,
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        """``revision`` is the catalog's revision read before the services read the
        catalog: items written after it are fed again (harmless)."""
        super().__init__(poll_seconds=poll_seconds)
        self._store = store
        self._feeds = feeds
        self.revision = revision

    def poll(self) -> int:
        changes = self._store.changed_since(self.revision)
        if changes.items:
            for feed in self._feeds:
                feed(changes.items)
        self.revision = changes.revision
        return len(changes.items)


class ModelFollower(Follower):
    """Polls the registry's active versions and hands them to ``take_up``
    (``ModelService.reload``), which swaps in, as one set, those it has not taken up yet
    and returns their names."""

    what = "model activations"

    def __init__(
        self,
        registry: ModelRegistry,
        take_up: Callable[[Mapping[str, int]], Sequence[str]],
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        super().__init__(poll_seconds=poll_seconds)
        self._registry = registry
        self._take_up = take_up

    def poll(self) -> int:
        return len(self._take_up(self._registry.active_versions()))
