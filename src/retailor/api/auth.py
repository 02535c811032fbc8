"""Who is calling: a scoped API key as ``Authorization: Bearer KEY`` or as the HTTP Basic
user name (Segment's write key convention)."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from retailor.api.problems import ProblemError
from retailor.domain.access import Scope
from retailor.privacy.keys import hash_secret
from retailor.storage.base import KeyStore


class Authenticator:
    """Checks a request's key against the key store (and the server's local control token)."""

    def __init__(self, keys: KeyStore, control_token: str | None = None) -> None:
        self._keys = keys
        self._control_token = control_token

    async def require(self, request: Request, scope: Scope) -> Scope:
        """The caller's scope; 401 without a valid key, 403 when the scope is not enough.
        A key the store cannot answer for at once (a database round trip) is looked up on
        a worker thread, so a slow or unreachable database never holds the event loop."""
        secret = _secret_of(request)
        if self._is_control(secret):
            request.state.key_id = "control"
            return self._grant(Scope.ADMIN, scope)
        secret_hash = hash_secret(secret)
        answered, key = self._keys.find_at_once(secret_hash)
        if not answered:
            key = await run_in_threadpool(self._keys.find, secret_hash)
        if key is not None:
            request.state.key_id = key.key_id
        return self._grant(None if key is None or key.revoked else key.scope, scope)

    def _is_control(self, secret: str) -> bool:
        return bool(self._control_token) and hmac.compare_digest(secret, self._control_token or "")

    @staticmethod
    def _grant(granted: Scope | None, scope: Scope) -> Scope:
        if granted is None:
            raise ProblemError(
                401,
                "this API key is unknown or revoked",
                headers={"WWW-Authenticate": 'Bearer realm="retailor", error="invalid_token"'},
            )
        if not granted.allows(scope):
            raise ProblemError(
                403, f"this key has scope '{granted.value}'; this call needs '{scope.value}'"
            )
        return granted


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
