"""The suppression list at ingest: an erased person's identifiers, kept only as salted
hashes, refused until the hash is lifted. The list is read from the ``PrivacyStore``
and read again when its revision changes (another process erased or lifted)."""

from __future__ import annotations

import threading
import time

from retailor.domain.customers import CustomerRef, IdentifierKind
from retailor.domain.events import Event
from retailor.identity.identifiers import event_identifiers
from retailor.privacy.subjects import graph_ref, suppression_hash
from retailor.storage.privacy import PrivacyStore

#: How often the list's revision is asked for, at most (seconds).
RELOAD_SECONDS = 0.5


class Suppression:
    """Says which events name a suppressed person; counts them."""

    def __init__(self, store: PrivacyStore, salt: str) -> None:
        self._store = store
        self._salt = salt
        self._lock = threading.Lock()
        self._revision = -1
        self._hashes: frozenset[str] = frozenset()
        self._checked = 0.0
        #: events refused since the process started
        self.refused = 0

    def hash_of(self, identifier: str) -> str:
        """The hash the list keeps of ``identifier`` (any form ``resolve`` accepts)."""
        return suppression_hash(graph_ref(identifier, self._salt), self._salt)

    def current(self) -> frozenset[str]:
        """The list, read again when it changed (asked at most every half second)."""
        now = time.monotonic()
        if now - self._checked >= RELOAD_SECONDS:
            with self._lock:
                self._checked = now
                revision = self._store.revision()
                if revision != self._revision:
                    self._hashes = self._store.suppressed()
                    self._revision = revision
        return self._hashes

    def names_suppressed(self, event: Event) -> bool:
        """Whether ``event`` names a suppressed identifier."""
        hashes = self.current()
        if not hashes:
            return False
        return any(
            suppression_hash(ref, self._salt) in hashes
            for ref in event_identifiers(event, self._salt)
        )

    def names(self, *identifiers: str | None) -> bool:
        """Whether one of ``identifiers`` (customer or visitor ids, or ``email:…`` and the
        other prefixed forms) is suppressed."""
        hashes = self.current()
        if not hashes:
            return False
        for identifier in identifiers:
            if identifier is None:
                continue
            refs = (
                graph_ref(identifier, self._salt),
                CustomerRef(IdentifierKind.ANONYMOUS_ID, identifier),
            )
            if any(suppression_hash(ref, self._salt) in hashes for ref in refs):
                return True
        return False

    def keep(self, events: list[Event]) -> tuple[list[Event], int]:
        """The events that name nobody suppressed, and how many were refused."""
        if not self.current():
            return events, 0
        kept = [e for e in events if not self.names_suppressed(e)]
        refused = len(events) - len(kept)
        self.refused += refused
        return kept, refused
