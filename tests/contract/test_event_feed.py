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
