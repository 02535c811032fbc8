"""Errors of opening a data directory or a database that its user can act on. They live
apart from the adapters, so that a command can catch them without importing a database
engine."""

from __future__ import annotations

from pathlib import Path


class DataDirLockedError(RuntimeError):
    """Another process (usually a running ``retailor serve``) holds the database file."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(
            f"{path} is in use by {holder}. A DuckDB data directory has one writer: "
            "stop that process, or run this command while the server is up so it can go "
            "through the server."
        )
        self.path = path
        self.pid = pid


class StorageUnavailableError(RuntimeError):
    """The database the storage DSN names cannot be reached or used (down, wrong address,
    refused login, a schema newer than this Retailor). The message names the database
    without its password."""
