"""Choose and open the adapters named by a DSN; adapters are imported only when chosen."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from retailor.storage.base import (
    CatalogStore,
    DecisionLog,
    EventLog,
    KeyStore,
    ModelRegistry,
    QuarantineStore,
)
from retailor.storage.files.models import FileModelRegistry


class UnknownBackendError(ValueError):
    """The DSN names a backend Retailor does not have."""


@dataclass
class Storage:
    """The stores one Retailor process works with."""

    events: EventLog
    catalog: CatalogStore
    quarantine: QuarantineStore
    keys: KeyStore
    models: ModelRegistry
    decisions: DecisionLog
    dsn: str
    _closers: list[object] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Close every store and the database behind them."""
        for closer in reversed(self._closers):
            closer.close()  # type: ignore[attr-defined]
        self._closers.clear()


def open_model_registry(data_dir: Path) -> ModelRegistry:
    """The model registry of a data directory (files, so it works while a server runs)."""
    return FileModelRegistry(data_dir / "models")


def open_storage(dsn: str, data_dir: Path) -> Storage:
    """Open the stores for ``dsn`` (``duckdb:///file``, ``duckdb://:memory:``, ``memory://``).

    Keys live in ``<data_dir>/keys.json`` for the DuckDB backend, so that CLI commands can
    add keys while a server runs.
    """
    scheme = urlparse(dsn).scheme
    if scheme == "memory":
        from retailor.storage.memory.catalog import MemoryCatalogStore
        from retailor.storage.memory.decisions import MemoryDecisionLog
        from retailor.storage.memory.events import MemoryEventLog
        from retailor.storage.memory.keys import MemoryKeyStore
        from retailor.storage.memory.quarantine import MemoryQuarantineStore

        return Storage(
            events=MemoryEventLog(),
            catalog=MemoryCatalogStore(),
            quarantine=MemoryQuarantineStore(),
            keys=MemoryKeyStore(),
            models=FileModelRegistry(data_dir / "models"),
            decisions=MemoryDecisionLog(),
            dsn=dsn,
        )
    if scheme == "duckdb":
        from retailor.storage.duckdb.catalog import DuckDBCatalogStore
        from retailor.storage.duckdb.database import DuckDBDatabase
        from retailor.storage.duckdb.decisions import DuckDBDecisionLog
        from retailor.storage.duckdb.events import DuckDBEventLog
        from retailor.storage.duckdb.quarantine import DuckDBQuarantineStore
        from retailor.storage.files.keys import FileKeyStore

        path = dsn[len("duckdb://") :]
        db = DuckDBDatabase(None if path in ("", ":memory:", "/:memory:") else Path(path))
        return Storage(
            events=DuckDBEventLog(db),
            catalog=DuckDBCatalogStore(db),
            quarantine=DuckDBQuarantineStore(db),
            keys=FileKeyStore(data_dir / "keys.json"),
            models=FileModelRegistry(data_dir / "models"),
            decisions=DuckDBDecisionLog(db),
            dsn=dsn,
            _closers=[db],
        )
    raise UnknownBackendError(
        f"unknown storage backend {scheme!r} in {dsn!r}: use duckdb:///path/to/file.duckdb "
        "or memory://"
    )
