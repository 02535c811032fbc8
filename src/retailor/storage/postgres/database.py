"""The PostgreSQL database: a connection pool from the DSN, and its schema migrations.

Connections are in autocommit mode and in UTC; an adapter that needs several statements
to be atomic opens ``conn.transaction()``. The schema is brought up to date when the
database is opened (and by ``retailor db migrate``): the numbered files of ``sql/`` not yet
recorded in ``schema_migrations`` are applied in order, in one transaction that holds an
advisory lock, so that workers starting together wait for each other instead of racing.
The lock and the ledger belong to the schema the connection works in (the first of its
``search_path``), so one database can hold several independent Retailor schemas.

Outages: every use of a pooled connection goes through ``PostgresDatabase.connection``,
which turns a lost or refused connection (and a pool that gives none within
``POOL_TIMEOUT_SECONDS``) into ``StorageUnavailableError`` naming the database, and marks
it down (``availability.py``): later uses fail at once until a probe connects again. The
pool checks a connection before handing it out (a connection broken by a restart is
replaced, not used), gives up a reconnection attempt after ``RECONNECT_SECONDS`` and opens
connections again on demand, so the database is used again without a restart once it
answers. TCP keepalives and a TCP user timeout bound how long a query waits on a
network that went silent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from retailor.storage.errors import StorageUnavailableError
from retailor.storage.migrations import Migration, load_migrations, pending
from retailor.storage.postgres.availability import Availability

log = logging.getLogger("retailor.storage")

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
#: Seconds a use of the database waits for a pooled connection before it is answered
#: that the database is unavailable.
POOL_TIMEOUT_SECONDS = 5.0
#: Seconds the pool keeps trying to reopen a lost connection before it waits for demand.
RECONNECT_SECONDS = 5.0
#: Connection parameters added unless the DSN sets them: a new connection waits at most
#: 3 s, and a peer that went silent is noticed within about 10 s (keepalives: first probe
#: after 5 s idle, then every 2 s, 3 probes; unacknowledged data: 10 s).
SESSION_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


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


def session_parameters(dsn: str) -> dict[str, Any]:
    """``SESSION_DEFAULTS`` that the DSN does not set itself."""
    try:
        given = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        given = {}
    return {k: v for k, v in SESSION_DEFAULTS.items() if k not in given}


class PostgresDatabase:
    """A pool of connections to one database whose schema is up to date, behind the
    database's availability (see the module docstring)."""

    def __init__(self, dsn: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        self.applied = migrate_dsn(dsn)
        session = session_parameters(dsn)
        self.availability = Availability(self.where, self._probe)
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True, **session},
            configure=_configure,
            check=ConnectionPool.check_connection,
            timeout=POOL_TIMEOUT_SECONDS,
            reconnect_timeout=RECONNECT_SECONDS,
            reconnect_failed=self._reconnect_failed,
            open=False,
            name="retailor",
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except PoolTimeout:
            self.pool.close()
            raise StorageUnavailableError(
                f"cannot open connections to PostgreSQL at {self.where}"
            ) from None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection for a ``with`` block (returned to the pool at its end).

        Raises ``StorageUnavailableError`` when none can be had or it breaks on the way
        (then at once until the database answers again); other database errors (a
        constraint, a cancelled statement) pass as they are.
        """
        self.availability.check()
        try:
            with self.pool.connection() as conn:
                try:
                    yield conn
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    if conn.broken or conn.closed:
                        raise self.availability.failed(exc) from exc
                    raise
        except PoolTimeout as exc:
            try:
                self._probe()
            except Exception as probe_error:
                raise self.availability.failed(probe_error) from exc
            raise StorageUnavailableError(
                f"PostgreSQL at {self.where} is busy: no free connection within "
                f"{POOL_TIMEOUT_SECONDS:g} s; retry shortly"
            ) from exc

    def unavailable(self) -> str | None:
        """None when the database answers a query now, else why it cannot be used."""
        try:
            with self.connection() as conn:
                conn.execute("SELECT 1")
        except StorageUnavailableError as exc:
            return str(exc)
        return None

    def _probe(self) -> None:
        """Open one fresh connection outside the pool and run a query (raises if not)."""
        params = {**session_parameters(self.dsn), "connect_timeout": 2}
        with psycopg.connect(self.dsn, autocommit=True, **params) as conn:
            conn.execute("SELECT 1")

    def _reconnect_failed(self, pool: ConnectionPool[Any]) -> None:
        # the pool stops retrying in the background and reconnects when a connection is
        # next asked for; the availability probe says when that is worth doing
        log.info("PostgreSQL at %s: the pool gave up reconnecting for now", self.where)

    def close(self) -> None:
        self.availability.close()
        self.pool.close()
