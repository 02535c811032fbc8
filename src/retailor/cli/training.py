"""``retailor train``: a training job, in the server that holds the data directory or in
this process, followed with a progress display."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click
import msgspec
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from retailor.cli.common import console, data_option, friendly_errors, reach_data, settings_from
from retailor.cli.models import trainable
from retailor.client import JOB_ENDED, Client, RetailorError
from retailor.models.families import CLV, DEFAULT_MODELS, describe, known_models
from retailor.storage.base import ModelRegistry

if TYPE_CHECKING:
    from retailor.models.jobs import TrainingJobs

#: How often a running job is looked at.
POLL_SECONDS = 0.5


class Jobs(Protocol):
    """Where training jobs run: ``start`` returns the job, ``get`` its state now (both as
    the API gives them), ``record`` the active version of a model."""

    def start(self, names: list[str]) -> dict[str, Any]: ...

    def get(self, job_id: str) -> dict[str, Any]: ...

    def record(self, name: str) -> dict[str, Any] | None: ...


class ServerJobs:
    """Jobs in the running server, through its API."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def start(self, names: list[str]) -> dict[str, Any]:
        """Start a job; while another one is under way, follow it to its end first."""
        while True:
            try:
                job = self._client.start_training(names)
            except RetailorError as exc:
                if exc.status != 409 or "job_id" not in exc.problem:
                    raise
                console.print(f"[dim]waiting for training job {exc.problem['job_id']} to end[/]")
                follow(self, self.get(exc.problem["job_id"]))
                continue
            console.print(
                f"[dim]training job {job['job_id']} ({', '.join(names)}) runs in the server; "
                "stopping this command leaves it running[/]"
            )
            return job

    def get(self, job_id: str) -> dict[str, Any]:
        return self._client.job(job_id)

    def record(self, name: str) -> dict[str, Any] | None:
        return self._client.model(name)


class LocalJobs:
    """Jobs in this process, over the data directory opened here."""

    def __init__(self, training: TrainingJobs, registry: ModelRegistry) -> None:
        self._training, self._registry = training, registry

    def start(self, names: list[str]) -> dict[str, Any]:
        return msgspec.to_builtins(self._training.start(names))  # type: ignore[no-any-return]

    def get(self, job_id: str) -> dict[str, Any]:
        return msgspec.to_builtins(self._training.get(job_id))  # type: ignore[no-any-return]

    def record(self, name: str) -> dict[str, Any] | None:
        return msgspec.to_builtins(self._registry.active(name))  # type: ignore[no-any-return]


def follow(jobs: Jobs, job: dict[str, Any]) -> dict[str, Any]:
    """Show a job's progress until it has ended; return its last state."""
    with Progress(
        TextColumn("{task.description:<36}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting", total=job["progress"]["total"])
        while True:
            now = job["progress"]
            bar.update(task, description=now["current"], completed=now["done"], total=now["total"])
            if job["status"] in JOB_ENDED:
                return job
            time.sleep(POLL_SECONDS)
            job = jobs.get(job["job_id"])


class Outcome(msgspec.Struct):
    """What ``train`` made (one dict per version, as ``--json`` prints them) and what
    failed."""

    versions: list[dict[str, Any]]
    failed: str | None = None
    clv_failed: str | None = None


def train_with(jobs: Jobs, recommenders: list[str], clv: bool) -> Outcome:
    """The recommenders in one job, then clv in another (its lack of data is no failure
    of the rest)."""
    outcome = Outcome(versions=[])
    if recommenders:
        job = follow(jobs, jobs.start(recommenders))
        outcome.versions += (job.get("result") or {}).get("models", [])
        if job["status"] == "failed":
            outcome.failed = job["error"]
            return outcome
    if clv:
        job = follow(jobs, jobs.start([CLV]))
        if job["status"] == "failed":
            outcome.clv_failed = job["error"]
        else:
            record = jobs.record(CLV) or job["result"]["models"][0]
            outcome.versions.append({**record, "activated": True, "gate": "always"})
    return outcome


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
    worse than the active version on that holdout. While a server runs on the data
    directory the training is a job in the server, which this command follows (stopping
    the command leaves the job running); otherwise it runs in this process.
    """
    from retailor.runtime.command import command_services

    wanted = [n.strip() for n in (names or ",".join((*DEFAULT_MODELS, CLV))).split(",")]
    wanted = list(dict.fromkeys(n for n in wanted if n))
    if not wanted:
        raise click.UsageError(f"--models names no model; known: {', '.join(trainable())}")
    unknown = [n for n in wanted if n not in trainable()]
    if unknown:
        raise click.UsageError(
            f"unknown model(s) {', '.join(unknown)}; known: {', '.join(trainable())}"
        )
    recommenders = [n for n in wanted if n != CLV]
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.client is not None:
            outcome = train_with(ServerJobs(target.client), recommenders, CLV in wanted)
        else:
            assert target.storage is not None
            with command_services(settings, target.storage) as services:
                services.models.seed = seed
                jobs = LocalJobs(services.training, target.storage.models)
                outcome = train_with(jobs, recommenders, CLV in wanted)
    for version in outcome.versions:
        _print(version, as_json)
    if outcome.failed is not None:
        raise click.ClickException(f"training failed: {outcome.failed}")
    if outcome.clv_failed is not None:
        if names is not None:  # asked for by name: its failure is the command's
            raise click.ClickException(f"clv not trained: {outcome.clv_failed}")
        console.print(f"[yellow]clv (lifetime value) not trained:[/] {outcome.clv_failed}")


def _print(version: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(msgspec.json.encode(version))
        return
    holdout = version.get("metrics", {}).get("holdout", {})
    figures = ", ".join(f"{k}={v:.4f}" for k, v in holdout.items() if k in ("ndcg@10", "recall@10"))
    state = "[green]active[/]" if version.get("activated") else "[yellow]inactive[/]"
    console.print(
        f"trained [bold]{version['name']}[/] version {version['version']} ({state})"
        + (f": holdout {figures}" if figures else "")
        + (f" — {version['gate']}" if not version.get("activated") else "")
    )
