"""Choose and open the adapters named by a DSN; adapters are imported only when chosen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from retailor.storage.audit import AuditLog
from retailor.storage.base import (
    CatalogStore,
    DecisionLog,
    DefinitionStore,
    EventLog,
    InstallationStore,
    KeyStore,
    LeaseStore,
    ModelRegistry,
    QuarantineStore,
    SnapshotStore,
)
from retailor.storage.experiments import ExposureStore
from retailor.storage.facts import FactStore
from retailor.storage.files.exports import ParquetExportFiles
from retailor.storage.files.installation import FileInstallationStore
from retailor.storage.files.models import FileModelRegistry
from retailor.storage.hot import EventFeed, HotCache, OfferLedger, PolicyStateStore, RateLimiter
from retailor.storage.memory.audit import MemoryAuditLog
from retailor.storage.memory.exposures import MemoryExposureStore
from retailor.storage.memory.privacy import MemoryPrivacyStore
from retailor.storage.memory.segment_sizes import MemorySegmentSizeStore
from retailor.storage.memory.snapshots import MemorySnapshotStore
from retailor.storage.migrations import Migration
from retailor.storage.privacy import ExportFiles, NothingToReclaim, PrivacyStore, SpaceReclaimer
from retailor.storage.segment_sizes import SegmentSizeStore

#: DSN schemes of the PostgreSQL adapters.
POSTGRES_SCHEMES = ("postgresql", "postgres")


class UnknownBackendError(ValueError):
    """The DSN names a backend Retailor does not have."""


#: Says whether a backend answers now: None when it does, else why not (naming the
#: server, never its password).
HealthProbe = Callable[[], str | None]


@dataclass
class Storage:
    """The stores one Retailor process works with, and the probes of the servers behind
    them (none for the embedded backends). ``leases`` decide which process does the
    background work; ``shared`` says whether other processes (other workers, other hosts)
    may work on the same stores at once."""

    events: EventLog
    catalog: CatalogStore
    quarantine: QuarantineStore
    keys: KeyStore
    models: ModelRegistry
    decisions: DecisionLog
    definitions: DefinitionStore
    leases: LeaseStore
    installation: InstallationStore
    dsn: str
    #: snapshots of the projections (kept in PostgreSQL; a DuckDB or memory process
    #: rebuilds from its own log at start and keeps them in memory only)
    snapshots: SnapshotStore = field(default_factory=MemorySnapshotStore)
    #: first exposures to experiments (an in-memory index in front of the DuckDB table;
    #: the shared table in PostgreSQL)
    exposures: ExposureStore = field(default_factory=MemoryExposureStore)
    #: the fact tables of reports (None only for stores assembled by hand, in tests)
    facts: FactStore | None = None
    #: segment sizes over time (in memory for ``memory://``; a table in DuckDB, PostgreSQL)
    segment_sizes: SegmentSizeStore = field(default_factory=MemorySegmentSizeStore)
    #: erasure requests and the suppression list (a table in DuckDB, PostgreSQL)
    privacy: PrivacyStore = field(default_factory=MemoryPrivacyStore)
    #: rewrites what holds deleted rows, so that no byte of them remains
    reclaimer: SpaceReclaimer = field(default_factory=NothingToReclaim)
    #: the report exports written into the data directory (None: assembled by hand)
    exports: ExportFiles | None = None
    #: who did which admin or privacy action (in memory for ``memory://``; a table in
    #: DuckDB, PostgreSQL)
    audit: AuditLog = field(default_factory=MemoryAuditLog)
    probes: list[HealthProbe] = field(default_factory=list, repr=False)
    _closers: list[object] = field(default_factory=list, repr=False)

    @property
    def shared(self) -> bool:
        """Whether several processes may serve these stores at once (PostgreSQL), rather
        than one process alone (the embedded DuckDB file, memory)."""
        return is_postgres(self.dsn)

    def unavailable(self) -> list[str]:
        """Why each backend that cannot be used now cannot (empty when all answer)."""
        return [why for probe in self.probes if (why := probe()) is not None]

    def close(self) -> None:
        """Close every store and the database behind them."""
        for closer in reversed(self._closers):
            closer.close()  # type: ignore[attr-defined]
        self._closers.clear()


@dataclass
class SharedState:
    """The hot state every worker of one Retailor shares (Redis, ``state = "redis://…"``)."""

    feed: EventFeed
    cache: HotCache
    dsn: str
    #: the health probe of the server behind the state (none in memory)
    probes: list[HealthProbe] = field(default_factory=list, repr=False)
    #: round trips to the server behind the state so far, by what made them
    round_trips: Callable[[], dict[str, int]] = field(default=dict, repr=False)
    #: the offer ledger and the offer policy's published state every worker shares
    #: (Redis); None in this process's own state (each process keeps and learns its own)
    ledger: OfferLedger | None = None
    policy_states: PolicyStateStore | None = None
    #: the rate limits of API keys (Redis: every worker counts against one limit; None in
    #: this process's own state: see :func:`rate_limiter`)
    limiter: RateLimiter | None = None
    _closers: list[object] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Close the connection behind the stores."""
        for closer in reversed(self._closers):
            closer.close()  # type: ignore[attr-defined]
        self._closers.clear()


