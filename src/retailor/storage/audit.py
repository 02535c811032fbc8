"""The audit log's port: who did which admin or privacy action, on what, and how it
ended. The API records every change made with an admin key (or the server's control
token), every call to the privacy and audit endpoints and every read of a customer's
data (``api/endpoints.py`` through ``privacy.audit.AuditRecorder``); the command line
records ``retailor keys create|revoke``. ``GET /v1/audit`` and ``retailor audit`` read it.

An entry never holds a raw target: ``target_hash`` is the target id hashed with the
installation's salt (``privacy.audit.target_hash``), and ``action`` names the route
template (``PUT /v1/segments/{segment_id}``), never the path a request was sent to (a
path may hold a customer id or an email).

Its contract is in :class:`AuditLog`'s docstrings; ``tests/contract/test_audit_log.py``
runs one suite against every adapter (memory, DuckDB, PostgreSQL)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

import msgspec

#: The most entries one ``list`` returns.
MAX_LIMIT = 10_000


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One audited action.

    ``at``: when it was answered (aware UTC); ``key_id``: the API key that made it
    (``control`` for the server's control token, ``cli`` for the command line, None when
    no valid key was given); ``action``: the route template with its method, or the name
    of a command's action (``keys.create``); ``target_hash``: the salted hash of the id the
    action was about (None when it named none); ``status``: the HTTP status it was
    answered with (a command records 200 when done, 404 when its target did not exist).
    """

    at: datetime
    key_id: str | None
    action: str
    target_hash: str | None
    status: int


class AuditLog(ABC):
    """Audit entries, kept in the order they were appended.

    Contract:
    - ``append(entries)`` keeps every entry, in the order given; durable when it returns
      (another process reads them at once). Entries are never changed or removed one by
      one.
    - ``list(limit=100, since=None, action=None, key_id=None, target_hash=None)`` returns at
      most ``limit`` entries, newest first (by ``at``; entries at the same moment, the
      last appended first), keeping only those with ``at >= since``, an ``action`` that
      starts with the ``action`` given (a prefix: ``"PUT /v1/segments"``,
      ``"keys."``), the ``key_id`` given and the ``target_hash`` given (each filter left
      out: no condition).
    - Entries come back equal to those appended, times as aware UTC datetimes to the
      microsecond.
    """

    @abstractmethod
    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Keep ``entries`` (see the contract)."""

    @abstractmethod
    def list(
        self,
        limit: int = 100,
        *,
        since: datetime | None = None,
        action: str | None = None,
        key_id: str | None = None,
        target_hash: str | None = None,
    ) -> list[AuditEntry]:
        """The newest matching entries (see the contract)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


def like_prefix(prefix: str) -> str:
    """A SQL ``LIKE`` pattern matching the text that starts with ``prefix`` (its ``%``,
    ``_`` and ``\\`` escaped with ``\\``)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
