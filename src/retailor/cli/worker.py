"""``retailor worker``: the background role alone, without HTTP."""

from __future__ import annotations

from pathlib import Path

import click

from retailor.cli.common import config_option, console, data_option, friendly_errors, settings_from


@click.command()
@data_option
@config_option
@click.option(
    "--status",
    is_flag=True,
    help="Print which process holds the background lease (host:pid:tag), or that none "
    "does, and exit.",
)
@friendly_errors
def worker(data_dir: Path | None, config_file: Path | None, status: bool) -> None:
    """Run the background jobs (scheduled retraining) without serving HTTP.

    Needs shared storage (storage = "postgresql://…"). Every `retailor serve` process and
    every worker competes for one lease, and only its holder runs the jobs; when the
    holder dies another takes the lease over within about 15 seconds. Run one or two
    workers beside servers so that request-serving processes never train. Stops on
    Ctrl-C or SIGTERM, giving the lease up.
    """
    from retailor.storage.factory import is_postgres

    settings = settings_from(data_dir, config_file)
    if not is_postgres(settings.storage_dsn):
        raise click.ClickException(
            'a separate worker needs shared storage (storage = "postgresql://…"): the '
            "embedded store is served by one process, which runs the background jobs itself"
        )
    if status:
        from retailor.runtime.background import BACKGROUND_LEASE
        from retailor.storage.factory import open_storage

        storage = open_storage(settings.storage_dsn, settings.data_dir)
        try:
            holder = storage.leases.holder(BACKGROUND_LEASE)
        finally:
            storage.close()
        click.echo(holder or "nobody holds the background lease")
        return
    from retailor.runtime.worker import run_worker

    console.print("Retailor background worker: Ctrl-C stops.")
    run_worker(settings)
