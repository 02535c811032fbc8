"""``retailor train`` and ``retailor models list|show``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from retailor.cli.common import (
    console,
    data_option,
    friendly_errors,
    out,
    reach_data,
    settings_from,
)
from retailor.client import RetailorError
from retailor.models.families import DEFAULT_MODELS, describe, known_models
from retailor.storage.factory import open_model_registry


def _trainable() -> tuple[str, ...]:
    """Every model name ``train`` and ``models show`` take: the recommenders and clv."""
    return (*known_models(), "clv")


def _all_models() -> str:
    return ",".join((*DEFAULT_MODELS, "clv"))


@click.command()
@data_option
@click.option(
    "--models",
    "names",
    default=None,
    help="Comma-separated models to train (default: all but bpr and most_bought). "
    + "; ".join(f"{name}: {describe(name)}" for name in known_models())
    + "; clv: lifetime value (BG/NBD + Gamma-Gamma).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of every model.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per trained version.")
@friendly_errors
def train(data_dir: Path | None, names: str | None, seed: int, as_json: bool) -> None:
    """Train models from the event log.

    Each recommender is scored on the newest 30 days (fitted on what came before), refitted
    on everything and saved as a new version, which becomes active only if it is not
    worse than the active version on that holdout. Works while a server runs on the data
    directory (it trains in the server).
    """
    from retailor.api.app import create_app

    wanted = [n.strip() for n in (names or _all_models()).split(",") if n.strip()]
    if not wanted:
        raise click.UsageError(f"--models names no model; known: {', '.join(_trainable())}")
    unknown = [n for n in wanted if n not in _trainable()]
    if unknown:
        raise click.UsageError(
            f"unknown model(s) {', '.join(unknown)}; known: {', '.join(_trainable())}"
        )
    recommenders = [n for n in wanted if n != "clv"]
    settings = settings_from(data_dir)
    results: list[dict[str, Any]] = []
    clv_failed: str | None = None
    with reach_data(settings) as target:
        if target.client is not None:
            with console.status(f"training {', '.join(wanted)} in the server"):
                if recommenders:
                    results += target.client.train_models(recommenders)["models"]
                if "clv" in wanted:
                    try:
                        record = target.client.train("clv")
                        results.append({**record, "activated": True, "gate": "always"})
                    except RetailorError as exc:
                        clv_failed = str(exc.problem.get("detail") or exc)
        else:
            assert target.storage is not None
            app = create_app(settings, target.storage, background=False)
            ctx = app.state.ctx
            ctx.models.seed = seed
            try:
                if recommenders:
                    with Progress(
                        TextColumn("{task.description:<28}"), BarColumn(), TimeElapsedColumn(),
                        console=console, transient=True,
                    ) as bar:  # fmt: skip
                        task = bar.add_task("reading the event log", total=len(recommenders))

                        def step(message: str, done: int, total: int) -> None:
                            bar.update(task, description=message, completed=done, total=total)

                        outcomes = ctx.models.train(recommenders, progress=step)
                    results += [
                        {"name": o.name, "version": o.record.version, "activated": o.activated,
                         "gate": o.reason, "metrics": o.record.metrics}
                        for o in outcomes
                    ]  # fmt: skip
                if "clv" in wanted:
                    try:
                        model, metrics = ctx.profiles.train_lifetime()
                    except ValueError as exc:
                        clv_failed = str(exc)
                    else:
                        record = msgspec.to_builtins(
                            target.storage.models.save("clv", model.params(), metrics)
                        )
                        results.append({**record, "activated": True, "gate": "always"})
            finally:
                app.state.shutdown()
    for result in results:
        if as_json:
            click.echo(msgspec.json.encode(result))
            continue
        holdout = result.get("metrics", {}).get("holdout", {})
        figures = ", ".join(
            f"{k}={v:.4f}" for k, v in holdout.items() if k in ("ndcg@10", "recall@10")
        )
        state = "[green]active[/]" if result.get("activated") else "[yellow]inactive[/]"
        console.print(
            f"trained [bold]{result['name']}[/] version {result['version']} ({state})"
            + (f": holdout {figures}" if figures else "")
            + (f" — {result['gate']}" if not result.get("activated") else "")
        )
    if clv_failed is not None:
        if names is not None:  # asked for by name: its failure is the command's
            raise click.ClickException(f"clv not trained: {clv_failed}")
        console.print(f"[yellow]clv (lifetime value) not trained:[/] {clv_failed}")


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
    if name not in _trainable():
        raise click.UsageError(f"no model {name!r}; known: {', '.join(_trainable())}")
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
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        out.print(f"  {key:>14} = {shown}")
    for key, value in record.metrics.items():
        out.print(f"  {key:>14}: {value}")
