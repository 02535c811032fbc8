"""The ports of privacy requests: erasure requests with their receipts, the suppression
list (salted hashes of erased people's identifiers, refused at ingest), and reclaiming
the space of deleted rows so that no byte of them remains.

Nothing here holds an identifier in clear: a request keeps the salted hash of what it
was asked about; the person's identifiers live only in the request's worker, in memory,
while it runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

#: Where an erasure is: waiting for the background role, under way, finished, or failed
#: (``error`` says why; it is retried on the next round).
ErasureStatus = Literal["pending", "running", "done", "failed"]


class ErasureRecord(msgspec.Struct, kw_only=True):
    """One erasure request and, once finished, its receipt: rows removed per store."""

    erasure_id: str
    status: ErasureStatus
    #: the salted hash of the identifier the request named
    target_hash: str
    requested_at: datetime
    finished_at: datetime | None = None
    receipt: dict[str, int] = msgspec.field(default_factory=dict)
    error: str | None = None
    #: the identifier asked about, kept only while the request waits or runs: removed
    #: before the erasure reclaims the space of deleted rows (a finished request holds
    #: only ``target_hash``)
    identifier: str | None = None


def erasure_row(record: ErasureRecord) -> list[Any]:
    """A request as the SQL adapters keep it: ``erasures``' columns in their order."""
    return [
        record.erasure_id,
        record.status,
        record.target_hash,
        record.requested_at,
        record.finished_at,
        msgspec.json.encode(record.receipt).decode(),
        record.error,
        record.identifier,
    ]


def erasure_of_row(row: Sequence[Any]) -> ErasureRecord:
    """A request read back from ``erasures``' columns (times as aware UTC datetimes)."""
    return ErasureRecord(
        erasure_id=row[0],
        status=row[1],
        target_hash=row[2],
        requested_at=row[3].astimezone(UTC),
        finished_at=None if row[4] is None else row[4].astimezone(UTC),
        receipt=msgspec.json.decode(row[5], type=dict[str, int]),
        error=row[6],
        identifier=row[7],
    )


class PrivacyStore(ABC):
    """Erasure requests and the suppression list.

    Contract:
    - ``add_erasure`` keeps a new request; ``get_erasure`` returns it by id (None when
      unknown); ``save_erasure`` replaces a stored request (its status, receipt, error);
      ``pending_erasures`` returns the requests whose status is ``pending`` or ``failed``,
      oldest first. Durable when each returns; another process sees them.
    - ``suppress(hashes, at)`` adds hashes to the suppression list (a hash already there
      stays as it was) and returns how many were new; ``lift(hash)`` removes one (False
      when it was not there); ``suppressed()`` is the whole list; ``revision()`` grows
      whenever the list changes (what other processes poll to reload it).
    """

    @abstractmethod
    def add_erasure(self, record: ErasureRecord) -> None:
        """Keep a new erasure request."""

    @abstractmethod
    def get_erasure(self, erasure_id: str) -> ErasureRecord | None:
        """One request by id."""

    @abstractmethod
    def save_erasure(self, record: ErasureRecord) -> None:
        """Replace a stored request (see the contract)."""

    @abstractmethod
    def pending_erasures(self) -> list[ErasureRecord]:
        """Requests still to run, oldest first."""

    @abstractmethod
    def suppress(self, hashes: Sequence[str], at: datetime) -> int:
        """Add hashes to the suppression list; how many were new."""

    @abstractmethod
    def lift(self, hash_: str) -> bool:
        """Remove one hash from the list; False when it was not there."""

    @abstractmethod
    def suppressed(self) -> frozenset[str]:
        """Every suppressed hash."""

    @abstractmethod
    def revision(self) -> int:
        """A number that grows whenever the suppression list changes."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


class SpaceReclaimer(ABC):
    """Rewrites what holds deleted rows, so that none of their bytes remain.

    Contract: after ``reclaim()`` returns, no byte of a row deleted before the call is
    left in the store's files (DuckDB: a fresh file in place of the old one; PostgreSQL:
    every table rewritten, indexes and TOAST included); every row not deleted is still
    there and readable, and the stores keep working. Returns the bytes the store took
    before and after.
    """

    @abstractmethod
    def reclaim(self) -> tuple[int, int]:
        """Rewrite the store (see the contract)."""


class NothingToReclaim(SpaceReclaimer):
    """For stores in process memory: a deleted row is gone with its object."""

    def reclaim(self) -> tuple[int, int]:
        return 0, 0


class ExportFiles(ABC):
    """The report exports Retailor wrote into its data directory
    (``exports/<name>/<table>/day=YYYY-MM-DD/part-N.parquet``), as erasure sees them.

    Contract: ``identifiers()`` is every distinct customer, visitor and person id the
    exported decisions and orders name; ``erase(ids)`` rewrites every export without the
    decisions and orders naming one of ``ids`` (in their ``customer``/``customer_id``,
    ``anonymous_id`` or ``person``), the exposures of those decisions and the lines of
    those orders, and returns how many rows went. A file left empty is removed; the rows
    of other people stay as they were.
    """

    @abstractmethod
    def identifiers(self) -> set[str]:
        """The ids the exports name."""

    @abstractmethod
    def erase(self, ids: Collection[str]) -> int:
        """Rewrite the exports without the rows of ``ids``; how many rows went."""
