"""``retailor experiments list|show|put|delete``: experiment definitions, through the
server running on the data directory when there is one, else straight in its stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import msgspec

from retailor.cli.common import (
    data_option,
    friendly_errors,
    out,
    reach_data,
    read_definition_file,
    settings_from,
)
from retailor.client import Client
from retailor.domain.ids import InvalidIdError
from retailor.domain.placements import DefinitionError
from retailor.storage.factory import Storage


class _Direct:
    """The experiment book over the stores themselves (no server runs on them)."""

    def __init__(self, storage: Storage) -> None:
        from retailor.decision.candidates import source_names
        from retailor.decision.experiments import ExperimentBook
        from retailor.decision.placements import PlacementBook

        names = set(source_names())
        placements = PlacementBook(storage.definitions, names.__contains__)
        self.book = ExperimentBook(
            storage.definitions, placements, names.__contains__, storage.exposures
        )


@contextmanager
def _reached(data_dir: Path | None) -> Iterator[Client | _Direct]:
    with reach_data(settings_from(data_dir)) as target:
        if target.client is not None:
            yield target.client
        else:
            assert target.storage is not None
            yield _Direct(target.storage)


def _show(document: dict[str, Any]) -> None:
    out.print_json(msgspec.json.encode(document).decode())


@click.group()
def experiments() -> None:
    """Experiments: their definitions, variants, phases and status."""


@experiments.command("list")
@data_option
@friendly_errors
def list_experiments(data_dir: Path | None) -> None:
    """Every experiment: id, status, phase, placements and variants with their weights."""
    with _reached(data_dir) as reached:
        if isinstance(reached, Client):
            found = reached.experiments()
        else:
            found = [msgspec.to_builtins(e) for e in reached.book.all()]
    if not found:
        out.print("no experiments; define one with: retailor experiments put ID FILE")
    for e in found:
        variants = ", ".join(f"{v['id']} {v['weight']:g}" for v in e["variants"])
        out.print(
            f"[bold]{e['experiment_id']}[/]  {e['status']}  phase {e['phase']}  "
            f"on {', '.join(e['placements'])}  variants: {variants} (control {e['control']})"
        )


@experiments.command("show")
@click.argument("experiment_id")
@data_option
@friendly_errors
def show(experiment_id: str, data_dir: Path | None) -> None:
    """EXPERIMENT_ID's definition as JSON."""
    with _reached(data_dir) as reached:
        if isinstance(reached, Client):
            _show(reached.experiment(experiment_id))
            return
        experiment = reached.book.get(experiment_id)
        if experiment is None:
            raise click.ClickException(f"no experiment {experiment_id!r}")
        _show(msgspec.to_builtins(experiment))


@experiments.command("put")
@click.argument("experiment_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_option
@friendly_errors
def put(experiment_id: str, file: Path, data_dir: Path | None) -> None:
    """Create or replace EXPERIMENT_ID from a JSON or YAML FILE (see docs/measurement.md)."""
    definition = read_definition_file(file, "experiment")
    with _reached(data_dir) as reached:
        if isinstance(reached, Client):
            stored = reached.put_experiment(experiment_id, definition)
        else:
            try:
                stored = msgspec.to_builtins(reached.book.put(experiment_id, definition))
            except (DefinitionError, InvalidIdError) as exc:
                raise click.ClickException(f"{file}: {exc}") from None
    click.echo(f"experiment {experiment_id} saved: {stored['status']}, phase {stored['phase']}")


@experiments.command("delete")
@click.argument("experiment_id")
@data_option
@friendly_errors
def delete(experiment_id: str, data_dir: Path | None) -> None:
    """Remove EXPERIMENT_ID (the decision log and its recorded exposures stay)."""
    with _reached(data_dir) as reached:
        if isinstance(reached, Client):
            reached.delete_experiment(experiment_id)
        else:
            try:
                removed = reached.book.delete(experiment_id)
            except InvalidIdError as exc:
                raise click.ClickException(str(exc)) from None
            if not removed:
                raise click.ClickException(f"no experiment {experiment_id!r}")
    click.echo(f"experiment {experiment_id} removed")


@experiments.command("results")
@click.argument("experiment_id")
@click.option(
    "--phase", type=click.IntRange(min=1), help="The phase to analyse (default: the current one)."
)
@click.option(
    "--to",
    "end",
    metavar="WHEN",
    help="End of the analysis window: a date (its end: the window takes that whole day, "
    "as the API's to= does) or an ISO time (UTC unless it names an offset). Default: now.",
)
@click.option(
    "--pre-days",
    type=click.IntRange(0, 90),
    help="Days before each unit's first exposure that feed CUPED (default 14; 0: none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results document as JSON.")
@data_option
@friendly_errors
def results(
    experiment_id: str, phase: int | None, end: str | None, pre_days: int | None, as_json: bool,
    data_dir: Path | None,
) -> None:  # fmt: skip
    """EXPERIMENT_ID's results: units per variant, conversion, revenue, clicks, redemptions
    and order value per unit, each variant against the control (Welch, always-valid
    sequential interval, chance to win, Holm, CUPED) and the sample ratio check.
    ``holdout`` reads the global holdout.

    \b
    Examples:
      retailor experiments results home-ranking
      retailor experiments results home-ranking --phase 1 --to 2026-03-31 --json
    """
    from retailor.analytics.reports import ReportError, parse_when
    from retailor.cli.experiment_results import results_command

    try:
        when = parse_when(end, "--to", end=True) if end is not None else None
    except ReportError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None
    results_command(experiment_id, phase, when, pre_days, as_json, data_dir)
