"""Who may hold a dashboard session: a key of scope ``admin`` or ``view`` that is neither
revoked nor expired. Logging in checks the key's secret; every page then checks that the key the
session names is still good, from a list of good key ids read again at most every few
seconds (at once for an id not seen yet), so revoking a key ends its sessions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from retailor.domain.access import ApiKey, Scope
from retailor.privacy.keys import hash_secret
from retailor.storage.base import KeyStore

#: The scopes that open the dashboard.
DASHBOARD_SCOPES = (Scope.ADMIN, Scope.VIEW)


class DashboardKeys:
    """Checks keys for the dashboard against the key store."""

    def __init__(
        self, keys: KeyStore, refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._keys, self._refresh, self._clock = keys, refresh_seconds, clock
        self._good: dict[str, Scope] = {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def login(self, secret: str) -> tuple[ApiKey | None, str | None]:
        """The key a secret is, when it may open the dashboard; else None and why."""
        secret = secret.strip()
        if not secret:
            return None, "Enter a key."
        secret_hash = hash_secret(secret)
        answered, key = self._keys.find_at_once(secret_hash)
        if not answered:
            key = await run_in_threadpool(self._keys.find, secret_hash)
        if key is None or key.revoked:
            return None, "This key is unknown or revoked."
        if key.expired(datetime.now(UTC)):
            return None, f"This key expired. Rotate it: retailor keys rotate {key.key_id}"
        if key.scope not in DASHBOARD_SCOPES:
            return None, (
                f"A key of scope '{key.scope.value}' cannot open the dashboard: use an admin "
                "or a view key (retailor keys create --scope view)."
            )
        self._good[key.key_id] = key.scope
        return key, None

    async def still_good(self, key_id: str, scope: str) -> bool:
        """Whether the key of a session is still a usable key of that scope."""
        async with self._lock:
            age = self._clock() - self._read_at
            if age > self._refresh or (key_id not in self._good and age > 1.0):
                every = await run_in_threadpool(self._keys.all)
                now = datetime.now(UTC)
                self._good = {
                    k.key_id: k.scope
                    for k in every
                    if k.usable(now) and k.scope in DASHBOARD_SCOPES
                }
                self._read_at = self._clock()
            return self._good.get(key_id) == scope
