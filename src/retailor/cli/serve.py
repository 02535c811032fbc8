"""``retailor serve``."""

from __future__ import annotations

from pathlib import Path

import click

from retailor.api.runfile import read_run_file
from retailor.cli.common import config_option, console, data_option, friendly_errors, settings_from
from retailor.storage.errors import DataDirLockedError


@click.command()
@data_option
@config_option
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@friendly_errors
def serve(
    data_dir: Path | None, config_file: Path | None, host: str | None, port: int | None
) -> None:
    """Run the HTTP server on a data directory (created on first start).

    One process serves the embedded DuckDB store; other commands on the same data
    directory (import, quarantine, keys) keep working while it runs.
    """
    from retailor.api.serve import port_taken
    from retailor.runtime.server import serve as run

    settings = settings_from(data_dir, config_file, host=host, port=port)
    running = read_run_file(settings.data_dir)
    if running is not None:
        raise click.ClickException(
            f"{settings.data_dir} is already served at {running.url} (process {running.pid}): "
            "one server per data directory. Stop it first, or serve another --data."
        )
    taken = port_taken(settings.host, settings.port)
    if taken:
        raise click.ClickException(
            f"{settings.host}:{settings.port} is already in use ({taken}); stop what listens "
            "there or choose another --port"
        )
    console.print(
        f"Retailor serving [bold]{settings.data_dir}[/] at http://{settings.host}:{settings.port}"
    )
    console.print(
        f"API document: http://{settings.host}:{settings.port}/openapi.json — Ctrl-C stops."
    )
    try:
        run(settings)
    except DataDirLockedError as exc:
        holder = f"process {exc.pid}" if exc.pid else "another process"
        raise click.ClickException(
            f"{settings.data_dir} is already served by {holder}: one server per data "
            "directory. Stop it first, or serve another --data."
        ) from None
