"""The placements of a server: the packaged defaults (``placements.toml``) overridden by
the merchandiser's definitions (``PUT /v1/placements/{id}``, kept in the definition
store), parsed once and held in memory so a change is effective for the very next
decision; a change another process stored is taken up by :meth:`PlacementBook.reload`."""

from __future__ import annotations

import logging
import threading
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import msgspec

from retailor.domain.ids import check_definition_id
from retailor.domain.placements import DefinitionError, Placement, parse_placement
from retailor.storage.base import DefinitionStore, StoredDefinition

log = logging.getLogger(__name__)


def default_definitions() -> dict[str, dict[str, Any]]:
    """The packaged default placements, by id."""
    text = resources.files("retailor.decision").joinpath("placements.toml").read_text("utf-8")
    return tomllib.loads(text)


class PlacementBook:
    """Placements by id: defaults, overridden by stored definitions."""

    def __init__(self, store: DefinitionStore, known_source: Callable[[str], bool]) -> None:
        self._store = store
        self._known = known_source
        self._lock = threading.Lock()
        self.defaults = {
            pid: parse_placement(raw, pid) for pid, raw in default_definitions().items()
        }
        self._custom: dict[str, Placement] = {}
        self._revisions: dict[str, int] = {}
        for stored in store.all("placement"):
            self._take(stored)

    def _take(self, stored: StoredDefinition) -> None:
        """Use a stored definition; one that no longer validates is dropped (a default
        placement falls back to its default)."""
        try:
            placement = self._check(parse_placement(stored.document, stored.id))
        except DefinitionError as exc:
            log.warning("dropping stored placement %r, it no longer validates: %s", stored.id, exc)
            self._custom.pop(stored.id, None)
        else:
            self._custom[stored.id] = placement
        self._revisions[stored.id] = stored.revision

    def _check(self, placement: Placement) -> Placement:
        for i, source in enumerate(placement.sources):
            if not self._known(source.source):
                raise DefinitionError(
                    f"unknown source {source.source!r} - at `$.sources[{i}].source`"
                )
        for i, name in enumerate(placement.fallback):
            if not self._known(name):
                raise DefinitionError(f"unknown source {name!r} - at `$.fallback[{i}]`")
        return placement

    def get(self, placement_id: str) -> Placement | None:
        return self._custom.get(placement_id) or self.defaults.get(placement_id)

    def is_default(self, placement_id: str) -> bool:
        return placement_id not in self._custom and placement_id in self.defaults

    def all(self) -> dict[str, Placement]:
        return {**self.defaults, **self._custom}

    def put(self, placement_id: str, raw: Any) -> Placement:
        """Validate (``DefinitionError`` says where), store and start using a definition."""
        check_definition_id("placement", placement_id)
        placement = self._check(parse_placement(raw, placement_id))
        placement.updated_at = datetime.now(UTC)
        with self._lock:
            stored = self._store.put("placement", placement_id, msgspec.to_builtins(placement))
            self._custom[placement_id] = placement
            self._revisions[placement_id] = stored.revision
        return placement

    def delete(self, placement_id: str) -> bool:
        """Drop a stored definition (a default placement reverts to its default)."""
        with self._lock:
            self._custom.pop(placement_id, None)
            self._revisions.pop(placement_id, None)
            return self._store.delete("placement", placement_id)

    def reload(self, placement_id: str) -> None:
        """Take up the stored definition as it is now (another process wrote or deleted
        it). Read under the lock of :meth:`put`, so it never undoes a later write of
        this process."""
        with self._lock:
            stored = self._store.get("placement", placement_id)
            if stored is None:
                self._custom.pop(placement_id, None)
                self._revisions.pop(placement_id, None)
            elif self._revisions.get(placement_id) != stored.revision:
                self._take(stored)
