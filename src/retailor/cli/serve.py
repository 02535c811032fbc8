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
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Serving processes sharing the port; more than one needs shared storage "
    '(storage = "postgresql://…").',
)
@friendly_errors
def serve(
    data_dir: Path | None,
    config_file: Path | None,
    host: str | None,
    port: int | None,
    workers: int,
) -> None:
    """Run the HTTP server on a data directory (created on first start).

    One process serves the embedded DuckDB store; other commands on the same data
    directory (import, quarantine, keys) keep working while it runs. On PostgreSQL with
    Redis state, --workers N runs N processes on the port, each answering requests; the background
    jobs (scheduled retraining) run in one of them at a time, or in `retailor worker`.
    """
    from retailor.api.serve import port_taken
    from retailor.runtime.server import serve as run
    from retailor.storage.factory import is_postgres

    settings = settings_from(data_dir, config_file, host=host, port=port)
    if workers > 1 and not is_postgres(settings.storage_dsn):
        raise click.ClickException(
            f"--workers {workers} needs shared storage: the embedded store "
            f"({settings.storage_dsn}) has one writer process. Serve it with one worker, or "
            'set storage = "postgresql://…" to run several.'
        )
    if workers > 1 and not settings.state:
        raise click.ClickException(
            f'--workers {workers} needs shared hot state: set state = "redis://host:6379/0" '
            "(RETAILOR_STATE) so that every worker reads the events, caps and budgets the "
            "others wrote. Without it, serve one worker per database."
        )
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
        if workers > 1:
            from retailor.runtime.workers import serve_workers

            console.print(f"{workers} worker processes share the port.")
            serve_workers(settings, workers)
        else:
            run(settings)
    except DataDirLockedError as exc:
        holder = f"process {exc.pid}" if exc.pid else "another process"
        raise click.ClickException(
            f"{settings.data_dir} is already served by {holder}: one server per data "
            "directory. Stop it first, or serve another --data."
        ) from None
