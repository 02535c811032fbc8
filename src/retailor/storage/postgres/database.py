"""The PostgreSQL database: a connection pool from the DSN, and its schema migrations.

Connections are in autocommit mode and in UTC; an adapter that needs several statements
to be atomic opens ``conn.transaction()``. The schema is brought up to date when the
database is opened (and by ``retailor db migrate``): the numbered files of ``sql/`` not yet
recorded in ``schema_migrations`` are applied in order, in one transaction that holds an
advisory lock, so that workers starting together wait for each other instead of racing.
The lock and the ledger belong to the schema the connection works in (the first of its
``search_path``), so one database can hold several independent Retailor schemas.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from retailor.storage.errors import StorageUnavailableError
from retailor.storage.migrations import Migration, load_migrations, pending

MIGRATIONS = load_migrations("retailor.storage.postgres.sql")

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
#: Held while migrating: one migration of a schema at a time.
_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('retailor.migrate:' || current_schema()))"

#: Connections the pool keeps open at least and at most, per process.
POOL_MIN = 1
POOL_MAX = 10
CONNECT_TIMEOUT_SECONDS = 10


def describe(dsn: str) -> str:
    """The database a DSN names, without its password: ``user@host:port/dbname``."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "an unreadable PostgreSQL DSN"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"{user}{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET TIME ZONE 'UTC'")


def connect(dsn: str) -> psycopg.Connection[Any]:
    """One connection outside the pool (autocommit, UTC), for migrations and tests.

    Raises ``StorageUnavailableError`` saying why when the database cannot be reached.
    """
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.Error as exc:
        raise StorageUnavailableError(
            f"cannot connect to PostgreSQL at {describe(dsn)}: {_one_line(exc)}"
        ) from None
    _configure(conn)
    return conn


def migrate(
    conn: psycopg.Connection[Any], migrations: list[Migration] = MIGRATIONS
) -> list[Migration]:
    """Apply the migrations the schema lacks, in order and in one transaction; return them.

    ``migrations`` are the steps this code knows: all of ``sql/``, or the first few to
    make a schema of an older version. Raises ``StorageUnavailableError`` when the schema
    is newer than that (a newer Retailor migrated it), and leaves it untouched.
    """
    with conn.transaction():
        conn.execute(_MIGRATION_LOCK)
        conn.execute(_LEDGER)
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        todo = pending(migrations, applied)
        for migration in todo:
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
    return todo


def migrate_dsn(dsn: str) -> list[Migration]:
    """Connect to ``dsn`` and bring its schema up to date; return what was applied."""
    with connect(dsn) as conn:
        try:
            return migrate(conn)
        except psycopg.Error as exc:
            raise StorageUnavailableError(
                f"cannot migrate the schema of {describe(dsn)}: {_one_line(exc)}"
            ) from None


class PostgresDatabase:
    """A pool of connections to one database whose schema is up to date."""

    def __init__(self, dsn: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX) -> None:
        self.dsn = dsn
        self.applied = migrate_dsn(dsn)
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            name="retailor",
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except PoolTimeout:
            self.pool.close()
            raise StorageUnavailableError(
                f"cannot open connections to PostgreSQL at {describe(dsn)}"
            ) from None

    def connection(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A pooled connection for a ``with`` block (returned to the pool at its end)."""
        return self.pool.connection()

    def close(self) -> None:
        self.pool.close()
