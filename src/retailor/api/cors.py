"""Browsers on other origins, for the ingest endpoints only (a web page sends events with
an ingest key; every other key belongs on a server).

A request that carries an ``Origin`` other than the server's own is *cross-origin*. On an
ingest endpoint it is taken only with an ingest key whose ``allowed_origins`` hold that
origin: the answer then carries ``Access-Control-Allow-Origin: <origin>`` and ``Vary:
Origin``; with any other key it is refused (403) and carries no CORS header. A preflight
(``OPTIONS``) on an ingest path answers 204 with the methods and headers a page may use,
and ``Access-Control-Allow-Origin`` only when some usable ingest key allows the origin.
No other path ever answers with a CORS header.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retailor.api.problems import ProblemError
from retailor.domain.access import ApiKey
from retailor.domain.access import Scope as KeyScope
from retailor.storage.base import KeyStore

#: Where the allowed origin of the request is noted for the middleware (``request.state``).
STATE_ORIGIN = "cors_origin"
ALLOW_METHODS = "POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Content-Encoding"
EXPOSE_HEADERS = "Retry-After"
MAX_AGE_SECONDS = "600"


def cross_origin(request: Request) -> str | None:
    """The request's ``Origin`` when it is not the server's own (compared by host and
    port, as a proxy may change the scheme), else None."""
    return _cross(request.headers.get("origin"), request.headers.get("host"))


def _cross(origin: str | None, host: str | None) -> str | None:
    if not origin or origin == "null":
        return origin or None
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        return origin
    return None if host and netloc.lower() == host.lower() else origin


def admit(request: Request, key: ApiKey | None, origin: str) -> None:
    """Take a cross-origin request on an ingest endpoint when ``key`` is an ingest key that
    allows ``origin`` (noting it for the answer's headers); 403 otherwise."""
    if key is not None and key.scope is KeyScope.INGEST and origin in key.allowed_origins:
        setattr(request.state, STATE_ORIGIN, origin)
        return
    if key is None or key.scope is not KeyScope.INGEST:
        why = "only ingest keys may be used from a web page; keep other keys on your servers"
    elif not key.allowed_origins:
        why = (
            f"key {key.key_id} is for servers only; to use it from a web page, create an "
            f"ingest key for this origin: retailor keys create --scope ingest --origin {origin}"
        )
    else:
        why = f"key {key.key_id} does not allow the origin {origin}"
    raise ProblemError(403, f"cross-origin request from {origin} refused: {why}")


class AllowedOrigins:
    """The origins some usable ingest key allows, read from the key store at most every
    ``refresh_seconds`` (at most every second for an origin not seen among them)."""

    def __init__(
        self, keys: KeyStore, refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._keys, self._refresh, self._clock = keys, refresh_seconds, clock
        self._origins: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def allows(self, origin: str) -> bool:
        """Whether some usable ingest key allows ``origin``."""
        async with self._lock:
            age = self._clock() - self._read_at
            if age > self._refresh or (origin not in self._origins and age > 1.0):
                every = await run_in_threadpool(self._keys.all)
                now = datetime.now(UTC)
                self._origins = frozenset(
                    o for k in every if k.scope is KeyScope.INGEST and k.usable(now)
                    for o in k.allowed_origins
                )  # fmt: skip
                self._read_at = self._clock()
            return origin in self._origins


class CorsMiddleware:
    """Answers preflights on the ingest paths, and adds the CORS headers to the answers of
    cross-origin requests the ingest endpoints took (see the module docstring)."""

    def __init__(self, app: ASGIApp, paths: Collection[str], origins: AllowedOrigins) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        origin = cross_origin(request)
        if scope["method"] == "OPTIONS":
            await self._preflight(origin, send)
            return
        state: dict[str, object] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and origin is not None:
                headers = list(message.get("headers", []))
                headers.append((b"vary", b"Origin"))
                allowed = state.get(STATE_ORIGIN)
                if isinstance(allowed, str):
                    headers.append((b"access-control-allow-origin", allowed.encode("latin-1")))
                    headers.append((b"access-control-expose-headers", EXPOSE_HEADERS.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(self, origin: str | None, send: Send) -> None:
        headers = [
            (b"allow", ALLOW_METHODS.encode()),
            (b"vary", b"Origin"),
            (b"access-control-allow-methods", ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
            (b"access-control-max-age", MAX_AGE_SECONDS.encode()),
        ]
        if origin is not None and origin != "null" and await self.origins.allows(origin):
            headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
