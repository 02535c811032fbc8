"""Redis ``RateLimiter``: the limits of API keys every worker shares.

One key per name, ``ratelimit:<name>``: the theoretical arrival time of the next request
(GCRA) in microseconds of the Redis server's clock, so every worker counts by one clock.
``take`` is one Lua script (check and count in one atomic step, one round trip); the key
expires when the bucket would be full again.
"""

from __future__ import annotations

from retailor.storage.hot import RateLimiter
from retailor.storage.redis.connection import State, guarded

# KEYS: the name's key; ARGV: interval (µs), burst. Returns 0, or the µs to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local due = tonumber(redis.call('GET', KEYS[1]) or '0')
if due < now then due = now end
due = due + interval
local wait = due - now - burst * interval
if wait > 0 then return wait end
redis.call('SET', KEYS[1], string.format('%d', due), 'PX', math.ceil((due - now) / 1000) + 1)
return 0
"""


class RedisRateLimiter(RateLimiter):
    """Buckets in Redis under the state's namespace (see the module docstring)."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._take = state.client.register_script(_TAKE)

    @guarded
    def take(self, name: str, per_second: float, burst: int) -> float:
        interval = max(1, round(1_000_000 / per_second))
        wait = self._take(keys=[self._state.key("ratelimit", name)], args=[interval, burst])
        return int(wait) / 1_000_000
