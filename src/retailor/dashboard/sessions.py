"""Dashboard sessions in signed cookies, CSRF tokens bound to them, and safe redirects.

A session is a cookie any worker of the installation can verify without shared memory:
``v1.<key id>.<scope>.<expires>.<session id>.<signature>``, the signature an HMAC-SHA256
of the rest under the installation's dashboard secret. It names the key that logged in
(never the key's secret or hash), so revoking the key ends its sessions. The CSRF token of
a session is an HMAC of its session id: a form posted without it, or with another
session's, is refused. Before a session exists (the login form) the token is bound to a
random nonce in a cookie of its own.

>>> signer = SessionSigner(b"k" * 32)
>>> cookie = signer.issue("key_view_1", "view", now=1000.0)
>>> signer.verify(cookie, now=1001.0).key_id
'key_view_1'
>>> signer.verify(cookie[:-1] + ("A" if cookie[-1] != "A" else "B"), now=1001.0) is None
True
>>> safe_next("/dashboard/placements?period=7d"), safe_next("//evil.example/"), safe_next("https://evil.example/")
('/dashboard/placements?period=7d', '/dashboard', '/dashboard')
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

#: Where every dashboard URL starts.
PREFIX = "/dashboard"
#: The session cookie, and the cookie of the login form's CSRF nonce.
SESSION_COOKIE = "retailor_session"
LOGIN_COOKIE = "retailor_login"
#: How long a session lasts after login.
SESSION_SECONDS = 8 * 3600
#: The name of the CSRF field of every form.
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Session:
    """A verified session: the key that logged in, its scope, when it ends and its id."""

    key_id: str
    scope: str
    expires: int
    session_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SessionSigner:
    """Issues and verifies session cookies and CSRF tokens with one secret."""

    def __init__(self, secret: bytes, lifetime: int = SESSION_SECONDS) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must hold at least 16 bytes")
        self._secret = secret
        self._lifetime = lifetime

    def _mac(self, purpose: str, text: str) -> str:
        message = f"{purpose}|{text}".encode()
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    def issue(self, key_id: str, scope: str, now: float | None = None) -> str:
        """A new session's cookie value for the key ``key_id`` of ``scope``."""
        expires = int((time.time() if now is None else now) + self._lifetime)
        body = f"v1.{key_id}.{scope}.{expires}.{secrets.token_urlsafe(18)}"
        return f"{body}.{self._mac('session', body)}"

    def verify(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session of a cookie value; None when it is missing, forged or expired."""
        if not cookie or len(cookie) > 512:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature, self._mac("session", body)):
            return None
        parts = body.split(".")
        if len(parts) != 5 or parts[0] != "v1" or not parts[3].isdigit():
            return None
        _, key_id, scope, expires, session_id = parts
        if int(expires) <= (time.time() if now is None else now):
            return None
        return Session(key_id, scope, int(expires), session_id)

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token of a session (or of a login form's nonce)."""
        return self._mac("csrf", session_id)

    def check_csrf(self, session_id: str, token: str | None) -> bool:
        """Whether ``token`` is the CSRF token of ``session_id``."""
        return bool(token) and hmac.compare_digest(token or "", self.csrf_token(session_id))


def new_nonce() -> str:
    """A random nonce for the login form's CSRF cookie."""
    return secrets.token_urlsafe(18)


def safe_next(target: str | None) -> str:
    """``target`` when it is a path of the dashboard on this server, else the overview:
    a login never redirects anywhere else (no scheme, no host, no ``//``, no backslash)."""
    if (
        not target
        or len(target) > 2000
        or not target.startswith(PREFIX)
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target)
    ):
        return PREFIX
    rest = target[len(PREFIX) :]
    if rest and rest[0] not in "/?":
        return PREFIX  # /dashboardx is not the dashboard
    return target
