"""Creating and rotating API keys. The secret is shown once; only its SHA-256 hash is
stored (keys are long random strings, so a fast hash is enough).

A secret is ``rk_<scope>_`` and 43 characters of URL-safe base64 (32 random bytes), so
secret scanners can match it: :data:`SECRET_PATTERN` (see ``docs/security.md``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import msgspec

from retailor.domain.access import ApiKey, RateLimit, Scope, origin_problem
from retailor.storage.base import KeyStore

_PREFIX = {
    Scope.INGEST: "rk_ingest_",
    Scope.SERVE: "rk_serve_",
    Scope.VIEW: "rk_view_",
    Scope.ADMIN: "rk_admin_",
}
#: Random bytes in a secret (43 characters of URL-safe base64).
SECRET_BYTES = 32
#: What every secret looks like, for secret scanners (GitHub, gitleaks, trufflehog).
SECRET_PATTERN = r"rk_(?:ingest|serve|view|admin)_[A-Za-z0-9_-]{43}"
_SECRET = re.compile(rf"^{SECRET_PATTERN}$")


class KeyOptionsError(ValueError):
    """Options a key cannot have (an origin on a key of another scope, a bad origin)."""


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_secret(text: str) -> bool:
    """Whether ``text`` has the shape of a Retailor key's secret."""
    return bool(_SECRET.match(text))


def new_key_id(scope: Scope) -> str:
    """A public id for a new key, drawn apart from its secret (an id that is part of the
    secret would hand out part of it wherever the id is shown or logged)."""
    return f"key_{scope.value}_{secrets.token_hex(4)}"


def new_secret(scope: Scope) -> str:
    """A fresh secret of ``scope``: its prefix and 32 random bytes."""
    return _PREFIX[scope] + secrets.token_urlsafe(SECRET_BYTES)


def check_origins(scope: Scope, origins: Iterable[str]) -> tuple[str, ...]:
    """The allowed origins of a key, lower-cased as browsers send them, without repeats;
    ``KeyOptionsError`` for a key that is not an ingest key or an origin that is not one."""
    found: list[str] = []
    for origin in origins:
        origin = origin.strip().lower()
        problem = origin_problem(origin)
        if problem is not None:
            raise KeyOptionsError(problem)
        if origin not in found:
            found.append(origin)
    if found and scope is not Scope.INGEST:
        raise KeyOptionsError(
            "only ingest keys may be used from a web page (--origin); keys of scope "
            f"'{scope.value}' belong on servers"
        )
    return tuple(found)


def create_key(
    store: KeyStore,
    scope: Scope,
    name: str = "",
    *,
    expires_at: datetime | None = None,
    allowed_origins: Iterable[str] = (),
    rate_limit: RateLimit | None = None,
    rotated_from: str | None = None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create and store a key; return it and its secret (which is not stored anywhere)."""
    secret = new_secret(scope)
    key = ApiKey(
        key_id=new_key_id(scope),
        scope=scope,
        secret_hash=hash_secret(secret),
        created_at=now or datetime.now(UTC),
        name=name,
        expires_at=expires_at,
        allowed_origins=check_origins(scope, allowed_origins),
        rate_limit=rate_limit,
        rotated_from=rotated_from,
    )
    store.add(key)
    return key, secret


class RotationError(ValueError):
    """A key that cannot be rotated (unknown or revoked); the message says which."""


def rotate_key(
    store: KeyStore, key_id: str, overlap: timedelta, now: datetime | None = None
) -> tuple[ApiKey, str, ApiKey]:
    """Replace the key ``key_id``: a new key with its scope, name, origins and rate limit
    (and, when the old one had a lifetime, the same lifetime from now), which records
    ``rotated_from``; the old key expires ``overlap`` from now (sooner when it expires
    sooner anyway), so both work meanwhile. An expired key may be rotated (its
    replacement is what its users need); a revoked one may not. Returns the new key, its secret and the old
    key as it is now stored."""
    now = now or datetime.now(UTC)
    old = next((k for k in store.all() if k.key_id == key_id), None)
    if old is None:
        raise RotationError(f"no key with id {key_id!r}; see: retailor keys list")
    if old.revoked:
        raise RotationError(
            f"key {key_id} is revoked; create a new key instead: retailor keys create "
            f"--scope {old.scope.value}"
        )
    lifetime = None if old.expires_at is None else old.expires_at - old.created_at
    new, secret = create_key(
        store,
        old.scope,
        old.name,
        expires_at=None if lifetime is None else now + lifetime,
        allowed_origins=old.allowed_origins,
        rate_limit=old.rate_limit,
        rotated_from=old.key_id,
        now=now,
    )
    ends = now + overlap
    store.expire(old.key_id, ends)
    if old.expires_at is None or ends < old.expires_at:
        old = msgspec.structs.replace(old, expires_at=ends)
    return new, secret, old


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def parse_duration(text: str) -> timedelta:
    """``90d``, ``24h``, ``30m``, ``2s`` or ``4w`` as a length of time.

    >>> parse_duration("90d"), parse_duration("1.5s")
    (datetime.timedelta(days=90), datetime.timedelta(seconds=1, microseconds=500000))
    """
    found = _DURATION.match(text.lower())
    if found is None:
        raise ValueError(f"cannot read the length of time {text!r}: write e.g. 90d, 24h, 30m or 2s")
    return timedelta(seconds=float(found[1]) * _DURATION_SECONDS[found[2]])
