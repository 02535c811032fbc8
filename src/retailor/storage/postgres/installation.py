"""PostgreSQL ``InstallationStore``: the ``installation`` table, one row per value, shared
by every worker of the database (the first insert wins; later ones find its row)."""

from __future__ import annotations

from retailor.storage.base import InstallationStore, check_installation_entry
from retailor.storage.postgres.database import PostgresDatabase


class PostgresInstallationStore(InstallationStore):
    """Installation values in the ``installation`` table of a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def get(self, name: str) -> str | None:
        check_installation_entry(name)
        with self._db.connection() as conn:
            row = conn.execute("SELECT value FROM installation WHERE name = %s", [name]).fetchone()
        return None if row is None else str(row[0])

    def get_or_create(self, name: str, value: str) -> str:
        check_installation_entry(name, value)
        with self._db.connection() as conn:
            # a racing insert makes this one wait for its commit, then do nothing; the
            # next statement sees the winner's row
            conn.execute(
                "INSERT INTO installation (name, value) VALUES (%s, %s) "
                "ON CONFLICT (name) DO NOTHING",
                [name, value],
            )
            row = conn.execute("SELECT value FROM installation WHERE name = %s", [name]).fetchone()
        assert row is not None
        return str(row[0])
