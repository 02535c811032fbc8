"""Following the definitions other processes store: a thread asks the definition store
what changed since the revision it holds, every ``POLL_SECONDS``, and has the service
that uses each changed definition read it again, so that a placement, offer or segment
written through one server (or the CLI) reaches every other within a second."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from retailor.storage.base import DefinitionStore
from retailor.storage.errors import StorageUnavailableError

log = logging.getLogger(__name__)

#: How often a server asks what changed: a change reaches it within this time and the
#: time of one poll.
POLL_SECONDS = 0.5

#: Reads one definition again, by id: ``PlacementBook.reload`` and the like.
Reload = Callable[[str], None]


class DefinitionFollower:
    """Polls a definition store and hands each changed id to the reload of its kind."""

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
        self._store = store
        self._reloads = reloads
        self.revision = revision
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def poll(self) -> int:
        """Take up what changed since the last poll; how many definitions changed."""
        changes = self._store.changed_since(self.revision)
        touched = [(s.kind, s.id) for s in changes.changed] + changes.deleted
        for kind, definition_id in touched:
            reload = self._reloads.get(kind)
            if reload is not None:
                reload(definition_id)
        self.revision = changes.revision
        return len(touched)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retailor-definitions", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception as exc:
                if not self._failing:  # once per outage, not twice a second
                    log.error(
                        "cannot follow definition changes (%s); retrying",
                        exc,
                        exc_info=not isinstance(exc, StorageUnavailableError),
                    )
                self._failing = True
            else:
                if self._failing:
                    log.info("following definition changes again")
                self._failing = False

    def close(self) -> None:
        """Stop polling (the store stays open: it belongs to whoever opened it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
