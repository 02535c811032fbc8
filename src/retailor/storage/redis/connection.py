"""Opening the shared hot state: a Redis client from a ``redis://host:port/N`` DSN, checked
with a PING, and the namespace every key of one Retailor starts with.

Raises ``StorageUnavailableError`` (saying which server, without its password) when the
server cannot be reached. Later, the adapters run their commands inside ``State.guard()``,
which turns a lost connection or a timeout (``redis.ConnectionError``,
``redis.TimeoutError``) into ``StorageUnavailableError`` too, so that the API answers a
503 problem and domain code never meets a redis-py error. redis-py reconnects by itself
on the next command once the server answers again; ``unavailable()`` is the health probe.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import redis

from retailor.storage.errors import StorageUnavailableError

R = TypeVar("R")

#: Seconds to wait for a connection and for any one answer.
TIMEOUT_SECONDS = 5.0
#: The namespace of a Retailor's keys unless the DSN asks for another (``?namespace=…``).
DEFAULT_NAMESPACE = "retailor"


def describe(dsn: str) -> str:
    """``host:port/N`` of a Redis DSN, without user or password."""
    try:
        parts = urlsplit(dsn)
        db = parts.path.strip("/") or "0"
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}/{db}"
    except ValueError:
        return "an unreadable Redis DSN"


@dataclass(frozen=True)
class State:
    """A connected Redis client and the namespace of this Retailor's keys, with a count
    of the round trips the adapters made, by what made them (``round_trips``)."""

    client: redis.Redis
    namespace: str
    dsn: str
    #: the DSN without Retailor's own ``namespace`` parameter, for more clients
    dsn_without_namespace: str = ""
    _trips: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _trips_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_trip(self, what: str) -> None:
        """One more round trip to Redis made by ``what`` (an adapter's method)."""
        with self._trips_lock:
            self._trips[what] = self._trips.get(what, 0) + 1

    def round_trips(self) -> dict[str, int]:
        """Round trips made so far, by what made them."""
        with self._trips_lock:
            return dict(self._trips)

    def key(self, *parts: str) -> str:
        """``<namespace>:<part>:<part>…``."""
        return ":".join((self.namespace, *parts))

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run Redis commands in a ``with`` block: a lost connection or a timeout leaves
        it as ``StorageUnavailableError`` naming the server."""
        try:
            yield
        except UNAVAILABLE as exc:
            raise StorageUnavailableError(
                f"Redis at {describe(self.dsn)} is unreachable ({_reason(exc)}); retry shortly"
            ) from exc

    def unavailable(self) -> str | None:
        """None when the server answers a PING now, else why it cannot be used."""
        try:
            with self.guard():
                self.client.ping()
        except StorageUnavailableError as exc:
            return str(exc)
        return None

    def close(self) -> None:
        self.client.close()


class _HasState(Protocol):
    _state: State


def guarded(method: Callable[..., R]) -> Callable[..., R]:
    """An adapter method (of a class holding its ``State`` as ``_state``) whose Redis
    commands run inside ``State.guard()``; each call counts as one round trip (the
    methods make one: a command, a script or a pipeline), under
    ``<class>.<method>``."""
    what = method.__qualname__

    @functools.wraps(method)
    def run(self: _HasState, *args: Any, **kwargs: Any) -> R:
        self._state.count_trip(what)
        with self._state.guard():
            return method(self, *args, **kwargs)

    return run


#: The redis-py errors of a server that cannot be reached or does not answer in time.
UNAVAILABLE: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


def _reason(exc: Exception) -> str:
    return "timeout" if isinstance(exc, redis.TimeoutError) else "connection lost or refused"


def open_state(dsn: str, namespace: str | None = None) -> State:
    """Connect to the Redis a ``redis://`` (or ``rediss://``) DSN names and check it answers."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise StorageUnavailableError(
            f"state {dsn!r} is not a Redis DSN: write redis://host:port/N"
        )
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    asked = query.pop("namespace", None)  # Retailor's own: not for redis-py
    chosen = namespace or asked or DEFAULT_NAMESPACE
    clean = parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()
    try:
        client = redis.Redis.from_url(
            clean,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise StorageUnavailableError(
            f"cannot connect to Redis at {describe(dsn)}: {' '.join(str(exc).split())}"
        ) from None
    return State(client=client, namespace=chosen, dsn=dsn, dsn_without_namespace=clean)
