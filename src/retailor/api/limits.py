"""How long a request's URL may be: a path or a query string past the limit is answered
414 (a problem document) before any route reads it. Bodies have their limits where they
are read (``api/http.py``: 413), and path ids theirs where they are checked
(``api/endpoints.py``: 422)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from retailor.api.problems import problem_response

#: Bytes a path may have, as sent (percent-encoded: an id of 256 characters may take
#: 12 bytes each, and a path may hold two).
MAX_PATH_BYTES = 8192
#: Bytes a query string may have, as sent.
MAX_QUERY_BYTES = 8192


class UrlLimitsMiddleware:
    """414 for a path longer than :data:`MAX_PATH_BYTES` or a query string longer than
    :data:`MAX_QUERY_BYTES`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope.get("path", "").encode()
            path = raw_path.split(b"?", 1)[0]
            query = scope.get("query_string", b"")
            problem = None
            if len(path) > MAX_PATH_BYTES:
                problem = f"the path has {len(path)} bytes; the limit is {MAX_PATH_BYTES}"
            elif len(query) > MAX_QUERY_BYTES:
                problem = f"the query string has {len(query)} bytes; the limit is {MAX_QUERY_BYTES}"
            if problem is not None:
                answer = problem_response(414, problem, instance=scope.get("path", "")[:200])
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
