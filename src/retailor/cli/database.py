"""``retailor db migrate``: bring the storage database's schema up to date."""

from __future__ import annotations

from pathlib import Path

import click

from retailor.cli.common import data_option, friendly_errors, out, settings_from
from retailor.storage.factory import migrate_storage


@click.group()
def db() -> None:
    """The database the storage setting names: its schema. Servers and commands bring it
    up to date when they open it; `db migrate` does it alone, e.g. before starting
    several workers on a new PostgreSQL database."""


@db.command("migrate")
@data_option
@click.option(
    "--storage",
    "storage_dsn",
    default=None,
    metavar="DSN",
    help="The storage DSN, e.g. postgresql://user@host:5432/retailor (default: the storage "
    "setting, $RETAILOR_STORAGE, else the data directory's DuckDB file).",
)
@friendly_errors
def migrate(data_dir: Path | None, storage_dsn: str | None) -> None:
    """Apply the schema migrations the database lacks, in order, and list them.

    Safe to run at any time and from several hosts at once: a schema that is up to date
    is left as it is, and concurrent runs take turns."""
    settings = settings_from(data_dir, storage=storage_dsn)
    applied = migrate_storage(settings.storage_dsn)
    for migration in applied:
        out.print(f"applied {migration}")
    if not applied:
        out.print("the schema is up to date")
