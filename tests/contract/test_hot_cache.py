"""The HotCache contract (see storage/base.py), run against memory and Redis (read
through a second connection, as another worker would)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from retailor.storage.hot import HotCache
from retailor.storage.memory.cache import MemoryHotCache
from tests.contract.views import views

OpenCache = Callable[[], HotCache]


@pytest.fixture(params=["memory", "redis"])
def open_cache(request: pytest.FixtureRequest) -> Iterator[OpenCache]:
    from retailor.storage.redis.cache import RedisHotCache

    yield from views(request, MemoryHotCache, RedisHotCache)  # type: ignore[arg-type]


def test_a_value_put_by_one_is_read_by_another(open_cache: OpenCache) -> None:
    writer, reader = open_cache(), open_cache()
    writer.put("decision", "d1", b"\x00record", 60)
    assert reader.get("decision", "d1") == b"\x00record"
    assert reader.get("decision", "d2") is None
    assert reader.get("list", "d1") is None  # kinds do not share keys


def test_the_last_put_wins_and_get_many_keeps_the_order(open_cache: OpenCache) -> None:
    cache = open_cache()
    cache.put("list", "c1", b"old", 60)
    cache.put("list", "c1", b"new", 60)
    cache.put("list", "c3", b"three", 60)
    assert cache.get_many("list", ["c3", "c2", "c1"]) == [b"three", None, b"new"]
    assert cache.get_many("list", []) == []


def test_a_value_expires_after_its_time(open_cache: OpenCache) -> None:
    cache = open_cache()
    cache.put("decision", "brief", b"x", 0.05)
    cache.put("decision", "kept", b"y", 60)
    deadline = time.monotonic() + 5
    while cache.get("decision", "brief") is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get("decision", "brief") is None
    assert cache.get("decision", "kept") == b"y"


def test_put_many_holds_each_value(open_cache: OpenCache) -> None:
    writer, reader = open_cache(), open_cache()
    writer.put_many("decision", [("d1", b"one"), ("d2", b"two")], 60)
    writer.put_many("decision", [], 60)
    assert reader.get_many("decision", ["d2", "d1", "d3"]) == [b"two", b"one", None]
