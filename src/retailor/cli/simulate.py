"""``retailor simulate``: a simulated retailer whose shoppers react to what Retailor shows,
and the closed-loop experiment that measures the lift."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx
import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from retailor.cli.common import console, friendly_errors, out, settings_from
from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.simulator.outcome import Outcome
from retailor.simulator.runner import SIMULATION_SETTINGS, RunPlan
from retailor.simulator.world import SCALES, Scale


@click.command()
@click.option("--scale", type=click.Choice(list(SCALES)), default="default", show_default=True,
              help="tiny (seconds), small, default (a mid-size retailer, about a minute "
                   "in-process), large.")  # fmt: skip
@click.option("--customers", type=click.IntRange(min=8), help="Override the scale's customers.")
@click.option("--items", type=click.IntRange(min=30), help="Override the scale's catalog size.")
@click.option("--history-days", type=click.IntRange(min=1),
              help="Days of shopping before Retailor (the training history).")  # fmt: skip
@click.option("--days", type=click.IntRange(min=1), help="Days of the closed-loop experiment.")
@click.option("--seed", default=7, show_default=True, help="Same seed, same retailer and shoppers.")
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The simulated weeks run up to this day (midnight UTC; its eve is the last "
                   "day simulated; default today): with the same seed and end, an --offline "
                   "export is the same file.")  # fmt: skip
@click.option("--url",
              help="Drive a running server over HTTP (else: in-process, no sockets).")  # fmt: skip
@click.option("--key", "api_key", envvar="RETAILOR_API_KEY",
              help="An admin key of that server ($RETAILOR_API_KEY).")  # fmt: skip
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              help="In-process: build the shop's data here and keep it, to explore with "
                   "`retailor serve --data DIR` afterwards (must be new or empty; default a "
                   "temporary directory, removed).")  # fmt: skip
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Shopper visits in flight at once.")  # fmt: skip
@click.option("--retrain-days", default=7, show_default=True, type=click.IntRange(min=0),
              help="Retrain the models every N simulated days of the experiment (0: once).")  # fmt: skip
@click.option("--export", type=click.Path(file_okay=False, path_type=Path),
              help="Also write the event stream (events.jsonl) and catalog (catalog.jsonl) "
                   "there, for `retailor import`.")  # fmt: skip
@click.option("--offline", is_flag=True,
              help="Run the shop without Retailor (no experiment); use with --export.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
@click.option("--server-for-simulation", "fast_rewards", is_flag=True, hidden=True,
              help="The --url server was started with the simulation's settings (the demo).")  # fmt: skip
@click.option("--plot", type=click.Path(path_type=Path, dir_okay=False),
              help="Draw revenue per visitor per arm over the days (and the bandit's regret) to a PNG.")  # fmt: skip
@friendly_errors
def simulate(
    scale: str, customers: int | None, items: int | None, history_days: int | None,
    days: int | None, seed: int, end: datetime | None, url: str | None, api_key: str | None,
    data_dir: Path | None, concurrency: int, retrain_days: int, export: Path | None,
    offline: bool, as_json: bool, fast_rewards: bool, plot: Path | None,
) -> None:  # fmt: skip
    """Simulate a retailer whose shoppers react to what Retailor shows them, and measure
    the lift in a closed-loop experiment.

    Shoppers have hidden tastes, price sensitivity, a loyalty tier, a channel mix, a
    visit rhythm and a hidden response to each offer. After --history-days of shopping
    without Retailor the models are trained, and shoppers are split at random into arms:
    Retailor's placements, popularity only, random items, no recommendations; and for
    offers Retailor's bandit, a random eligible offer, and an oracle that knows each
    shopper's response. The report gives click-through, conversion, revenue per visitor,
    offer cost and margin per arm with 95 % intervals, and the bandit's regret over time.

    \b
    Examples:
      retailor simulate --scale small
      retailor simulate --json --plot lift.png
      retailor simulate --url http://127.0.0.1:8000 --key rk_admin_...
      retailor simulate --offline --export sim-data --scale small
    """
    from retailor.simulator.report import plot as draw

    chosen = dataclasses.replace(
        SCALES[scale],
        **{k: v for k, v in {"customers": customers, "items": items, "history_days": history_days,
                             "days": days}.items() if v is not None},
    )  # fmt: skip
    if offline and not export:
        raise click.UsageError("--offline runs the shop without Retailor: give --export DIR too")
    if offline and data_dir:
        raise click.UsageError("--offline runs without Retailor: --data has no use there")
    if offline and plot:
        raise click.UsageError("--offline runs no experiment: there is nothing to --plot")
    if url and not api_key:
        raise click.UsageError("--url needs --key (an admin key of that server)")
    if url and data_dir:
        raise click.UsageError("--data is for in-process runs; a server at --url has its own")
    temporary = None
    if not url and not offline:
        if data_dir is None:
            temporary = data_dir = Path(tempfile.mkdtemp(prefix="retailor-sim-"))
        elif data_dir.exists() and any(data_dir.iterdir()):
            raise click.UsageError(
                f"{data_dir} is not empty: the simulation builds its own retailer; "
                "give a new directory"
            )
    plan = RunPlan(chosen, seed=seed, concurrency=concurrency, retrain_days=retrain_days,
                   url=url, api_key=api_key, export=export, offline=offline,
                   end=end.replace(tzinfo=UTC) if end else None)  # fmt: skip
    if url:
        console.print(f"driving the server at {url}")
    if url and not fast_rewards:
        console.print(
            "[dim]note: a simulated day takes seconds; the server should run with "
            "RETAILOR_REWARD_WINDOW_SECONDS=3 so that offers not redeemed teach the bandit "
            "in time (docs/simulator.md)[/]"
        )
    try:
        if data_dir is not None:
            with in_process_app(data_dir, seed) as (transport, key):
                report = run_with_progress(dataclasses.replace(plan, api_key=key), transport)
        else:
            report = run_with_progress(plan)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    if plot:
        draw(report, plot)
    if as_json:
        out.print_json(msgspec.json.encode(report).decode())
    else:
        print_summary(report, offline)
    if plot:
        console.print(f"plot written to {plot}")
    if data_dir is not None and temporary is None:
        console.print(
            f"the shop's data is in {data_dir}: `retailor keys create --data {data_dir} "
            f"--scope admin`, then `retailor serve --data {data_dir}` to explore it"
        )


@contextmanager
def in_process_app(data_dir: Path, seed: int) -> Iterator[tuple[httpx.ASGITransport, str]]:
    """A Retailor app in this process on ``data_dir`` (with the simulation's settings),
    reached through an ASGI transport, and an admin key for it."""
    from retailor.runtime.server import build_server

    settings = settings_from(data_dir, policy_seed=seed, **SIMULATION_SETTINGS)
    app = build_server(settings)
    try:
        _, key = create_key(app.state.ctx.storage.keys, Scope.ADMIN, "simulator")
        yield httpx.ASGITransport(app=app), key
    finally:
        app.state.shutdown()


def run_with_progress(
    plan: RunPlan, transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, Any]:
    """Run a simulation with a progress bar over the simulated days (on stderr)."""
    from retailor.simulator.runner import simulate as run

    scale: Scale = plan.scale
    quiet = os.environ.get("RETAILOR_NO_PROGRESS") == "1"
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("days  {task.fields[status]}"), TimeElapsedColumn(),
        console=console, disable=quiet, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("simulating", total=scale.total_days, status="")

        def advance(day: int, outcome: Outcome) -> None:
            phase = "history" if day < scale.history_days else "experiment"
            progress.update(
                task,
                completed=day + 1,
                status=f"{phase}: {outcome.events:,} events, {len(outcome.visits):,} visits in the experiment",
            )

        return run(plan, advance, transport)


def _cell(figure: dict[str, Any], digits: int = 2, percent: bool = False) -> str:
    scale = 100 if percent else 1
    low, high = figure["ci95"]
    unit = "%" if percent else ""
    return (
        f"{figure['mean'] * scale:.{digits}f}{unit} "
        f"[dim]({low * scale:.{digits}f}-{high * scale:.{digits}f})[/]"
    )


def print_summary(report: dict[str, Any], offline: bool = False) -> None:
    """A person's summary of the report: the arms, the lift, the offers, the regret."""
    totals = report["totals"]
    scale = report["scale"]
    wide = Console(width=max(out.width, 120), soft_wrap=True)
    wide.print(
        f"\n[bold]Simulated retailer[/] (seed {report['seed']}, {report['mode']}): "
        f"{scale['customers']:,} customers, {scale['items']:,} items, {scale['stores']} stores; "
        + (
            f"{scale['history_days'] + scale['experiment_days']} days without Retailor; "
            if offline
            else f"{scale['history_days']} days before Retailor, {scale['experiment_days']} days of experiment; "
        )
        + f"{totals['events_sent']:,} events in {report['elapsed_seconds']:.0f} s"
    )
    if offline:
        wide.print(f"  {totals['history_visits']:,} online visits, {totals['history_orders']:,} online orders, "
                   f"{totals['store_orders']:,} store baskets")  # fmt: skip
        return
    table = Table(
        title="Recommendations: what each arm earned (95 % intervals)", title_justify="left"
    )
    for column in (
        "arm",
        "visitors",
        "click-through",
        "conversion",
        "revenue / visitor",
        "margin / visitor",
    ):
        table.add_column(column, justify="left" if column == "arm" else "right")
    names = {"retailor": "Retailor", "popularity": "popularity only", "random": "random items",
             "none": "no recommendations"}  # fmt: skip
    for arm, f in report["arms"].items():
        shown = "n/a" if arm == "none" else _cell(f["click_through"], 1, True)
        table.add_row(names.get(arm, arm), f"{f['visitors']:,}", shown,
                      _cell(f["conversion"], 1, True), _cell(f["revenue_per_visitor"]),
                      _cell(f["margin"]))  # fmt: skip
    wide.print(table)
    for other, lift in report["lift"].items():
        ratio = lift["revenue_per_visitor_ratio"]
        verdict = (
            "the arms' intervals overlap"
            if lift["intervals_overlap"]
            else "the arms' intervals are apart"
        )
        low, high = lift["ratio_ci95"]
        wide.print(f"  Retailor earns [bold]{ratio:.2f}x[/] the revenue per visitor of {names[other]} "
                   f"(ratio 95 % interval {low:.2f}-{high:.2f}; {verdict})"
                   if ratio is not None else f"  {names[other]}: no revenue to compare")  # fmt: skip
    offers = Table(
        title="Offers: Retailor's bandit against a random offer and an oracle", title_justify="left"
    )
    for column in (
        "arm",
        "offers shown",
        "redemption",
        "regret / offer",
        "offer cost / visitor",
        "margin / visitor",
    ):
        offers.add_column(column, justify="left" if column == "arm" else "right")
    for arm, f in report["offers"]["arms"].items():
        offers.add_row(arm, f"{f['offers_shown']:,}", _cell(f["redemption_rate"], 1, True),
                       _cell(f["regret_per_offer"], 3), _cell(f["offer_cost"]), _cell(f["margin"]))  # fmt: skip
    wide.print(offers)
    regret = report["offers"]["regret"]
    if regret["falling"] is None:
        wide.print(
            f"  the bandit's regret per offer: {_mean(regret['bandit']['per_day']):.3f} "
            "(too few days to tell whether it falls)"
        )
        return _errors(report, wide)
    low, high = regret["last_minus_first_ci95"]
    wide.print(
        f"  the bandit's regret per offer fell from {regret['first_third_mean']:.3f} (first third of the days) "
        f"to {regret['last_third_mean']:.3f} (last third; difference {low:+.3f} to {high:+.3f}); "
        f"a random offer's stays near {_mean(regret['random']['per_day']):.3f}"
        if regret["falling"]
        else f"  the bandit's regret per offer: {regret['first_third_mean']:.3f} in the first third of the days, "
        f"{regret['last_third_mean']:.3f} in the last (difference {low:+.3f} to {high:+.3f}: not a clear "
        "fall; more days or shoppers give the bandit more to learn from)"
    )  # fmt: skip
    _errors(report, wide)


def _results(report: dict[str, Any], wide: Console) -> None:
    """Retailor's own results of the run's experiments beside the simulation's truth."""
    for name, result in report.get("retailor_results", {}).items():
        table = Table(
            title=f"Retailor's results of {name} (control: {result['control']}) against the "
            "simulation's truth",
            title_justify="left",
        )
        for column in ("variant", "metric", "true effect", "Retailor's effect", "95 % interval", "truth inside"):  # fmt: skip
            table.add_column(column, justify="left" if column in ("variant", "metric") else "right")
        for check in result["checks"]:
            low, high = check["retailor_ci95"]
            table.add_row(check["variant"], check["metric"], f"{check['true_effect']:+.4f}",
                          f"{check['retailor_effect']:+.4f}", f"{low:+.4f} to {high:+.4f}",
                          "yes" if check["within_ci95"] else "[red]no[/]")  # fmt: skip
        wide.print(table)
        units = ", ".join(f"{v} {n:,}" for v, n in result["units"].items())
        wide.print(f"  units: {units}; sample ratio p = {result['srm_p_value']:.3f}")
        for warning in result["warnings"]:
            wide.print(f"  [yellow]{warning}[/]")


def _errors(report: dict[str, Any], wide: Console) -> None:
    _results(report, wide)
    if report["error_count"]:
        wide.print(
            f"[yellow]  {report['error_count']} requests failed; first: {report['errors'][0]}[/]"
        )


def _mean(values: list[float | None]) -> float:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else 0.0
