"""Versioned schema migrations: numbered SQL files shipped inside an adapter's package.

A database's schema changes only through these files. Each adapter keeps the numbers it
has applied in a ``schema_migrations`` table and applies the missing ones in order, each
in the same transaction as the row that records it, so a migration is either applied and
recorded or neither. A file, once released, is never edited: a change is a new number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from retailor.storage.errors import StorageUnavailableError

_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True)
class Migration:
    """One numbered step of a schema."""

    version: int
    name: str
    sql: str

    def __str__(self) -> str:
        return f"{self.version:04d}_{self.name}"


def load_migrations(package: str) -> list[Migration]:
    """The migrations in ``package`` (files ``NNNN_name.sql``), in order of their numbers.

    Two files with one number, or a gap in the numbers, is a packaging error.
    """
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations of {package} are not numbered 1..n: {numbers}")
    return found


def pending(migrations: list[Migration], applied: set[int]) -> list[Migration]:
    """The migrations not applied yet, in order; ``StorageUnavailableError`` when the
    schema is newer than ``migrations`` know (a newer Retailor migrated it)."""
    newest = max(applied, default=0)
    if newest > len(migrations):
        raise StorageUnavailableError(
            f"the database schema is at version {newest}, newer than this Retailor "
            f"knows ({len(migrations)}): upgrade Retailor"
        )
    return [m for m in migrations if m.version not in applied]
