"""RFC 9457 problem details: every error the API gives is ``application/problem+json``."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://retailor.dev/problems/"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Content too large",
    414: "URI too long",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


#: The titles of the 422s that still report what was kept of a request (some of its
#: events or items were refused, the others stored).
EVENTS_REJECTED = "Some events were rejected"
ITEMS_REJECTED = "Some items were rejected"


def problem_type(title: str) -> str:
    """The ``type`` URI of the problems titled ``title``.

    >>> problem_type("Some events were rejected")
    'https://retailor.dev/problems/some-events-were-rejected'
    """
    return PROBLEM_TYPE_BASE + title.lower().replace(" ", "-")


class ProblemError(Exception):
    """Raise from a handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title or _TITLES.get(status, "Error")
        self.detail = detail
        self.headers = headers
        if status == 422 and "where" not in extensions:
            where = where_of(detail)
            if where is not None:
                extensions["where"] = where
        self.extensions = extensions


def where_of(message: str) -> str | None:
    """The JSON path a validation message ends with (``... - at `$.rules[2].kind```)."""
    _, sep, tail = message.rpartition(" - at `")
    if not sep or not tail.startswith("$") or not tail.endswith("`"):
        return None
    return tail[:-1]


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A ``Response`` carrying a problem document."""
    title = title or _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": problem_type(title),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.detail,
        title=exc.title,
        instance=request.url.path,
        headers=exc.headers,
        **exc.extensions,
    )


async def handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail else _TITLES.get(exc.status_code, "Error")
    if exc.status_code == 404:
        detail = f"no resource at {request.method} {request.url.path}; see /openapi.json"
    return problem_response(
        exc.status_code, detail, instance=request.url.path, headers=dict(exc.headers or {})
    )


#: Seconds a client is told to wait (``Retry-After``) when a backend is unavailable.
RETRY_AFTER_SECONDS = 5


def unavailable(detail: str) -> ProblemError:
    """The 503 of a request that needs a backend which cannot be used now; ``detail``
    names the backend (never its password) and says to retry."""
    return ProblemError(
        503,
        detail,
        title="Storage unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def handle_unavailable(request: Request, exc: Exception) -> Response:
    """A backend (PostgreSQL, Redis) cannot be reached: 503 with ``Retry-After``."""
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return await handle_problem(request, unavailable(str(exc)))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "the server failed to handle this request; it is logged. Retry later.",
        instance=request.url.path,
    )
