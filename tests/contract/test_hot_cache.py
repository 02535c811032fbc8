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


def test_clear_drops_every_value_of_every_kind(open_cache: OpenCache) -> None:
    writer, reader = open_cache(), open_cache()
    writer.put_many("decision", [(f"d{n}", b"x") for n in range(1_200)], 60)
    writer.put("list", "ann@example.com", b"[1, 2]", 60)
    writer.put("list", "odd*[key]?", b"y", 60)
    assert reader.clear() == 1_202
    assert writer.get_many("decision", ["d0", "d1199"]) == [None, None]
    assert writer.get("list", "ann@example.com") is None
    assert reader.clear() == 0
    writer.put("list", "c1", b"again", 60)  # the cache keeps working
    assert reader.get("list", "c1") == b"again"


def test_a_redis_clear_leaves_other_namespaces(redis_dsn: str) -> None:
    from retailor.storage.redis.cache import RedisHotCache
    from retailor.storage.redis.connection import open_state

    mine = open_state(redis_dsn)
    # a namespace the first one's prefix would match as a pattern, were it not escaped
    theirs = open_state(redis_dsn, namespace=f"{mine.namespace}*")
    try:
        cache, other = RedisHotCache(mine), RedisHotCache(theirs)
        cache.put("list", "c1", b"mine", 60)
        other.put("list", "c1", b"theirs", 60)
        assert cache.clear() == 1
        assert other.get("list", "c1") == b"theirs"
        assert other.clear() == 1
    finally:
        mine.close()
        theirs.close()
