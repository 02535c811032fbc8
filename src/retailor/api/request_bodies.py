"""The client's side of a request body: how long it may take to arrive, and what a client
that leaves before sending all of it amounts to (an abort, not a server error).

Every ``receive()`` of a body chunk is bounded: no pause between chunks longer than the
stall timeout, and the whole body within the body timeout counted from the start of the
request. A body that misses either is answered 408 and its connection closed. A client
that closes the connection mid-body (Starlette's :class:`ClientDisconnect`) got no
answer and is owed none: it is logged in one line and the request ends there; nothing of
the part received is stored, since the routes hand only complete bodies on."""

from __future__ import annotations

import asyncio
import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class BodyTimeoutError(HTTPException):
    """The body did not arrive in time: a 408 problem, and the connection is closed (the
    rest of the body may still be on its way)."""

    def __init__(self, detail: str) -> None:
        super().__init__(408, detail, headers={"Connection": "close"})


class RequestBodyMiddleware:
    """Bounds the arrival of request bodies and ends requests the client abandoned (see
    the module docstring)."""

    def __init__(self, app: ASGIApp, *, timeout_seconds: float, stall_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.stall_seconds = stall_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_seconds
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:  # only a disconnect is left to wait for: no bound on that
                return await receive()
            stall_end = loop.time() + self.stall_seconds
            try:
                async with asyncio.timeout_at(min(stall_end, deadline)):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError(self._too_slow(stall_end < deadline)) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        try:
            await self.app(scope, timed_receive, send)
        except ClientDisconnect:
            log.info(
                "client closed the connection while sending the body of %s %s",
                scope["method"],
                scope["path"],
            )

    def _too_slow(self, stalled: bool) -> str:
        if stalled:
            return (
                f"no part of the body arrived for {self.stall_seconds:g} s; "
                "send it again without pauses"
            )
        return f"the body did not arrive within {self.timeout_seconds:g} s; send it again"