def open_shared_state(dsn: str, *, feed_hold_seconds: float = 60.0) -> SharedState:
    """Connect to the Redis ``dsn`` names (``redis://host:port/N[?namespace=…]``); an empty
    ``dsn`` gives this process's own state in memory (one worker on a shared database:
    it follows the others' appends by polling the log, without read-your-writes)."""
    if not dsn:
        from retailor.storage.memory.cache import MemoryHotCache
        from retailor.storage.memory.feed import MemoryEventFeed

        return SharedState(
            feed=MemoryEventFeed(feed_hold_seconds), cache=MemoryHotCache(), dsn="memory://"
        )
    from retailor.storage.redis.cache import RedisHotCache
    from retailor.storage.redis.connection import open_state
    from retailor.storage.redis.feed import RedisEventFeed
    from retailor.storage.redis.ledger import RedisOfferLedger
    from retailor.storage.redis.policy_state import RedisPolicyStateStore
    from retailor.storage.redis.rate_limits import RedisRateLimiter

    state = open_state(dsn)
    feed = RedisEventFeed(state, feed_hold_seconds)
    return SharedState(
        feed=feed,
        cache=RedisHotCache(state),
        dsn=dsn,
        probes=[state.unavailable],
        round_trips=state.round_trips,
        ledger=RedisOfferLedger(state),
        policy_states=RedisPolicyStateStore(state),
        limiter=RedisRateLimiter(state),
        _closers=[state, feed],
    )


def rate_limiter(shared: SharedState | None) -> RateLimiter:
    """The rate limits of API keys: those of the shared state when it keeps them (Redis),
    else this process's own."""
    if shared is not None and shared.limiter is not None:
        return shared.limiter
    from retailor.storage.memory.rate_limits import MemoryRateLimiter

    return MemoryRateLimiter()


def is_postgres(dsn: str) -> bool:
    """Whether ``dsn`` names a PostgreSQL database."""
    return urlparse(dsn).scheme in POSTGRES_SCHEMES


def _duckdb_file(dsn: str) -> Path | None:
    """The file of a ``duckdb://`` DSN, or None for an in-memory database."""
    path = dsn[len("duckdb://") :]
    return None if path in ("", ":memory:", "/:memory:") else Path(path)


def _unknown(scheme: str) -> UnknownBackendError:
    return UnknownBackendError(
        f"unknown storage backend {scheme!r}: use duckdb:///path/to/file.duckdb, "
        "postgresql://user@host:port/dbname or memory://"
    )


