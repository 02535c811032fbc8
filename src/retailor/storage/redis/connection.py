"""Opening the shared hot state: a Redis client from a ``redis://host:port/N`` DSN, checked
with a PING, and the namespace every key of one Retailor starts with.

Raises ``StorageUnavailableError`` (saying which server, without its password) when the
server cannot be reached; redis-py's own errors raised later by a command are the
adapters' callers' to map (the API answers them with a 503 problem).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import redis

from retailor.storage.errors import StorageUnavailableError

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
    """A connected Redis client and the namespace of this Retailor's keys."""

    client: redis.Redis
    namespace: str
    dsn: str

    def key(self, *parts: str) -> str:
        """``<namespace>:<part>:<part>…``."""
        return ":".join((self.namespace, *parts))

    def close(self) -> None:
        self.client.close()


def open_state(dsn: str, namespace: str | None = None) -> State:
    """Connect to the Redis a ``redis://`` (or ``rediss://``) DSN names and check it answers."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise StorageUnavailableError(
            f"state {dsn!r} is not a Redis DSN: write redis://host:port/N"
        )
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    chosen = namespace or query.pop("namespace", None) or DEFAULT_NAMESPACE
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
    return State(client=client, namespace=chosen, dsn=dsn)
