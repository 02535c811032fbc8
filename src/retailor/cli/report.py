"""``retailor report``: the figures of decisions by time and dimension (a rich table,
``--json`` or ``--csv``), ``--recompute`` to rebuild the facts of a range from the logs,
and ``report export DIR`` for Hive-partitioned Parquet files of the fact tables. With a
server running on the data directory, everything goes through it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from retailor.cli.common import (
    console,
    data_option,
    friendly_errors,
    out,
    reach_data,
    settings_from,
)

_DIMENSIONS = (
    "placement, channel, offer, campaign, segment, model_version, experiment, variant, holdout"
)
_MONEY = {"attributed_revenue", "engaged_revenue", "margin", "revenue_per_decision", "budget_spent"}


def _params(
    start: str | None, end: str | None, by: tuple[str, ...], interval: str
) -> dict[str, Any]:
    params: dict[str, Any] = {"interval": interval}
    if start:
        params["from"] = start
    if end:
        params["to"] = end
    if by:
        params["by"] = ",".join(by)
    return params


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    sys.exit(2)


def _request(params: dict[str, Any]) -> Any:
    from retailor.analytics.reports import ReportError, parse_request

    try:
        return parse_request(params)
    except ReportError as exc:
        _fail(str(exc))


def _show(body: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(
        title=f"Decisions {body['from']} to {body['to']}"
        + (f", by {', '.join(body['by'])}" if body["by"] else ""),
        caption=f"facts as of {body['as_of'] or 'the last fold'}; totals in the last row",
    )
    columns = body["columns"]
    for column in columns:
        table.add_column(
            column, justify="left" if column == "period" or column in body["by"] else "right"
        )
    for row in body["rows"]:
        table.add_row(*(_cell(c, row.get(c)) for c in columns))
    if body["rows"] and len(body["rows"]) > 1:
        table.add_section()
        totals = body["totals"]
        labels = ["total"] + [""] * (len(columns) - len(totals) - 1)
        table.add_row(*labels, *(_cell(c, totals[c]) for c in columns[len(labels) :]))
    out.print(table)


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column == "period":
        return str(value)[:16].replace("T", " ")
    if column == "ctr":
        return f"{float(value):.2%}"
    if column in _MONEY:
        return f"{float(value):,.2f}"
    return str(value)


@click.group(invoke_without_command=True)
@click.option(
    "--from",
    "start",
    metavar="WHEN",
    help="Start: a date (2026-03-01) or an ISO time. Default: 30 days before --to.",
)
@click.option(
    "--to",
    "end",
    metavar="WHEN",
    help="End, exclusive; a date means the end of that day. Default: now.",
)
@click.option(
    "--by",
    multiple=True,
    metavar="DIM",
    help=f"Group by a dimension (repeat, or comma-separate): {_DIMENSIONS}.",
)
@click.option(
    "--interval",
    type=click.Choice(["hour", "day", "none"]),
    default="none",
    show_default=True,
    help="Rows per hour or per day.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the report as CSV.")
@click.option(
    "--recompute",
    is_flag=True,
    help="Rebuild the facts of the range from the logs first (with a progress bar).",
)
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write the fact tables of the range as Parquet under DIR instead (like `report export DIR`).",
)
@data_option
@click.pass_context
@friendly_errors
def report(
    ctx: click.Context, start: str | None, end: str | None, by: tuple[str, ...], interval: str,
    as_json: bool, as_csv: bool, recompute: bool, export_dir: Path | None, data_dir: Path | None,
) -> None:  # fmt: skip
    """Decisions and what they earned, by time and dimension (see docs/measurement.md).

    Metrics: decisions, impressions, clicks, CTR, add-to-carts, orders, attributed and
    engaged revenue, margin, revenue per decision, offer redemptions and budget spent.

    \b
    Examples:
      retailor report --by placement --interval day
      retailor report --from 2026-03-01 --to 2026-03-31 --by campaign --csv > march.csv
      retailor report --recompute --from 2026-03-01
      retailor report export ./warehouse --from 2026-03-01
    """
    if ctx.invoked_subcommand is not None:
        return
    if as_json and as_csv:
        _fail("choose one of --json and --csv")
    params = _params(start, end, by, interval)
    wanted = _request(params)
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.client is not None:
            client = target.client
            if recompute:
                done = client.recompute_reports(wanted.start.isoformat(), wanted.end.isoformat())
                console.print(
                    f"recomputed {done['decisions']} decisions and {done['orders']} orders "
                    f"in {done['seconds']:.1f} s"
                )
            if export_dir is not None:
                _exported(_through_server(client, export_dir, wanted), export_dir)
                return
            body = client.report(params)
        else:
            from retailor.analytics.reports import ReportError, Reports

            assert target.storage is not None and target.storage.facts is not None
            if recompute:
                _recompute_directly(settings, target.storage, wanted)
            reports = Reports(target.storage.facts)
            if export_dir is not None:
                try:
                    _exported(reports.export(export_dir, wanted), export_dir)
                except ReportError as exc:
                    _fail(str(exc))
                return
            found = reports.report(wanted)
            if as_csv:
                sys.stdout.write(found.to_csv())
                return
            body = msgspec.json.decode(msgspec.json.encode(found.to_json()))
    if as_json:
        sys.stdout.write(msgspec.json.encode(body).decode() + "\n")
    elif as_csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(body["columns"])
        for row in body["rows"]:
            writer.writerow(["" if row[c] is None else row[c] for c in body["columns"]])
    else:
        _show(body)


def _recompute_directly(settings: Any, storage: Any, wanted: Any) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from retailor.runtime.services import build_services

    console.print("[dim]loading the profiles from the event log…[/]")
    services = build_services(settings, storage, background=False)
    try:
        assert services.facts is not None
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("recomputing", total=1.0)

            def progress(fraction: float, step: str) -> None:
                bar.update(task, completed=fraction, description=f"recomputing {step}")

            done = services.facts.recompute(wanted.start, wanted.end, progress)
        console.print(
            f"recomputed {done.decisions} decisions and {done.orders} orders in {done.seconds:.1f} s"
        )
    finally:
        services.close()


def _through_server(client: Any, directory: Path, wanted: Any) -> dict[str, int]:
    """Export in the server's data directory, then move the files to ``directory``."""
    import secrets
    import shutil

    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        _fail(f"{directory} is not an empty directory: export into a new one")
    name = f"export-{secrets.token_hex(6)}"
    done = client.export_reports(name, wanted.start.isoformat(), wanted.end.isoformat())
    directory.parent.mkdir(parents=True, exist_ok=True)
    if directory.exists():
        directory.rmdir()
    written = Path(done["directory"])
    if written.exists():
        shutil.move(str(written), str(directory))
    else:
        directory.mkdir()
    return dict(done["rows"])


