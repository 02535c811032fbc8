"""Leased background jobs: of the processes competing for the background lease one runs
the jobs, and another takes them over when it gives the lease up or lets it expire."""

from __future__ import annotations

import time
from collections.abc import Callable

from retailor.runtime.background import BackgroundJobs
from retailor.storage.memory.leases import MemoryLeaseStore


def wait_until(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def competitor(leases: MemoryLeaseStore, name: str, runs: list[str]) -> BackgroundJobs:
    jobs = BackgroundJobs(leases, holder=name, ttl=0.5, renew_seconds=0.05)
    jobs.add("count", 0.02, lambda: runs.append(name))
    jobs.add("never", 0, lambda: runs.append("switched off"))
    return jobs


def test_one_holder_runs_the_jobs_and_another_takes_over() -> None:
    leases = MemoryLeaseStore()
    runs: list[str] = []
    first, second = competitor(leases, "first", runs), competitor(leases, "second", runs)
    first.start()
    second.start()
    try:
        assert first.held and not second.held
        assert wait_until(lambda: runs.count("first") >= 3)
        assert "second" not in runs and "switched off" not in runs
        assert leases.holder("background") == "first"
        first.close()  # gives the lease up
        assert wait_until(lambda: second.held and "second" in runs)
        assert second.current_holder() == "second"
    finally:
        first.close()
        second.close()
    assert leases.holder("background") is None


def test_a_holder_that_stops_renewing_loses_the_lease() -> None:
    leases = MemoryLeaseStore()
    runs: list[str] = []
    # a holder that died (or hangs) renews no more: its lease expires
    leases.acquire("background", "dead", 0.3)
    second = competitor(leases, "second", runs)
    second.start()
    try:
        assert not second.held
        assert wait_until(lambda: second.held and "second" in runs)
    finally:
        second.close()
