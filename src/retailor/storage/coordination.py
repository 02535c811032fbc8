"""The ports of what processes sharing the stores coordinate by: snapshots of the
projections, so a new process starts from the newest, and named leases, so one process
does the background work. Re-exported by ``storage.base`` with the other ports."""

from __future__ import annotations

from abc import ABC, abstractmethod


class SnapshotStore(ABC):
    """Snapshots of state derived from the event log, each taken at a log position, so a
    new process starts from the newest one and reads only the appends after it.

    Contract: ``latest`` returns the snapshot saved with the highest position (of the
    given ``kind``), its bytes exactly as saved; ``save`` keeps at most ``keep`` snapshots
    of a kind, dropping the oldest.
    """

    @abstractmethod
    def save(self, kind: str, position: int, data: bytes, *, keep: int = 2) -> None:
        """Store a snapshot of ``kind`` taken at ``position``."""

    @abstractmethod
    def latest(self, kind: str) -> tuple[int, bytes] | None:
        """``(position, data)`` of the newest snapshot of ``kind``, or None."""

    @abstractmethod
    def clear(self) -> int:
        """Remove every snapshot (they hold what was derived from erased events); return
        how many went."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


class LeaseStore(ABC):
    """Named leases with an expiry, so that of many processes sharing the stores one at
    a time does a piece of background work (scheduled retraining, among others) and
    another takes it over when that one dies.

    Contract:
    - ``acquire(name, holder, ttl)`` gives the lease to ``holder`` for ``ttl`` seconds
      and returns True when nobody holds it, its holder let it expire, or ``holder``
      holds it already (its expiry is then pushed back); otherwise it returns False and
      changes nothing. Of contenders acquiring a free lease at once, exactly one wins.
    - ``renew(name, holder, ttl)`` pushes the expiry to ``ttl`` seconds from now and
      returns True only while ``holder`` holds the lease (not expired); False otherwise,
      changing nothing.
    - ``release(name, holder)`` frees the lease when ``holder`` holds it (returns
      whether it did): another may acquire it at once.
    - ``holder(name)`` is the holder of an unexpired lease, or None.
    - Expiry is measured by one clock that every process sharing the store agrees on
      (the database's for a database), never by a process's own clock.
    """

    @abstractmethod
    def acquire(self, name: str, holder: str, ttl: float) -> bool:
        """Take the lease, or keep it; see the class contract."""

    @abstractmethod
    def renew(self, name: str, holder: str, ttl: float) -> bool:
        """Push back the expiry of a lease ``holder`` holds; see the class contract."""

    @abstractmethod
    def release(self, name: str, holder: str) -> bool:
        """Free a lease ``holder`` holds; see the class contract."""

    @abstractmethod
    def holder(self, name: str) -> str | None:
        """Who holds the lease now, or None."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""
