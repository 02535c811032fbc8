"""Redis ``EventFeed``: the head is one key, each announced append's payload a key of its
own that expires after ``hold_seconds``. Announcing is one script (payload stored, head
moved forward only), so it is one round trip and the head never goes back; reading the
head is one GET, reading payloads one MGET. ``clear`` removes the payload keys, found
with SCAN, and leaves the head: each payload is a plain string key, removed whole (no
stream whose deleted entries would linger in its listpacks).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import redis
import redis.asyncio

from retailor.storage.hot import EventFeed
from retailor.storage.redis.connection import TIMEOUT_SECONDS, State, guarded
from retailor.storage.redis.keys import delete_matching, literal

#: KEYS: head, payload key; ARGV: position, payload ("" for none), seconds to hold it
_ANNOUNCE = """
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
end
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > head then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
"""
#: Positions asked for in one MGET at most; further ones are read from the event log.
MAX_PAYLOADS = 1_000


class RedisEventFeed(EventFeed):
    """See the module docstring."""

    def __init__(self, state: State, hold_seconds: float = 60.0) -> None:
        self._state = state
        self._client = state.client
        self._head_key = state.key("feed", "head")
        self._prefix = state.key("feed", "append") + ":"
        self._hold = max(1, round(hold_seconds))
        self._announce: Any = self._client.register_script(_ANNOUNCE)
        self._local = threading.local()
        self._own: list[redis.Connection] = []  # the readers' own connections, to close
        self._own_lock = threading.Lock()
        self._async: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}

    @guarded
    def announce(self, position: int, payload: bytes | None) -> None:
        self._announce(
            keys=[self._head_key, f"{self._prefix}{position}"],
            args=[position, payload if payload is not None else b"", self._hold],
        )

    @guarded
    def head(self) -> int:
        conn: redis.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._client.connection_pool.make_connection()  # type: ignore[assignment]
            assert conn is not None
            self._local.conn = conn
            with self._own_lock:
                self._own.append(conn)
        try:
            conn.send_command("GET", self._head_key)  # type: ignore[no-untyped-call]
            value = conn.read_response()
        except BaseException:
            conn.disconnect()  # type: ignore[no-untyped-call]  # the next read reconnects
            raise
        return int(value) if value is not None else 0

    async def head_async(self) -> int:
        """``head`` over a connection of the event loop's own (one per loop: the reads
        of one loop come one at a time, see ``FeedFollower.catch_up_async``)."""
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = self._async[loop] = redis.asyncio.Redis.from_url(
                self._state.dsn_without_namespace, socket_timeout=TIMEOUT_SECONDS
            )
        self._state.count_trip("RedisEventFeed.head_async")
        with self._state.guard():
            value = await client.get(self._head_key)
        return int(value) if value is not None else 0

    def close(self) -> None:
        with self._own_lock:
            for conn in self._own:
                conn.disconnect()  # type: ignore[no-untyped-call]
            self._own.clear()

    def clear(self) -> int:
        return delete_matching(self._state, literal(self._prefix) + "*", "RedisEventFeed.clear")

    def payloads(self, after: int, upto: int) -> dict[int, bytes]:
        wanted = list(range(after + 1, min(upto, after + MAX_PAYLOADS) + 1))
        return self._payloads(wanted) if wanted else {}

    @guarded
    def _payloads(self, wanted: list[int]) -> dict[int, bytes]:
        values = self._client.mget([f"{self._prefix}{p}" for p in wanted])
        return {p: v for p, v in zip(wanted, values, strict=True) if isinstance(v, bytes)}
