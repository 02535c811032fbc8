"""Recording audited actions behind the answers: ``AuditRecorder.record`` only queues an
entry (it never waits for a database), and a thread of its own appends the queued entries
to the ``AuditLog`` port in batches. Targets are kept only as salted hashes
(:func:`target_hash`), so the log never holds a customer id or an email.

Who records: the API's endpoint table (``api/endpoints.py``) for the requests it audits,
and the command line (``retailor keys create|revoke``) through the port directly or, when
a server holds the data directory, through ``POST /v1/audit``."""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime

from retailor.storage.audit import AuditEntry, AuditLog

log = logging.getLogger(__name__)

#: Entries kept while the log cannot be written (the database is down); past this many,
#: the oldest are dropped (and counted) rather than holding the memory of the process.
MAX_PENDING = 100_000
#: How long the thread waits before trying again after a failed append.
RETRY_SECONDS = 1.0


def target_hash(target: str, salt: str) -> str:
    """The salted hash an entry keeps of the id an action was about: the construction of
    ``identity.identifiers.hashed`` with ``audit`` as the kind, over the installation's
    salt (the same target always gives the same hash in one installation, so the entries
    about one customer or one segment can be found by hashing its id again)."""
    return hashlib.sha256(f"{salt}\x1faudit\x1f{target}".encode()).hexdigest()[:32]


def audit_entry(
    salt: str,
    *,
    key_id: str | None,
    action: str,
    target: str | None,
    status: int,
    at: datetime | None = None,
) -> AuditEntry:
    """An entry with its target hashed (None when the action names no target)."""
    return AuditEntry(
        at=at or datetime.now(UTC),
        key_id=key_id,
        action=action,
        target_hash=None if target is None else target_hash(target, salt),
        status=status,
    )


class AuditRecorder:
    """Queues entries and appends them to ``log`` from its own thread.

    ``record`` never blocks on the database; ``flush`` waits until everything recorded
    before it is written (a read of the log that must see the calls before it);
    ``close`` writes what is left and stops the thread. While the log cannot be written
    the entries wait (up to :data:`MAX_PENDING`) and the append is tried again every
    :data:`RETRY_SECONDS`.
    """

    def __init__(self, log: AuditLog, salt: str) -> None:
        self.log = log
        self.salt = salt
        self._pending: list[AuditEntry] = []
        self._queued = 0  # entries ever recorded
        self._done = 0  # entries ever written or dropped
        self.dropped = 0
        self._failing = False  # the last write failed (an outage is logged once)
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="audit-log", daemon=True)
        self._thread.start()

    def record(
        self,
        *,
        key_id: str | None,
        action: str,
        target: str | None,
        status: int,
        at: datetime | None = None,
    ) -> None:
        """Queue one entry (its target hashed here; the raw target is not kept)."""
        self.add(
            audit_entry(
                self.salt, key_id=key_id, action=action, target=target, status=status, at=at
            )
        )

    def add(self, entry: AuditEntry) -> None:
        """Queue an entry already made."""
        with self._cond:
            self._pending.append(entry)
            self._queued += 1
            if len(self._pending) > MAX_PENDING:
                del self._pending[0]
                self._done += 1
                self.dropped += 1
                log.error("the audit log cannot be written: an entry was dropped")
            self._cond.notify_all()

    @property
    def unwritten(self) -> int:
        """Entries recorded and not yet written."""
        with self._cond:
            return self._queued - self._done

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every entry recorded so far is written (or dropped); False when
        ``timeout`` seconds passed first."""
        with self._cond:
            target = self._queued
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (for at most ``timeout`` seconds) and stop the thread."""
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closing)
                if not self._pending:
                    return  # closing, nothing left
                batch, self._pending = self._pending, []
            try:
                self.log.append(batch)
            except Exception as exc:
                with self._cond:
                    if self._closing:
                        self._done += len(batch)
                        self.dropped += len(batch)
                        log.error("audit entries lost at shutdown: %d (%s)", len(batch), exc)
                        self._cond.notify_all()
                        return
                    self._pending[:0] = batch
                    overflow = len(self._pending) - MAX_PENDING
                    if overflow > 0:
                        del self._pending[:overflow]
                        self._done += overflow
                        self.dropped += overflow
                if not self._failing:  # once per outage, not every retry
                    log.warning("the audit log cannot be written now (%s); retrying", exc)
                self._failing = True
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, RETRY_SECONDS)
                continue
            if self._failing:
                log.info("the audit log is written again")
            self._failing = False
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()
