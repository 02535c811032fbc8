"""The PolicyStateStore contract, against every adapter: memory and Redis."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from retailor.storage.hot import PolicyStateStore
from tests.contract.views import views

Stores = Callable[[], PolicyStateStore]


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    """Opens another instance over the same published state (Redis: a new connection)."""
    from retailor.storage.memory.policy_state import MemoryPolicyStateStore
    from retailor.storage.redis.policy_state import RedisPolicyStateStore

    yield from views(request, MemoryPolicyStateStore, RedisPolicyStateStore)  # type: ignore[arg-type]


def test_versions_count_up_and_latest_is_newer_only(stores: Stores) -> None:
    store, reader = stores(), stores()
    assert store.version() == 0 and store.latest() is None
    assert store.publish(b"\x00first", after=0) == 1
    assert reader.version() == 1
    assert reader.latest() == (1, b"\x00first")
    assert reader.latest(newer_than=1) is None
    assert store.publish(b"", after=1) == 2
    assert reader.latest(newer_than=1) == (2, b"")


def test_a_publish_based_on_an_old_version_is_refused(stores: Stores) -> None:
    store, other = stores(), stores()
    assert store.publish(b"a", after=0) == 1
    assert other.publish(b"b", after=0) is None  # it did not see version 1
    assert other.publish(b"b", after=5) is None
    assert other.latest() == (1, b"a")


def test_concurrent_publishes_after_one_version_store_one(stores: Stores) -> None:
    first, second = stores(), stores()
    start = threading.Barrier(8)

    def publish(n: int) -> int | None:
        start.wait()
        return (first if n % 2 else second).publish(f"s{n}".encode(), after=0)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(publish, range(8)))
    winners = [n for n, v in enumerate(outcomes) if v is not None]
    assert len(winners) == 1 and outcomes[winners[0]] == 1
    assert first.latest() == (1, f"s{winners[0]}".encode())
