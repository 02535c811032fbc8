"""Creating API keys. The secret is shown once; only its SHA-256 hash is stored (keys are
long random strings, so a fast hash is enough)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from retailor.domain.access import ApiKey, Scope
from retailor.storage.base import KeyStore

_PREFIX = {
    Scope.INGEST: "rk_ingest_",
    Scope.SERVE: "rk_serve_",
    Scope.VIEW: "rk_view_",
    Scope.ADMIN: "rk_admin_",
}


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key_id(scope: Scope) -> str:
    """A public id for a new key, drawn apart from its secret (an id that is part of the
    secret would hand out part of it wherever the id is shown or logged)."""
    return f"key_{scope.value}_{secrets.token_hex(4)}"


def create_key(store: KeyStore, scope: Scope, name: str = "") -> tuple[ApiKey, str]:
    """Create and store a key; return it and its secret (which is not stored anywhere)."""
    secret = _PREFIX[scope] + secrets.token_urlsafe(32)
    key = ApiKey(
        key_id=new_key_id(scope),
        scope=scope,
        secret_hash=hash_secret(secret),
        created_at=datetime.now(UTC),
        name=name,
    )
    store.add(key)
    return key, secret
