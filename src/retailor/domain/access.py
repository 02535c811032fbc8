"""API keys and the scopes they grant. Keys themselves are never stored, only their hashes.

Besides its scope a key may carry: when it stops working (``expires_at``), the key it
replaced (``rotated_from``), when it was last used (``last_used_at``, recorded about once
a minute), the web origins that may use it from a browser (``allowed_origins``, ingest keys
only) and how many requests it may make (``rate_limit``).
"""

from __future__ import annotations

import enum
import math
import re
from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct


class Scope(enum.StrEnum):
    """What a key may do. ``ingest`` keys are safe to embed in a web page (of the origins
    the key allows); ``serve`` keys are for the channel back ends that ask for decisions
    and recommendations and send feedback (they read personalization, so keep them
    server-side); ``view`` keys are read-only, for people: the dashboard and the reports
    (they change nothing, but they read customers' data, so give them to people who may
    see it)."""

    INGEST = "ingest"
    SERVE = "serve"
    VIEW = "view"
    ADMIN = "admin"

    def allows(self, required: Scope) -> bool:
        """An admin key may do everything; the others only what needs their own scope
        (so a ``view`` key calls no write API: every write needs another scope).

        >>> Scope.ADMIN.allows(Scope.VIEW), Scope.VIEW.allows(Scope.VIEW)
        (True, True)
        >>> Scope.VIEW.allows(Scope.ADMIN), Scope.VIEW.allows(Scope.INGEST)
        (False, False)
        """
        return self is Scope.ADMIN or self is required


class RateLimitError(ValueError):
    """A rate limit that cannot be read; the message says what is expected."""


_RATE = re.compile(
    r"^\s*(?P<count>\d+(?:\.\d+)?)\s*/\s*(?P<unit>s|sec|second|m|min|minute|h|hour)"
    r"(?:\s*(?:,|\s)\s*burst\s*=?\s*(?P<burst>\d+))?\s*$"
)
_UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}


class RateLimit(Struct, frozen=True, kw_only=True):
    """At most ``per_second`` requests a second on average, with up to ``burst`` at once
    after a quiet spell (a token bucket of ``burst`` tokens refilled at ``per_second``)."""

    per_second: Annotated[float, Meta(gt=0)]
    burst: Annotated[int, Meta(ge=1)]

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``100/s``, ``6000/min``, ``1000/h``, each with an optional burst: ``100/s
        burst 300``. Without one the burst is a second's worth (at least 1).

        >>> RateLimit.parse("100/s")
        RateLimit(per_second=100.0, burst=100)
        >>> RateLimit.parse("60/min burst 5")
        RateLimit(per_second=1.0, burst=5)
        """
        found = _RATE.match(text.lower())
        if found is None:
            raise RateLimitError(
                f"cannot read the rate limit {text!r}: write e.g. 100/s, 6000/min or "
                "'100/s burst 300'"
            )
        count = float(found["count"])
        seconds = _UNIT_SECONDS.get(found["unit"], 3600)
        if count <= 0:
            raise RateLimitError(f"the rate limit {text!r} must allow more than 0 requests")
        per_second = count / seconds
        burst = int(found["burst"]) if found["burst"] else max(1, math.ceil(per_second))
        if burst < 1:
            raise RateLimitError(f"the burst of {text!r} must be at least 1")
        return cls(per_second=per_second, burst=burst)

    def describe(self) -> str:
        """The limit as ``parse`` reads it.

        >>> RateLimit(per_second=0.5, burst=3).describe()
        '30/min burst 3'
        """
        if self.per_second >= 1:
            return f"{self.per_second:g}/s burst {self.burst}"
        if self.per_second * 60 >= 1:
            return f"{self.per_second * 60:g}/min burst {self.burst}"
        return f"{self.per_second * 3600:g}/h burst {self.burst}"


class ApiKey(Struct, kw_only=True):
    """A stored key: its public id, scope and the hash of its secret, and what limits it
    (see the module docstring). Every field after ``revoked`` may be missing from keys
    stored before it existed."""

    key_id: str
    scope: Scope
    secret_hash: str
    created_at: datetime
    name: str = ""
    revoked: bool = False
    expires_at: datetime | None = None
    rotated_from: str | None = None
    last_used_at: datetime | None = None
    allowed_origins: tuple[str, ...] = ()
    rate_limit: RateLimit | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the key no longer works because its time ran out."""
        return self.expires_at is not None and self.expires_at <= now

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired."""
        return not self.revoked and not self.expired(now)


#: How an allowed origin is written: a scheme, a host and an optional port, nothing else.
_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$"
)


def origin_problem(origin: str) -> str | None:
    """Why ``origin`` cannot be an allowed origin (as a browser sends it in ``Origin``),
    or None.

    >>> origin_problem("https://shop.example") is None
    True
    >>> origin_problem("https://shop.example/")
    "an origin is scheme://host[:port], without a path: 'https://shop.example/'"
    """
    if not _ORIGIN.match(origin):
        return f"an origin is scheme://host[:port], without a path: {origin!r}"
    return None
