"""The dashboard's static files (``dashboard/static/``: its style sheet, its page script
and the vendored charting library), served under URLs that carry a digest of the file's
content, ``/dashboard/static/<digest>/<path>``, and cached for a year: a changed file
gets a new URL, so no browser keeps a stale one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from retailor.dashboard.sessions import PREFIX

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    """One static file: its bytes, media type and the digest its URL carries."""

    body: bytes
    media_type: str
    digest: str


class Assets:
    """The static files of the package, read once; :meth:`url` names one for a template."""

    def __init__(self) -> None:
        self._files: dict[str, Asset] = {}
        root = resources.files("retailor.dashboard") / "static"
        self._walk(root, PurePosixPath())

    def _walk(self, folder: resources.abc.Traversable, at: PurePosixPath) -> None:
        for entry in folder.iterdir():
            path = at / entry.name
            if entry.is_dir():
                self._walk(entry, path)
            elif path.suffix in _TYPES:
                body = entry.read_bytes()
                digest = hashlib.sha256(body).hexdigest()[:16]
                self._files[str(path)] = Asset(body, _TYPES[path.suffix], digest)

    def url(self, path: str) -> str:
        """The URL of the static file ``path`` (relative to ``static/``); ``KeyError`` for
        a file the package does not hold, so a template naming one fails at once."""
        return f"{PREFIX}/static/{self._files[path].digest}/{path}"

    def size(self, path: str) -> int:
        """The size of a static file in bytes."""
        return len(self._files[path].body)

    async def serve(self, request: Request) -> Response:
        """The file a hashed URL names; 404 for an unknown file or an outdated digest."""
        digest, path = request.path_params["digest"], request.path_params["path"]
        asset = self._files.get(path)
        if asset is None or asset.digest != digest:
            return PlainTextResponse("no such file", status_code=404)
        return Response(asset.body, media_type=asset.media_type,
                        headers={"Cache-Control": IMMUTABLE})  # fmt: skip
