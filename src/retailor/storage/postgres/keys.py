"""PostgreSQL ``KeyStore``: the ``api_keys`` table, shared by every worker.

A key is looked up by the hash of its secret. A key this process has not met is looked
up in the database at once (a key created elsewhere works immediately); a known key is
looked up again at most every ``recheck_seconds``, so a revocation reaches every worker
within that time, as with the key file of the embedded default. While the database cannot
be reached, a key this process found before is still taken (revocations reach it when the
database is back); a key it never met cannot be checked (``StorageUnavailableError``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from retailor.domain.access import ApiKey, RateLimit, Scope
from retailor.storage.base import KeyStore
from retailor.storage.errors import StorageUnavailableError
from retailor.storage.postgres.database import PostgresDatabase

_COLUMNS = (
    "key_id, scope, secret_hash, created_at, name, revoked, expires_at, rotated_from, "
    "last_used_at, allowed_origins, rate_per_second, rate_burst"
)


def _to_key(row: tuple[Any, ...]) -> ApiKey:
    (key_id, scope, secret_hash, created_at, name, revoked, expires_at, rotated_from,
     last_used_at, origins, per_second, burst) = row  # fmt: skip
    return ApiKey(
        key_id=key_id,
        scope=Scope(scope),
        secret_hash=secret_hash,
        created_at=created_at,
        name=name,
        revoked=revoked,
        expires_at=expires_at,
        rotated_from=rotated_from,
        last_used_at=last_used_at,
        allowed_origins=tuple(origins or ()),
        rate_limit=None if per_second is None else RateLimit(per_second=per_second, burst=burst),
    )


class PostgresKeyStore(KeyStore):
    """Keys in the ``api_keys`` table of a ``PostgresDatabase``, with a short-lived cache
    of the keys this process has found."""

    recheck_seconds = 1.0

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        self._found: dict[str, tuple[ApiKey, float]] = {}
        self._lock = threading.Lock()

    def add(self, key: ApiKey) -> None:
        with self._db.connection() as conn:
            limit = key.rate_limit
            conn.execute(
                f"INSERT INTO api_keys ({_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (key.key_id, key.scope.value, key.secret_hash, key.created_at, key.name,
                 key.revoked, key.expires_at, key.rotated_from, key.last_used_at,
                 list(key.allowed_origins), None if limit is None else limit.per_second,
                 None if limit is None else limit.burst),
            )  # fmt: skip

    def find_at_once(self, secret_hash: str) -> tuple[bool, ApiKey | None]:
        """A key found less than ``recheck_seconds`` ago answers at once; anything else
        needs the database."""
        with self._lock:
            cached = self._found.get(secret_hash)
        if cached is not None and time.monotonic() - cached[1] < self.recheck_seconds:
            return True, cached[0]
        return False, None

    def find(self, secret_hash: str) -> ApiKey | None:
        now = time.monotonic()
        with self._lock:
            cached = self._found.get(secret_hash)
        if cached is not None and now - cached[1] < self.recheck_seconds:
            return cached[0]
        try:
            with self._db.connection() as conn:
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM api_keys WHERE secret_hash = %s", [secret_hash]
                ).fetchone()
        except StorageUnavailableError:
            if cached is not None:
                return cached[0]
            raise
        with self._lock:
            if row is None:
                self._found.pop(secret_hash, None)
                return None
            key = _to_key(row)
            self._found[secret_hash] = (key, now)
        return key

    def all(self) -> list[ApiKey]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id"
            ).fetchall()
        return [_to_key(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE api_keys SET revoked = true WHERE key_id = %s RETURNING secret_hash",
                [key_id],
            ).fetchone()
        if row is None:
            return False
        with self._lock:
            self._found.pop(row[0], None)
        return True

    def expire(self, key_id: str, at: datetime) -> bool:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, %s), %s) "
                "WHERE key_id = %s RETURNING secret_hash",
                [at, at, key_id],
            ).fetchone()
        if row is None:
            return False
        with self._lock:
            self._found.pop(row[0], None)
        return True

    def touch(self, used: Mapping[str, datetime]) -> None:
        if not used:
            return
        ids, times = list(used), [used[key_id] for key_id in used]
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.at) "
                "FROM unnest(%s::text[], %s::timestamptz[]) AS u(key_id, at) "
                "WHERE k.key_id = u.key_id",
                [ids, times],
            )
