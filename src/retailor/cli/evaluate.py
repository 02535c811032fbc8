"""``retailor evaluate``: offline evaluation of the models on a history file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from retailor.cli.common import console, friendly_errors, out
from retailor.models.families import known_models


def _ks(value: str) -> list[int]:
    try:
        ks = sorted({int(v) for v in value.split(",") if v.strip()})
    except ValueError:
        raise click.BadParameter(f"expected numbers like 10,20, got {value!r}") from None
    if not ks or ks[0] < 1:
        raise click.BadParameter("every k must be at least 1")
    return ks


@click.command()
@click.option("--interactions", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="History file (CSV/TSV/JSONL/Parquet): customer or session, item, time "
                   "[, event type, order id, quantity].")  # fmt: skip
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False),
              help="Item attributes (item_id, name, category, brand, price) for content models.")  # fmt: skip
@click.option("--test", "test_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A separate test file (sessions mode), instead of the time split.")  # fmt: skip
@click.option(
    "--test-days",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="The last N days are the test period.",
)
@click.option("--map", "mapping", multiple=True,
              help="Rename columns: target=source[,target=source...], e.g. --map "
                   "user_id=CustomerID,item_id=StockCode,timestamp=InvoiceDate.")  # fmt: skip
@click.option(
    "--k", "k_values", default="10,20", show_default=True, help="Cutoffs, comma-separated."
)
@click.option("--models", "names", default=None,
              help="Comma-separated models (default: the blend, its sources and the peers "
                   "implicit_als and global_popularity).")  # fmt: skip
@click.option("--mode", type=click.Choice(["auto", "customers", "sessions"]), default="auto", show_default=True,
              help="customers: what each customer buys next; sessions: next item in a session "
                   "(auto: sessions when most rows have a session but no customer).")  # fmt: skip
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
@click.option(
    "--plot", type=click.Path(path_type=Path, dir_okay=False), help="Draw the scores to a PNG."
)
@friendly_errors
def evaluate(
    interactions: Path, catalog: Path | None, test_file: Path | None, test_days: float,
    mapping: tuple[str, ...],
    k_values: str, names: str | None, mode: str, seed: int, as_json: bool, plot: Path | None,
) -> None:  # fmt: skip
    """Evaluate Retailor's models against implicit ALS and popularity on your own history.

    Splits by time without leakage (models see only what came before the test period),
    then reports Precision, Recall, NDCG, MAP, HR and MRR at each k, catalog coverage and
    novelty. Example, on the UCI Online Retail file:

      retailor evaluate --interactions online_retail.csv.gz --test-days 30 --k 10,20
    """
    from retailor.evaluation.files import read_interactions
    from retailor.evaluation.peers import PEERS
    from retailor.evaluation.runner import (
        CUSTOMER_MODELS,
        SESSION_MODELS,
        evaluate_customers,
        evaluate_sessions,
    )  # fmt: skip
    from retailor.ingest.bulk.options import ImportInputError, parse_mapping

    ks = _ks(k_values)
    try:
        renames = parse_mapping(mapping)
        with console.status(f"reading {interactions.name}"):
            data = read_interactions(interactions, catalog, renames)
            test = read_interactions(test_file, catalog, renames) if test_file else None
    except ImportInputError as exc:
        raise click.ClickException(str(exc)) from None
    if mode == "auto":
        mostly_anonymous = data.session_ids.size > 0 and float((data.user >= 0).mean()) < 0.5
        mode = "sessions" if (test is not None or mostly_anonymous) else "customers"
    default = CUSTOMER_MODELS if mode == "customers" else SESSION_MODELS
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else list(default)
    unknown = [n for n in wanted if n not in known_models() and n not in PEERS]
    if unknown:
        raise click.UsageError(
            f"unknown model(s) {', '.join(unknown)}; known: {', '.join([*known_models(), *PEERS])}"
        )
    with Progress(
        TextColumn("{task.description:<28}"), BarColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("splitting", total=1)

        def step(message: str, done: int, total: int) -> None:
            bar.update(task, description=message, completed=done, total=total)

        try:
            if mode == "customers":
                report = evaluate_customers(data, wanted, ks, test_days, seed, step)
            else:
                report = evaluate_sessions(data, test, wanted, ks, test_days, seed, step)
        except ValueError as exc:
            hint = (
                " (or evaluate next items in sessions: --mode sessions)"
                if mode == "customers" and data.session_ids.size
                else ""
            )
            raise click.ClickException(f"{exc}{hint}") from None
    if plot is not None:
        from retailor.evaluation.plot import plot_report

        plot_report(report, plot)
    if as_json:
        click.echo(msgspec.json.encode(report.as_dict()))
        return
    _print(report.as_dict(), peers=set(PEERS))
    if plot is not None:
        console.print(f"plot written to {plot}")


def _print(report: dict[str, Any], peers: set[str]) -> None:
    split = ", ".join(f"{k.replace('_', ' ')} {v:,}" if isinstance(v, int) else f"{k.replace('_', ' ')} {v}"
                      for k, v in report["split"].items())  # fmt: skip
    out.print(f"[bold]{report['mode']}[/] evaluation — {split}")
    metrics = (
        ["ndcg", "recall", "precision", "map", "hr", "mrr"]
        if report["mode"] == "customers"
        else ["hr", "mrr"]
    )
    columns = [f"{m}@{k}" for k in report["k"] for m in metrics]
    if report["mode"] == "customers":
        columns += [f"coverage@{report['k'][0]}"]
    table = Table(box=None, pad_edge=False)
    table.add_column("model", no_wrap=True)
    for column in [*columns, "fit s"]:
        table.add_column(column, justify="right", no_wrap=True)
    ranked = sorted(report["models"].items(), key=lambda kv: -kv[1][columns[0]])
    for name, result in ranked:
        label = f"{name} (peer)" if name in peers else name
        table.add_row(label, *(f"{result[c]:.3f}" for c in columns), f"{result['fit_seconds']:.1f}")
    out.print(table)