def _exported(rows: dict[str, int], directory: Path) -> None:
    listed = ", ".join(f"{table} {count}" for table, count in rows.items())
    console.print(
        f"exported to {directory}: {listed} rows ({'/'.join(['<table>', 'day=YYYY-MM-DD', 'part-0.parquet'])})"
    )


@report.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--from", "start", metavar="WHEN", help="Start (default: 30 days before --to).")
@click.option("--to", "end", metavar="WHEN", help="End, exclusive (default: now).")
@data_option
@friendly_errors
def export(directory: Path, start: str | None, end: str | None, data_dir: Path | None) -> None:
    """Write the fact tables (decisions, exposures, lines, orders) as Hive-partitioned
    Parquet under DIRECTORY: <table>/day=YYYY-MM-DD/part-0.parquet, for a warehouse.
    Rows of customers who withdrew their analytics consent are kept without their ids."""
    wanted = _request(_params(start, end, (), "none"))
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.client is not None:
            rows = _through_server(target.client, directory, wanted)
        else:
            from retailor.analytics.reports import ReportError, Reports
            from retailor.runtime.command import command_services
            from retailor.runtime.reporting import withhold

            assert target.storage is not None and target.storage.facts is not None
            facts = target.storage.facts
            # the profiles say who withdrew their analytics consent: left unnamed
            with command_services(settings, target.storage) as services:
                reports = Reports(facts, withheld=lambda d: withhold(d, services.profiles))
                try:
                    rows = reports.export(directory, wanted)
                except ReportError as exc:
                    _fail(str(exc))
                    return
    _exported(rows, directory)
