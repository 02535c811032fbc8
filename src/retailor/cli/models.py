"""``retailor train`` and ``retailor models list|show``."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec
from rich.table import Table

from retailor.cli.common import (
    console,
    data_option,
    friendly_errors,
    out,
    reach_data,
    settings_from,
)
from retailor.storage.factory import open_model_registry

MODELS = ("clv",)


@click.command()
@data_option
@click.option(
    "--models",
    "names",
    default="clv",
    show_default=True,
    help="Comma-separated models to train: clv (lifetime value: BG/NBD + Gamma-Gamma).",
)
@friendly_errors
def train(data_dir: Path | None, names: str) -> None:
    """Train models from the event log; each new version becomes active.

    Works while a server runs on the data directory (it trains in the server).
    """
    from retailor.api.app import create_app

    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in MODELS]
    if unknown:
        raise click.UsageError(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        for name in wanted:
            with console.status(f"training {name}"):
                if target.client is not None:
                    record = target.client.train(name)
                else:
                    assert target.storage is not None
                    app = create_app(settings, target.storage)
                    try:
                        model, metrics = app.state.ctx.profiles.train_lifetime()
                    except ValueError as exc:
                        raise click.ClickException(str(exc)) from None
                    finally:
                        app.state.shutdown()
                    record = msgspec.to_builtins(
                        target.storage.models.save(name, model.params(), metrics)
                    )
            console.print(
                f"trained [bold]{name}[/] version {record['version']}: {_params(record['params'])}"
            )


def _params(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


@click.group()
def models() -> None:
    """Trained models: their versions, parameters and metrics."""


@models.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per version.")
@friendly_errors
def list_models(data_dir: Path | None, as_json: bool) -> None:
    """Every version of every model, the active one marked."""
    registry = open_model_registry(settings_from(data_dir).data_dir)
    table = Table("model", "version", "created", "active", "metrics")
    for name in registry.names():
        active = registry.active(name)
        for record in registry.versions(name):
            is_active = active is not None and active.version == record.version
            if as_json:
                click.echo(
                    msgspec.json.encode({**msgspec.to_builtins(record), "active": is_active})
                )
            else:
                table.add_row(name, str(record.version), record.created_at.isoformat(timespec="seconds"),
                              "yes" if is_active else "", str(record.metrics))  # fmt: skip
    if not as_json:
        out.print(table)


@models.command("show")
@click.argument("name")
@data_option
@click.option(
    "--json", "as_json", is_flag=True, help="The active version as JSON (params, metrics)."
)
@friendly_errors
def show(name: str, data_dir: Path | None, as_json: bool) -> None:
    """The active version of model NAME, e.g. ``retailor models show clv --json``."""
    record = open_model_registry(settings_from(data_dir).data_dir).active(name)
    if record is None:
        raise click.ClickException(
            f"model {name!r} has no trained version: retailor train --models {name}"
        )
    if as_json:
        click.echo(msgspec.json.encode(record))
        return
    out.print(
        f"[bold]{name}[/] version {record.version}, trained {record.created_at.isoformat(timespec='seconds')}"
    )
    for key, value in record.params.items():
        out.print(f"  {key:>12} = {value:.6g}")
    for key, value in record.metrics.items():
        out.print(f"  {key:>12}: {value}")
