"""The EventFeed contract (see storage/base.py), run against memory and Redis; the Redis
feed is also read through a second connection, as another worker would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from retailor.storage.hot import EventFeed
from retailor.storage.memory.feed import MemoryEventFeed
from tests.contract.views import views

#: Opens one more view of the same feed, as another process would.
OpenFeed = Callable[[], EventFeed]


@pytest.fixture(params=["memory", "redis"])
def open_feed(request: pytest.FixtureRequest) -> Iterator[OpenFeed]:
    from retailor.storage.redis.feed import RedisEventFeed

    yield from views(
        request,
        lambda: MemoryEventFeed(hold_seconds=60),
        lambda state: RedisEventFeed(state, hold_seconds=60),  # type: ignore[arg-type]
    )


def test_the_head_is_zero_before_any_announcement(open_feed: OpenFeed) -> None:
    assert open_feed().head() == 0
    assert open_feed().payloads(0, 10) == {}


def test_an_announcement_is_seen_by_every_reader(open_feed: OpenFeed) -> None:
    writer, reader = open_feed(), open_feed()
    writer.announce(1, b"one")
    writer.announce(2, None)
    writer.announce(3, b"\x00three")
    assert reader.head() == 3
    assert reader.payloads(0, 3) == {1: b"one", 3: b"\x00three"}
    assert reader.payloads(1, 2) == {}


def test_the_head_never_goes_back(open_feed: OpenFeed) -> None:
    feed = open_feed()
    feed.announce(5, b"five")
    feed.announce(4, b"four")  # a slower writer announces an earlier append late
    assert feed.head() == 5
    assert feed.payloads(3, 5) == {4: b"four", 5: b"five"}


def test_racing_announcements_leave_the_highest_head(open_feed: OpenFeed) -> None:
    feeds = [open_feed() for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: feeds[n % 4].announce(n, b"x"), range(1, 201)))
    assert feeds[0].head() == 200
    assert len(feeds[1].payloads(0, 200)) == 200


def test_clear_drops_the_payloads_and_keeps_the_head(open_feed: OpenFeed) -> None:
    writer, reader = open_feed(), open_feed()
    for position in range(1, 8):
        writer.announce(position, None if position == 4 else f"event {position}".encode())
    assert reader.clear() == 6
    assert reader.head() == 7
    assert writer.payloads(0, 7) == {}
    assert reader.clear() == 0
    writer.announce(8, b"eight")  # the feed goes on from its head
    assert reader.head() == 8 and reader.payloads(7, 8) == {8: b"eight"}


def _dumps(redis_dsn: str) -> list[bytes]:
    """Every key of the test's namespace, and its value as DUMP serializes it."""
    from retailor.storage.redis.connection import open_state

    state = open_state(redis_dsn)
    try:
        keys = list(state.client.scan_iter(match=f"{state.namespace}:*"))
        found: list[bytes] = []
        for key in keys:
            dumped = state.client.dump(key)
            found += [key, dumped if isinstance(dumped, bytes) else b""]
        return found
    finally:
        state.close()


def test_a_redis_clear_leaves_no_byte_of_a_payload(redis_dsn: str) -> None:
    from retailor.storage.redis.connection import open_state
    from retailor.storage.redis.feed import RedisEventFeed

    state = open_state(redis_dsn)
    try:
        feed = RedisEventFeed(state)
        feed.announce(1, b'{"email": "ann@example.com"}')
        feed.announce(2, b'{"email": "bob@example.com"}')
        assert any(b"ann@example.com" in d for d in _dumps(redis_dsn))
        assert feed.clear() == 2
        assert not any(b"@example.com" in d for d in _dumps(redis_dsn))
        assert feed.head() == 2
    finally:
        state.close()
