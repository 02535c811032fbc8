"""``retailor experiments results ID``: an experiment's results as tables (or JSON), through
the server running on the data directory when there is one, else from its stores (the
profiles are rebuilt from the event log first, so that a login after exposure counts)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import msgspec
from rich.table import Table

from retailor.cli.common import console, out, reach_data, settings_from

#: How a comparison reads in words, by its sequential (always-valid) p-value.
SIGNIFICANT = 0.05


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def _verdict(comparison: dict[str, Any]) -> str:
    sequential = comparison["sequential"]
    low = sequential["ci95"][0]
    if comparison["warnings"]:
        return str(comparison["warnings"][0])
    if sequential["p_value"] < SIGNIFICANT:
        return "better than the control" if low > 0 else "worse than the control"
    return "no difference shown yet"


def show_results(document: dict[str, Any]) -> None:
    """Variants and their units, then every comparison with the control."""
    window = document["window"]
    start = window["from"] or "no exposure yet"
    out.print(
        f"[bold]{document['experiment']}[/] phase {document['phase']} ({document['status']}), "
        f"control [bold]{document['control']}[/]; from {start} to {window['to']}"
        + (f"; CUPED over {document['pre_days']} days before exposure" if document["cuped"] else "")
    )
    variants = Table(title="Units and means per unit", title_justify="left")
    for column in ("variant", "weight", "units", "conversion", "revenue", "clicks", "redemptions", "aov"):  # fmt: skip
        variants.add_column(column, justify="left" if column == "variant" else "right")
    for v in document["variants"]:
        m = v["metrics"]
        variants.add_row(
            v["id"], f"{v['weight']:g}", f"{v['units']:,}", f"{m['conversion']['mean'] * 100:.2f}%",
            f"{m['revenue']['mean']:.2f}", f"{m['clicks']['mean']:.3f}",
            f"{m['redemptions']['mean']:.3f}", f"{m['aov']['mean']:.2f}",
        )  # fmt: skip
    out.print(variants)
    if document["comparisons"]:
        table = Table(title="Against the control (relative effects)", title_justify="left")
        for column in ("variant", "metric", "effect", "95% interval", "p (Holm)", "always-valid 95%", "chance to win", "reading"):  # fmt: skip
            table.add_column(column, justify="left" if column in ("variant", "metric", "reading") else "right")  # fmt: skip
        for c in document["comparisons"]:
            relative = c.get("cuped", c)["relative"]
            low, high = relative["ci95"]
            slow, shigh = c["sequential"]["ci95"]
            table.add_row(
                c["variant"], c["metric"] + (" (CUPED)" if "cuped" in c else ""),
                _pct(relative["effect"]), f"{_pct(low)} to {_pct(high)}",
                f"{relative.get('p_value_holm', relative['p_value']):.3f}",
                f"{_pct(slow)} to {_pct(shigh)}", f"{c['chance_to_win'] * 100:.0f}%", _verdict(c),
            )  # fmt: skip
        out.print(table)
    out.print(f"sample ratio check: p = {document['srm_p_value']:.3g}")
    for warning in document["warnings"]:
        out.print(f"[yellow]warning: {warning}[/]")


def _direct(
    storage: Any, settings: Any, experiment_id: str, query: dict[str, Any]
) -> dict[str, Any]:
    from retailor.analytics.reports import Reports
    from retailor.domain.experiments import HOLDOUT_ID
    from retailor.experiments.reading import Design
    from retailor.runtime.reporting import experiment_results_of
    from retailor.runtime.services import build_services

    console.print("[dim]loading the profiles from the event log…[/]")
    services = build_services(settings, storage, background=False)
    try:
        book = services.decisions.experiments
        if experiment_id == HOLDOUT_ID:
            if book.holdout is None:
                raise click.ClickException("no global holdout; set one with PUT /v1/holdout")
            design = Design.of_holdout(book.holdout)
        else:
            experiment = book.get(experiment_id)
            if experiment is None:
                raise click.ClickException(
                    f"no experiment {experiment_id!r}; see them with: retailor experiments list"
                )
            design = Design.of_experiment(experiment)
        facts = storage.facts
        reports = Reports(facts, services.facts, catch_up=True) if facts is not None else None
        reader = experiment_results_of(services, reports)
        if reader is None:
            raise click.ClickException("these stores keep no report facts")
        return reader.results(design, **query)
    finally:
        services.close()


def results_command(
    experiment_id: str,
    phase: int | None,
    end: datetime | None,
    pre_days: int | None,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Fetch (or compute) the results and print them."""
    from retailor.experiments.reading import ResultsError

    settings = settings_from(data_dir)
    query: dict[str, Any] = {}
    if phase is not None:
        query["phase"] = phase
    if pre_days is not None:
        query["pre_days"] = pre_days
    with reach_data(settings) as target:
        if target.client is not None:
            params = {k: str(v) for k, v in query.items()}
            if end is not None:
                params["to"] = end.isoformat()
            document = target.client.experiment_results(experiment_id, **params)
        else:
            if end is not None:
                query["end"] = end
            try:
                document = _direct(target.storage, settings, experiment_id, query)
            except ResultsError as exc:
                raise click.ClickException(str(exc)) from None
            document = msgspec.json.decode(msgspec.json.encode(document))
    if as_json:
        sys.stdout.write(msgspec.json.encode(document).decode() + "\n")
    else:
        show_results(document)
