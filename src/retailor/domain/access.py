"""API keys and the scopes they grant. Keys themselves are never stored, only their hashes."""

from __future__ import annotations

import enum
from datetime import datetime

from msgspec import Struct


class Scope(enum.StrEnum):
    """What a key may do. ``ingest`` keys are safe to embed in a web page; ``serve`` keys
    are for the channel back ends that ask for decisions and recommendations and send
    feedback (they read personalization, so keep them server-side); ``view`` keys are
    read-only, for people: the dashboard and the reports (they change nothing, but they
    read customers' data, so give them to people who may see it)."""

    INGEST = "ingest"
    SERVE = "serve"
    VIEW = "view"
    ADMIN = "admin"

    def allows(self, required: Scope) -> bool:
        """An admin key may do everything; the others only what needs their own scope
        (so a ``view`` key calls no write API: every write needs another scope).

        >>> Scope.ADMIN.allows(Scope.VIEW), Scope.VIEW.allows(Scope.VIEW)
        (True, True)
        >>> Scope.VIEW.allows(Scope.ADMIN), Scope.VIEW.allows(Scope.INGEST)
        (False, False)
        """
        return self is Scope.ADMIN or self is required


class ApiKey(Struct, kw_only=True):
    """A stored key: its public id, scope and the hash of its secret."""

    key_id: str
    scope: Scope
    secret_hash: str
    created_at: datetime
    name: str = ""
    revoked: bool = False
