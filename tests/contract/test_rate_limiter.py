"""The RateLimiter contract, against every adapter: memory and Redis.

``limiters()`` opens another instance over the same limits: for Redis a new connection,
as another worker process would have; in memory the same instance. The limits are slow
(one request in a thousand seconds) wherever a test counts what a burst allows, so that
no refill happens while it runs, however slow the machine."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from retailor.storage.hot import RateLimiter
from tests.contract.views import views

Limiters = Callable[[], RateLimiter]
SLOW = 0.001  # one request in 1000 s


@pytest.fixture(params=["memory", "redis"])
def limiters(request: pytest.FixtureRequest) -> Iterator[Limiters]:
    from retailor.storage.memory.rate_limits import MemoryRateLimiter
    from retailor.storage.redis.rate_limits import RedisRateLimiter

    yield from views(request, MemoryRateLimiter, RedisRateLimiter)  # type: ignore[arg-type]


def test_a_burst_is_allowed_then_refused_with_the_time_to_wait(limiters: Limiters) -> None:
    limiter = limiters()
    assert [limiter.take("k", SLOW, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    waits = [limiter.take("k", SLOW, 3) for _ in range(5)]
    assert all(0 < wait <= 1000 for wait in waits)
    assert limiter.take("other", SLOW, 1) == 0.0  # names are independent
    assert limiter.take("other", SLOW, 1) > 0


def test_instances_share_the_limit(limiters: Limiters) -> None:
    one, two = limiters(), limiters()
    allowed = 0
    for n in range(20):
        allowed += (one if n % 2 else two).take("shared", SLOW, 5) == 0.0
    assert allowed == 5


def test_concurrent_takes_never_pass_the_burst(limiters: Limiters) -> None:
    views = [limiters() for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: views[n % 4].take("busy", SLOW, 10), range(200)))
    assert sum(1 for wait in answers if wait == 0.0) == 10


def test_the_bucket_refills_at_the_rate(limiters: Limiters) -> None:
    limiter = limiters()
    assert limiter.take("fast", 100.0, 1) == 0.0
    wait = limiter.take("fast", 100.0, 1)
    assert wait == 0.0 or 0 < wait <= 0.01
    time.sleep(0.05)  # five refills' worth: the bucket (of one) is full again
    assert limiter.take("fast", 100.0, 1) == 0.0


def test_a_changed_limit_applies_from_the_next_call(limiters: Limiters) -> None:
    limiter = limiters()
    assert limiter.take("grows", SLOW, 1) == 0.0
    assert limiter.take("grows", SLOW, 1) > 0
    assert limiter.take("grows", SLOW, 3) == 0.0  # a bigger burst: room again
    assert limiter.take("grows", SLOW, 3) == 0.0
    assert limiter.take("grows", SLOW, 3) > 0