def migrate_storage(dsn: str) -> list[Migration]:
    """Bring the schema of the database ``dsn`` names up to date; return the migrations
    applied (none for ``memory://``, which keeps nothing)."""
    scheme = urlparse(dsn).scheme
    if scheme in POSTGRES_SCHEMES:
        from retailor.storage.postgres.database import migrate_dsn

        return migrate_dsn(dsn)
    if scheme == "duckdb":
        from retailor.storage.duckdb.database import DuckDBDatabase

        path = _duckdb_file(dsn)
        if path is None:
            return []
        database = DuckDBDatabase(path)
        database.close()
        return database.applied
    if scheme == "memory":
        return []
    raise _unknown(scheme)


@contextmanager
def model_registry(dsn: str, data_dir: Path) -> Iterator[ModelRegistry]:
    """The model registry alone, for commands that need nothing else: the database's for
    PostgreSQL, else the files of the data directory (which work while a server runs)."""
    if is_postgres(dsn):
        storage = open_storage(dsn, data_dir)
        try:
            yield storage.models
        finally:
            storage.close()
    else:
        yield FileModelRegistry(data_dir / "models")


@contextmanager
def definition_store(dsn: str, data_dir: Path) -> Iterator[DefinitionStore]:
    """The definitions alone, for commands that need nothing else: the database's for
    PostgreSQL, else the files of the data directory (which a running server follows)."""
    if is_postgres(dsn):
        storage = open_storage(dsn, data_dir)
        try:
            yield storage.definitions
        finally:
            storage.close()
    else:
        from retailor.storage.files.definitions import FileDefinitionStore

        yield FileDefinitionStore(data_dir)


@contextmanager
def key_store(dsn: str, data_dir: Path) -> Iterator[KeyStore]:
    """The key store alone, for the ``keys`` commands: the database's for PostgreSQL, else
    ``<data_dir>/keys.json`` (which a running server re-reads)."""
    if is_postgres(dsn):
        storage = open_storage(dsn, data_dir)
        try:
            yield storage.keys
        finally:
            storage.close()
    else:
        from retailor.storage.files.keys import FileKeyStore

        yield FileKeyStore(data_dir / "keys.json")


