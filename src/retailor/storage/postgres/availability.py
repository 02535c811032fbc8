"""Whether the PostgreSQL server answers, as this process last saw it: a circuit breaker
in front of the connection pool.

When a connection cannot be had or breaks (the server is down, restarting, or the
network between is cut), the database is marked down and every later use fails at once
with ``StorageUnavailableError`` instead of waiting for the pool's timeout, so a request
that needs the database is answered a 503 quickly and a thread of the event loop is never
held. A probe thread then tries a fresh connection every ``PROBE_SECONDS``; the first one
that succeeds marks the database up again, and the pool opens new connections on demand.
One line is logged when the database goes down and one when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from retailor.storage.errors import StorageUnavailableError

log = logging.getLogger("retailor.storage")

#: How often, while the database is down, a fresh connection is tried.
PROBE_SECONDS = 0.5


class Availability:
    """The up/down state of one database, and the probe that notices its return."""

    def __init__(
        self, where: str, probe: Callable[[], None], *, probe_seconds: float = PROBE_SECONDS
    ) -> None:
        """``where`` names the database in messages (no password); ``probe`` opens and
        closes one connection, raising when it cannot."""
        self.where = where
        self._probe = probe
        self._probe_seconds = probe_seconds
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._reason = ""
        self._prober: threading.Thread | None = None
        self._closed = threading.Event()
        self.outages = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def message(self) -> str:
        """Why the database cannot be used (empty while it is up)."""
        with self._lock:
            if self._down_since is None:
                return ""
            return f"PostgreSQL at {self.where} is unreachable ({self._reason}); retry shortly"

    def check(self) -> None:
        """Raise ``StorageUnavailableError`` at once while the database is down."""
        if self._down_since is not None:
            message = self.message()
            if message:
                raise StorageUnavailableError(message)

    def failed(self, exc: BaseException) -> StorageUnavailableError:
        """Mark the database down after ``exc`` (a lost or refused connection); return the
        error to raise in its place."""
        reason = _reason(exc)
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = time.monotonic()
                self._reason = reason
                self.outages += 1
            if not self._closed.is_set() and (self._prober is None or not self._prober.is_alive()):
                self._prober = threading.Thread(
                    target=self._wait_for_return, name="retailor-postgres-probe", daemon=True
                )
                self._prober.start()
        if first:
            log.error("PostgreSQL at %s is unreachable: %s", self.where, _one_line(exc))
        return StorageUnavailableError(self.message() or f"PostgreSQL at {self.where} failed")

    def _wait_for_return(self) -> None:
        while not self._closed.wait(self._probe_seconds):
            try:
                self._probe()
            except Exception as exc:
                with self._lock:
                    self._reason = _reason(exc)
                continue
            with self._lock:
                since = self._down_since
                self._down_since = None
                self._reason = ""
            if since is not None:
                log.warning(
                    "PostgreSQL at %s is reachable again after %.1f s",
                    self.where,
                    time.monotonic() - since,
                )
            return

    def close(self) -> None:
        """Stop probing (a closed database stays as it was last seen)."""
        self._closed.set()
        prober = self._prober
        if prober is not None and prober is not threading.current_thread():
            prober.join(timeout=5)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _reason(exc: BaseException) -> str:
    """A short reason safe to show a client: the kind of failure, never the DSN."""
    text = _one_line(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "timeout" in text or "timed out" in text or "couldn't get a connection" in text:
        return "no connection within the timeout"
    if "password" in text or "authentication" in text or "not permitted to log in" in text:
        return "login refused"
    if "closed" in text or "terminat" in text or "lost" in text or "eof" in text:
        return "connection lost"
    return type(exc).__name__
