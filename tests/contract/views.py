"""Opening several views of one store, as several worker processes would: the contract
suites of the hot-state ports ask each adapter for a function that opens one more view
(the memory adapter: the same object; Redis: a new connection to the same namespace)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

T = TypeVar("T")


def views(
    request: pytest.FixtureRequest,
    memory: Callable[[], T],
    redis: Callable[[object], T],
) -> Iterator[Callable[[], T]]:
    """Yield a function opening one more view of a store: ``memory()`` made once and
    shared when ``request.param`` is "memory", else ``redis(state)`` over a new
    connection to the test's Redis namespace each time (closed afterwards)."""
    if request.param == "memory":
        shared = memory()
        yield lambda: shared
        return
    from retailor.storage.redis.connection import open_state

    dsn = request.getfixturevalue("redis_dsn")
    states = []

    def open_view() -> T:
        states.append(open_state(dsn))
        return redis(states[-1])

    yield open_view
    for state in states:
        state.close()
