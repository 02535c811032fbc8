"""The LeaseStore contract, against every adapter: memory (one process) and PostgreSQL,
where each contender opens its own view of the database as another process would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retailor.storage.base import LeaseStore
from retailor.storage.factory import open_storage
from retailor.storage.memory.leases import MemoryLeaseStore

OpenLeases = Callable[[], LeaseStore]


@pytest.fixture(params=["memory", "postgres"])
def open_leases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenLeases]:
    if request.param == "memory":
        store = MemoryLeaseStore()
        yield lambda: store
        return
    dsn = request.getfixturevalue("postgres_dsn")
    opened = []

    def open_view() -> LeaseStore:
        storage = open_storage(dsn, tmp_path)
        opened.append(storage)
        return storage.leases

    yield open_view
    for storage in opened:
        storage.close()


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_one_holder_at_a_time(open_leases: OpenLeases) -> None:
    a, b = open_leases(), open_leases()
    assert a.holder("background") is None
    assert a.acquire("background", "a", 30)
    assert not b.acquire("background", "b", 30)
    assert b.holder("background") == "a"
    assert a.acquire("background", "a", 30)  # the holder keeps it
    assert b.acquire("other", "b", 30)  # leases are independent
    assert a.holder("other") == "b" and a.holder("background") == "a"


def test_renew_only_while_held(open_leases: OpenLeases) -> None:
    a, b = open_leases(), open_leases()
    assert not a.renew("background", "a", 30)  # nobody holds it
    assert a.acquire("background", "a", 30)
    assert a.renew("background", "a", 30)
    assert not b.renew("background", "b", 30)
    assert b.holder("background") == "a"


def test_release_frees_the_lease(open_leases: OpenLeases) -> None:
    a, b = open_leases(), open_leases()
    assert a.acquire("background", "a", 30)
    assert not b.release("background", "b")
    assert a.holder("background") == "a"
    assert a.release("background", "a")
    assert b.holder("background") is None
    assert b.acquire("background", "b", 30)
    assert not a.release("background", "a")


def test_an_expired_lease_is_taken_over(open_leases: OpenLeases) -> None:
    a, b = open_leases(), open_leases()
    assert a.acquire("background", "a", 0.2)
    assert wait_for(lambda: b.acquire("background", "b", 30))
    assert a.holder("background") == "b"
    assert not a.renew("background", "a", 30)  # the old holder learns it lost the lease
    assert a.holder("background") == "b"


def test_an_expired_lease_has_no_holder(open_leases: OpenLeases) -> None:
    a = open_leases()
    assert a.acquire("background", "a", 0.2)
    assert wait_for(lambda: a.holder("background") is None)
    assert not a.renew("background", "a", 30)


def test_of_two_contenders_one_wins(open_leases: OpenLeases) -> None:
    for round_ in range(10):
        views = [open_leases() for _ in range(4)]
        start = threading.Barrier(len(views))
        won: list[str] = []

        def contend(
            view: LeaseStore,
            holder: str,
            name: str = f"job-{round_}",
            start: threading.Barrier = start,
            won: list[str] = won,
        ) -> None:
            start.wait()
            if view.acquire(name, holder, 30):
                won.append(holder)

        threads = [
            threading.Thread(target=contend, args=(view, f"p{n}")) for n, view in enumerate(views)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1
        assert views[0].holder(f"job-{round_}") == won[0]