def open_storage(dsn: str, data_dir: Path) -> Storage:
    """Open the stores for ``dsn`` (``duckdb:///file``, ``duckdb://:memory:``, ``memory://``,
    ``postgresql://user@host:port/dbname``).

    Keys, models and definitions live in ``<data_dir>`` for the DuckDB backend, so that
    CLI commands can change them while a server runs; in PostgreSQL everything is in the database, which every
    worker shares. Opening a PostgreSQL database brings its schema up to date.
    """
    scheme = urlparse(dsn).scheme
    if scheme == "memory":
        from retailor.storage.duckdb.database import DuckDBDatabase
        from retailor.storage.duckdb.facts import DuckDBFactStore
        from retailor.storage.memory.catalog import MemoryCatalogStore
        from retailor.storage.memory.decisions import MemoryDecisionLog
        from retailor.storage.memory.definitions import MemoryDefinitionStore
        from retailor.storage.memory.events import MemoryEventLog
        from retailor.storage.memory.keys import MemoryKeyStore
        from retailor.storage.memory.leases import MemoryLeaseStore
        from retailor.storage.memory.quarantine import MemoryQuarantineStore

        # the facts of reports: DuckDB on an in-memory database (one SQL engine for
        # reports, whatever keeps the logs)
        facts_db = DuckDBDatabase(None)
        return Storage(
            events=MemoryEventLog(),
            catalog=MemoryCatalogStore(),
            quarantine=MemoryQuarantineStore(),
            keys=MemoryKeyStore(),
            models=FileModelRegistry(data_dir / "models"),
            decisions=MemoryDecisionLog(),
            definitions=MemoryDefinitionStore(),
            leases=MemoryLeaseStore(),
            installation=FileInstallationStore(data_dir),
            dsn=dsn,
            exports=ParquetExportFiles(data_dir / "exports"),
            facts=DuckDBFactStore(facts_db),
            _closers=[facts_db],
        )
    if scheme == "duckdb":
        from retailor.storage.duckdb.audit import DuckDBAuditLog
        from retailor.storage.duckdb.catalog import DuckDBCatalogStore
        from retailor.storage.duckdb.database import DuckDBDatabase
        from retailor.storage.duckdb.decisions import DuckDBDecisionLog
        from retailor.storage.duckdb.events import DuckDBEventLog
        from retailor.storage.duckdb.exposures import DuckDBExposureStore
        from retailor.storage.duckdb.facts import DuckDBFactStore
        from retailor.storage.duckdb.privacy import DuckDBPrivacyStore, DuckDBReclaimer
        from retailor.storage.duckdb.quarantine import DuckDBQuarantineStore
        from retailor.storage.duckdb.segment_sizes import DuckDBSegmentSizeStore
        from retailor.storage.files.definitions import FileDefinitionStore
        from retailor.storage.files.keys import FileKeyStore
        from retailor.storage.memory.leases import MemoryLeaseStore

        db = DuckDBDatabase(_duckdb_file(dsn))
        return Storage(
            events=DuckDBEventLog(db),
            catalog=DuckDBCatalogStore(db),
            quarantine=DuckDBQuarantineStore(db),
            keys=FileKeyStore(data_dir / "keys.json"),
            models=FileModelRegistry(data_dir / "models"),
            decisions=DuckDBDecisionLog(db),
            definitions=FileDefinitionStore(data_dir),
            leases=MemoryLeaseStore(),  # one process serves the file: it holds every lease
            installation=FileInstallationStore(data_dir),
            dsn=dsn,
            exports=ParquetExportFiles(data_dir / "exports"),
            exposures=DuckDBExposureStore(db),
            facts=DuckDBFactStore(db),
            segment_sizes=DuckDBSegmentSizeStore(db),
            privacy=DuckDBPrivacyStore(db),
            reclaimer=DuckDBReclaimer(db),
            audit=DuckDBAuditLog(db),
            _closers=[db],
        )
    if scheme in POSTGRES_SCHEMES:
        from retailor.storage.postgres.audit import PostgresAuditLog
        from retailor.storage.postgres.catalog import PostgresCatalogStore
        from retailor.storage.postgres.database import PostgresDatabase
        from retailor.storage.postgres.decisions import PostgresDecisionLog
        from retailor.storage.postgres.definitions import PostgresDefinitionStore
        from retailor.storage.postgres.events import PostgresEventLog
        from retailor.storage.postgres.exposures import PostgresExposureStore
        from retailor.storage.postgres.facts import PostgresFactStore
        from retailor.storage.postgres.installation import PostgresInstallationStore
        from retailor.storage.postgres.keys import PostgresKeyStore
        from retailor.storage.postgres.leases import PostgresLeaseStore
        from retailor.storage.postgres.models import PostgresModelRegistry
        from retailor.storage.postgres.privacy import PostgresPrivacyStore, PostgresReclaimer
        from retailor.storage.postgres.quarantine import PostgresQuarantineStore
        from retailor.storage.postgres.segment_sizes import PostgresSegmentSizeStore
        from retailor.storage.postgres.snapshots import PostgresSnapshotStore

        database = PostgresDatabase(dsn)
        return Storage(
            events=PostgresEventLog(database),
            catalog=PostgresCatalogStore(database),
            quarantine=PostgresQuarantineStore(database),
            keys=PostgresKeyStore(database),
            models=PostgresModelRegistry(database),
            decisions=PostgresDecisionLog(database),
            definitions=PostgresDefinitionStore(database),
            leases=PostgresLeaseStore(database),
            installation=PostgresInstallationStore(database),
            dsn=dsn,
            exports=ParquetExportFiles(data_dir / "exports"),
            snapshots=PostgresSnapshotStore(database),
            exposures=PostgresExposureStore(database),
            facts=PostgresFactStore(database),
            segment_sizes=PostgresSegmentSizeStore(database),
            privacy=PostgresPrivacyStore(database),
            reclaimer=PostgresReclaimer(database),
            audit=PostgresAuditLog(database),
            probes=[database.unavailable],
            _closers=[database],
        )
    raise _unknown(scheme)
