"""The suppression list at ingest: an erased person's identifiers, kept only as salted
hashes, refused until the hash is lifted. The list is read from the ``PrivacyStore``
when this is made and again by :meth:`Suppression.refresh` (after this process erased or
lifted; on shared stores every second, by the privacy follower), never on the request
path: ingest asks only the copy in memory."""

from __future__ import annotations

import threading
from typing import Any

import msgspec

from retailor.domain.customers import CustomerRef, IdentifierKind
from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.identity.identifiers import event_identifiers
from retailor.privacy.subjects import graph_ref, suppression_hash
from retailor.storage.privacy import ExportFiles, PrivacyStore


class Suppression:
    """Says which events name a suppressed person; counts them."""

    def __init__(self, store: PrivacyStore, salt: str) -> None:
        self._store = store
        self._salt = salt
        self._lock = threading.Lock()
        self._revision = -1
        self._hashes: frozenset[str] = frozenset()
        #: events refused since the process started
        self.refused = 0
        self.refresh()

    def hash_of(self, identifier: str) -> str:
        """The hash the list keeps of ``identifier`` (any form ``resolve`` accepts)."""
        return suppression_hash(graph_ref(identifier, self._salt), self._salt)

    def refresh(self) -> bool:
        """Read the list again if it changed; whether it did."""
        with self._lock:
            revision = self._store.revision()
            if revision == self._revision:
                return False
            self._hashes = self._store.suppressed()
            self._revision = revision
            return True

    def current(self) -> frozenset[str]:
        """The list as last read."""
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

    def names_stored(self, stored: str) -> bool:
        """Whether an id as the stores keep it (a customer id, or a visitor's as
        ``a:``-prefixed unit) is suppressed."""
        return self.names(stored[2:] if stored.startswith("a:") else stored)

    def names_payload(self, payload: str) -> bool:
        """Whether a rejected payload (JSON, as sent) names a suppressed person: its ids
        (native or Segment names) or the identifiers in its traits or properties."""
        if not self.current():
            return False
        try:
            found = msgspec.json.decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
            return False  # not JSON it can read (nested too deep, say): nobody it can name
        return self.names(*_identifiers_in(found))

    def keep(self, events: list[Event]) -> tuple[list[Event], int]:
        """The events that name nobody suppressed, and how many were refused."""
        if not self.current():
            return events, 0
        kept = [e for e in events if not self.names_suppressed(e)]
        refused = len(events) - len(kept)
        self.refused += refused
        return kept, refused

    def keep_rejections(self, rejections: list[Rejection]) -> tuple[list[Rejection], int]:
        """The rejections whose payload names nobody suppressed, and how many were not."""
        if not self.current():
            return rejections, 0
        kept = [r for r in rejections if not self.names_payload(r.payload)]
        refused = len(rejections) - len(kept)
        self.refused += refused
        return kept, refused


def erase_suppressed(exports: ExportFiles, suppression: Suppression) -> int:
    """Rewrite the exports without the rows of anyone suppressed (what a process does
    with its own exports when someone was erased, or after writing one); rows removed."""
    return exports.erase({i for i in exports.identifiers() if suppression.names_stored(i)})


_ID_FIELDS = ("customer_id", "anonymous_id", "userId", "anonymousId", "previousId", "user_id")
_PREFIXED = {
    "email": "email",
    "phone": "phone",
    "loyalty_card": "loyalty_card",
    "card_id": "loyalty_card",
    "payment_token": "payment_token",
}


def _identifiers_in(found: Any, depth: int = 0) -> list[str]:
    """The identifiers a decoded payload names, looked for a few levels deep (a batch's
    events, an event's traits, properties and context)."""
    if depth > 4:
        return []
    names: list[str] = []
    if isinstance(found, list):
        for member in found[:10_000]:
            names += _identifiers_in(member, depth + 1)
    elif isinstance(found, dict):
        for key, value in found.items():
            if isinstance(value, str | int) and not isinstance(value, bool):
                if key in _ID_FIELDS:
                    names.append(str(value))
                elif key in _PREFIXED:
                    names.append(f"{_PREFIXED[key]}:{value}")
            elif isinstance(value, dict | list):
                names += _identifiers_in(value, depth + 1)
    return names
