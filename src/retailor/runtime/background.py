"""The leased background jobs: work that one process at a time must do for every process
sharing the stores (scheduled retraining; policy learning, projection snapshots and the
like register theirs). Every process that may do it competes for the lease
``BACKGROUND_LEASE``; the holder renews it every ``RENEW_SECONDS`` and runs the jobs while
it holds it; when it dies (even by SIGKILL) the lease expires after ``TTL_SECONDS`` and
another process takes it over. On the embedded store the leases are in memory and the
one server process holds them at once.

``BackgroundJobs.add(name, every_seconds, fn)`` registers a job: ``fn()`` runs every
``every_seconds`` in its own thread, only while this process holds the lease.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from retailor.storage.base import LeaseStore

log = logging.getLogger("retailor.background")

#: The lease whose holder runs the background jobs.
BACKGROUND_LEASE = "background"
#: How long a holder keeps the lease without renewing it: a dead holder's jobs stop for
#: at most this long (and one renewal interval).
TTL_SECONDS = 15.0
#: How often the holder renews the lease, and others try to take it.
RENEW_SECONDS = 3.0


def process_holder() -> str:
    """This process's name as a lease holder: ``host:pid:random`` (unique even when a pid
    is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class _Job:
    name: str
    every_seconds: float
    fn: Callable[[], object]


class BackgroundJobs:
    """Competes for the background lease and runs the registered jobs while holding it."""

    def __init__(
        self,
        leases: LeaseStore,
        *,
        holder: str | None = None,
        lease: str = BACKGROUND_LEASE,
        ttl: float = TTL_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.leases = leases
        self.holder = holder or process_holder()
        self.lease, self.ttl, self.renew_seconds = lease, ttl, renew_seconds
        self._jobs: list[_Job] = []
        self._held = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failing = False

    @property
    def held(self) -> bool:
        """Whether this process holds the lease (as of its last renewal)."""
        return self._held.is_set()

    def add(self, name: str, every_seconds: float, fn: Callable[[], object]) -> None:
        """Run ``fn()`` every ``every_seconds`` (the first run that long after this process
        takes the lease) while this process holds the lease. ``every_seconds <= 0``
        registers nothing (the job is switched off). A job added after ``start`` starts
        at once."""
        if every_seconds <= 0:
            return
        job = _Job(name, every_seconds, fn)
        self._jobs.append(job)
        if self._threads:
            self._spawn(lambda: self._run_job(job), f"retailor-job-{name}")

    def start(self) -> None:
        """Try to take the lease now, then keep competing (and the jobs running) in threads
        until ``close``."""
        self._compete()
        self._spawn(self._keep_lease, "retailor-lease")
        for job in self._jobs:
            self._spawn(lambda job=job: self._run_job(job), f"retailor-job-{job.name}")  # type: ignore[misc]

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _compete(self) -> None:
        """Renew the lease when held, else try to take it; note the outcome."""
        try:
            if self.held:
                ok = self.leases.renew(self.lease, self.holder, self.ttl)
            else:
                ok = self.leases.acquire(self.lease, self.holder, self.ttl)
        except Exception:
            if not self._failing:
                log.exception("cannot reach the lease store; background jobs pause")
            self._failing = True
            ok = False
        else:
            self._failing = False
        if ok and not self.held:
            log.info("this process (%s) now runs the background jobs", self.holder)
            self._held.set()
        elif not ok and self.held:
            log.warning("this process (%s) lost the background lease", self.holder)
            self._held.clear()

    def _keep_lease(self) -> None:
        while not self._stop.wait(self.renew_seconds):
            self._compete()

    def _run_job(self, job: _Job) -> None:
        while not self._stop.is_set():
            if not self._held.wait(self.renew_seconds):
                continue  # not the holder: wait for the lease
            if self._stop.wait(job.every_seconds):
                return
            if not self.held:
                continue
            try:
                job.fn()
            except Exception:
                log.exception("background job %s failed", job.name)

    def current_holder(self) -> str | None:
        """Who holds the lease now, as the lease store says (None: nobody)."""
        return self.leases.holder(self.lease)

    def close(self) -> None:
        """Stop the jobs (waiting for one under way) and give the lease up, so another
        process takes it over at once."""
        self._stop.set()
        self._held.set()  # wake the jobs waiting for the lease
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()
        self._held.clear()
        try:
            self.leases.release(self.lease, self.holder)
        except Exception:
            log.exception("cannot release the background lease; it expires by itself")
