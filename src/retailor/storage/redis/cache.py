"""Redis ``HotCache``: one string key per value, ``<namespace>:cache:<kind>:<key>``, with
its expiry set by the same SET (millisecond precision); ``get_many`` is one MGET;
``clear`` removes the keys under ``<namespace>:cache:`` found with SCAN."""

from __future__ import annotations

from collections.abc import Sequence

from retailor.storage.hot import HotCache
from retailor.storage.redis.connection import State, guarded
from retailor.storage.redis.keys import delete_matching, literal


class RedisHotCache(HotCache):
    """See the module docstring."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._client = state.client
        self._prefix = state.key("cache") + ":"

    @guarded
    def put(self, kind: str, key: str, value: bytes, ttl_seconds: float) -> None:
        self._client.set(f"{self._prefix}{kind}:{key}", value, px=max(1, round(ttl_seconds * 1000)))

    @guarded
    def put_many(self, kind: str, items: Sequence[tuple[str, bytes]], ttl_seconds: float) -> None:
        expiry = max(1, round(ttl_seconds * 1000))
        pipe = self._client.pipeline(transaction=False)
        for key, value in items:
            pipe.set(f"{self._prefix}{kind}:{key}", value, px=expiry)
        pipe.execute()

    @guarded
    def get(self, kind: str, key: str) -> bytes | None:
        value = self._client.get(f"{self._prefix}{kind}:{key}")
        return value if isinstance(value, bytes) else None

    def get_many(self, kind: str, keys: Sequence[str]) -> list[bytes | None]:
        return self._get_many(kind, keys) if keys else []

    @guarded
    def _get_many(self, kind: str, keys: Sequence[str]) -> list[bytes | None]:
        values = self._client.mget([f"{self._prefix}{kind}:{key}" for key in keys])
        return [v if isinstance(v, bytes) else None for v in values]

    def clear(self) -> int:
        return delete_matching(self._state, literal(self._prefix) + "*", "RedisHotCache.clear")
