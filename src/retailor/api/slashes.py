"""Ids with a ``/`` in URL paths: ``GET /v1/catalog/items/ABC%2F12`` reaches the item
``ABC/12``.

The router matches the decoded path, where ``%2F`` has become a ``/`` that splits the id
into two segments. This middleware decodes the raw path itself with each encoded slash
kept as a private-use character, and the endpoint dispatcher turns that character back
into ``/`` in the path parameters (:func:`restore_slashes`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

#: Stands for an encoded slash while the router matches (never valid in a URL itself).
ENCODED_SLASH = "\ue000"


class EncodedSlashMiddleware:
    """Keeps ``%2F`` inside one path segment (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if raw and (b"%2F" in raw or b"%2f" in raw) and scope["type"] == "http":
            text = raw.decode("latin-1").split("?", 1)[0]
            kept = text.replace("%2F", ENCODED_SLASH).replace("%2f", ENCODED_SLASH)
            scope = {**scope, "path": unquote(kept)}
        await self.app(scope, receive, send)


def restore_slashes(params: dict[str, Any]) -> None:
    """Path parameters with their encoded slashes back as ``/`` (in place)."""
    for key, value in params.items():
        if isinstance(value, str) and ENCODED_SLASH in value:
            params[key] = value.replace(ENCODED_SLASH, "/")
