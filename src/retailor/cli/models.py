"""``retailor models list|show``: the versions of every model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec
from rich.table import Table

from retailor.cli.common import (
    data_option,
    friendly_errors,
    out,
    settings_from,
)
from retailor.models.families import CLV, known_models
from retailor.storage.factory import model_registry


def trainable() -> tuple[str, ...]:
    """Every model name ``train`` and ``models show`` take: the recommenders and clv."""
    return (*known_models(), CLV)


def _summary(metrics: dict[str, Any]) -> str:
    holdout = metrics.get("holdout")
    if isinstance(holdout, dict):
        shown = ", ".join(
            f"{k} {v:.4f}" for k, v in holdout.items() if k in ("ndcg@10", "recall@10")
        )
        return f"holdout {shown}; {metrics.get('interactions', 0):,} interactions"
    text = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
    )
    return text[:80]


@click.group()
def models() -> None:
    """Trained models: their versions, parameters and metrics."""


@models.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per version.")
@friendly_errors
def list_models(data_dir: Path | None, as_json: bool) -> None:
    """Every version of every model, the active one marked."""
    settings = settings_from(data_dir)
    with model_registry(settings.storage_dsn, settings.data_dir) as registry:
        found = [(registry.active(name), registry.versions(name)) for name in registry.names()]
    table = Table("model", "version", "created", "active", "metrics")
    for active, versions in found:
        for record in versions:
            name = record.name
            is_active = active is not None and active.version == record.version
            if as_json:
                click.echo(
                    msgspec.json.encode({**msgspec.to_builtins(record), "active": is_active})
                )
            else:
                table.add_row(name, str(record.version), record.created_at.isoformat(timespec="seconds"),
                              "yes" if is_active else "", _summary(record.metrics))  # fmt: skip
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
    """Show the active version of model NAME (its parameters and metrics).

    For example: ``retailor models show clv --json``."""
    if name not in trainable():
        raise click.UsageError(f"no model {name!r}; known: {', '.join(trainable())}")
    settings = settings_from(data_dir)
    with model_registry(settings.storage_dsn, settings.data_dir) as registry:
        record = registry.active(name)
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
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        out.print(f"  {key:>14} = {shown}")
    for key, value in record.metrics.items():
        out.print(f"  {key:>14}: {value}")
