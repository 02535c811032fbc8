"""PostgreSQL ``LeaseStore``: the ``leases`` table (``sql/0006_leases.sql``).

Each operation is one statement, and expiry is compared with the database's ``now()``:
acquiring is an insert that, on conflict, takes the row over only when it expired or
already belongs to the caller; PostgreSQL's row lock on the conflicting row makes one
of two contenders wait and then see the other's fresh expiry.
"""

from __future__ import annotations

from retailor.storage.base import LeaseStore
from retailor.storage.postgres.database import PostgresDatabase

_ACQUIRE = (
    "INSERT INTO leases (name, holder, expires_at) "
    "VALUES (%s, %s, now() + make_interval(secs => %s)) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE leases.expires_at <= now() OR leases.holder = excluded.holder "
    "RETURNING holder"
)
_RENEW = (
    "UPDATE leases SET expires_at = now() + make_interval(secs => %s) "
    "WHERE name = %s AND holder = %s AND expires_at > now() RETURNING holder"
)
_RELEASE = "DELETE FROM leases WHERE name = %s AND holder = %s AND expires_at > now() RETURNING 1"
_HOLDER = "SELECT holder FROM leases WHERE name = %s AND expires_at > now()"


class PostgresLeaseStore(LeaseStore):
    """Leases in a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def acquire(self, name: str, holder: str, ttl: float) -> bool:
        with self._db.connection() as conn:
            return conn.execute(_ACQUIRE, (name, holder, ttl)).fetchone() is not None

    def renew(self, name: str, holder: str, ttl: float) -> bool:
        with self._db.connection() as conn:
            return conn.execute(_RENEW, (ttl, name, holder)).fetchone() is not None

    def release(self, name: str, holder: str) -> bool:
        with self._db.connection() as conn:
            return conn.execute(_RELEASE, (name, holder)).fetchone() is not None

    def holder(self, name: str) -> str | None:
        with self._db.connection() as conn:
            row = conn.execute(_HOLDER, (name,)).fetchone()
        return None if row is None else str(row[0])
