"""Redis ``PolicyStateStore``: the offer policy's learned state, one hash
``policy:state`` with ``version`` and ``state`` (the bytes). Publishing is one Lua script
(compare the version, then write both fields), so the version and its bytes always go
together; a deciding worker asks for ``version`` alone (one small HGET) and reads the
bytes only when they are newer than its own."""

from __future__ import annotations

from retailor.storage.hot import PolicyStateStore
from retailor.storage.redis.connection import State, guarded

# KEYS: the hash; ARGV: expected version, state
_PUBLISH = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'version', current + 1, 'state', ARGV[2])
return current + 1
"""


class RedisPolicyStateStore(PolicyStateStore):
    """The published policy state in a shared Redis (see the module docstring)."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._client = state.client
        self._key = state.key("policy", "state")
        self._publish = self._client.register_script(_PUBLISH)

    @guarded
    def publish(self, state: bytes, *, after: int) -> int | None:
        version = int(self._publish(keys=[self._key], args=[after, state]))
        return None if version < 0 else version

    @guarded
    def version(self) -> int:
        return int(self._client.hget(self._key, "version") or 0)

    @guarded
    def latest(self, newer_than: int = 0) -> tuple[int, bytes] | None:
        version, state = self._client.hmget(self._key, ["version", "state"])
        if version is None or int(version) <= newer_than:
            return None
        return int(version), state if isinstance(state, bytes) else str(state or "").encode()
