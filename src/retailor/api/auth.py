"""Who is calling: a scoped API key as ``Authorization: Bearer KEY`` or as the HTTP Basic
user name (Segment's write key convention).

Checking a key, in order: 401 for a missing, unknown, revoked or expired key; 403 for a
scope that is not enough; on the ingest endpoints, 403 for a cross-origin browser request
the key does not allow (``api/cors.py``); 429 with ``Retry-After`` past the key's rate
limit (its own, else the server's default for its scope). The key's id is left on
``request.state.key_id`` (``"control"`` for the server's control token) for whatever
records who did what, and its use is noted for ``last_used_at``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from retailor.api.cors import admit, cross_origin
from retailor.api.problems import ProblemError
from retailor.domain.access import ApiKey, RateLimit, Scope
from retailor.privacy.keys import hash_secret
from retailor.privacy.usage import KeyUsage
from retailor.storage.base import KeyStore
from retailor.storage.hot import RateLimiter

#: ``request.state.key_id`` of a request made with the server's control token.
CONTROL_KEY_ID = "control"
_INVALID = {"WWW-Authenticate": 'Bearer realm="retailor", error="invalid_token"'}


class Authenticator:
    """Checks a request's key against the key store (and the server's local control token),
    its rate limit against ``limiter``, and notes its use in ``usage``."""

    def __init__(
        self,
        keys: KeyStore,
        control_token: str | None = None,
        *,
        limiter: RateLimiter | None = None,
        default_limits: Mapping[Scope, RateLimit] | None = None,
        usage: KeyUsage | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keys = keys
        self._control_token = control_token
        self._limiter = limiter
        self._defaults = dict(default_limits or {})
        self._usage = usage
        self._clock = clock
        self._flushes: set[asyncio.Future[None]] = set()

    async def require(self, request: Request, scope: Scope, *, browser: bool = False) -> Scope:
        """The caller's scope, or a problem (see the module docstring). ``browser``: the
        endpoint takes cross-origin requests from web pages (the ingest endpoints).

        A key the store cannot answer for at once (a database round trip) is looked up on
        a worker thread, so a slow or unreachable database never holds the event loop."""
        request.state.key_id = None
        secret = _secret_of(request)
        origin = cross_origin(request) if browser else None
        if self._is_control(secret):
            request.state.key_id = CONTROL_KEY_ID
            if origin is not None:
                admit(request, None, origin)
            return self._grant(Scope.ADMIN, scope)
        secret_hash = hash_secret(secret)
        answered, key = self._keys.find_at_once(secret_hash)
        if not answered:
            key = await run_in_threadpool(self._keys.find, secret_hash)
        if key is None or key.revoked:
            raise ProblemError(401, "this API key is unknown or revoked", headers=_INVALID)
        if key.expired(self._clock()):
            raise ProblemError(401, _expired(key), title="API key expired", headers=_INVALID)
        request.state.key_id = key.key_id
        granted = self._grant(key.scope, scope)
        if origin is not None:
            admit(request, key, origin)
        self._limit(key)
        if self._usage is not None and self._usage.seen(key.key_id):
            self._flush_in_background(self._usage.flush)
        return granted

    def _limit(self, key: ApiKey) -> None:
        """429 when the key is past its rate limit."""
        limit = key.rate_limit or self._defaults.get(key.scope)
        if limit is None or self._limiter is None:
            return
        wait = self._limiter.take(key.key_id, limit.per_second, limit.burst)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ProblemError(
                429,
                f"key {key.key_id} is limited to {limit.describe()}; retry in {seconds} s",
                title="Rate limit exceeded",
                headers={"Retry-After": str(seconds)},
            )

    def _flush_in_background(self, flush: Callable[[], None]) -> None:
        """Run ``flush`` on the default thread pool, not awaited (the answer does not wait)."""
        future = asyncio.get_running_loop().run_in_executor(None, flush)
        self._flushes.add(future)
        future.add_done_callback(self._flushes.discard)

    def _is_control(self, secret: str) -> bool:
        return bool(self._control_token) and hmac.compare_digest(secret, self._control_token or "")

    @staticmethod
    def _grant(granted: Scope, scope: Scope) -> Scope:
        if not granted.allows(scope):
            raise ProblemError(
                403, f"this key has scope '{granted.value}'; this call needs '{scope.value}'"
            )
        return granted


def _expired(key: ApiKey) -> str:
    when = key.expires_at.isoformat(timespec="seconds") if key.expires_at else "?"
    return (
        f"API key {key.key_id} expired at {when}. Replace it with a new key of the same "
        f"settings: retailor keys rotate {key.key_id} (rotate before a key expires, with "
        "--overlap, so that the old and the new key both work while you switch)"
    )


def _secret_of(request: Request) -> str:
    """The presented key; 401 when there is none."""
    secret = presented_secret(request)
    if secret is None:
        raise ProblemError(
            401,
            "send an API key as 'Authorization: Bearer KEY' "
            "(create one with: retailor keys create --data DIR --scope ingest)",
            headers={"WWW-Authenticate": 'Bearer realm="retailor"'},
        )
    return secret


def presented_secret(request: Request) -> str | None:
    """The key in the Authorization header (Bearer, or Basic with the key as user name)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    kind, _, value = header.partition(" ")
    kind = kind.lower()
    value = value.strip()
    if kind == "bearer" and value:
        return value
    if kind == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, password = decoded.partition(":")
        return user or password or None
    return None
