"""Experiments, ``/dashboard/experiments`` and ``/dashboard/experiments/{id}``: the list
of experiments (their definitions) and the global holdout, and one experiment's results —
per variant its units and metric means; per comparison the relative effect with its 95 %
interval and its always-valid interval drawn, chance to win, Holm p-value, CUPED figures;
the sample ratio check; the sequential status and a verdict in words.

The results are ``ExperimentResults.results``, the function
``GET /v1/experiments/{id}/results`` answers with (the current phase unless ``phase``
says otherwise, the window up to now); the definitions are the experiment book's, as
``GET /v1/experiments`` and ``GET /v1/holdout`` answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from retailor.dashboard.context import DashboardContext
from retailor.dashboard.registry import page
from retailor.dashboard.rendering import render
from retailor.dashboard.sessions import Session
from retailor.dashboard.verdicts import (
    METRIC_LABELS,
    overall_status,
    srm_broken,
    status,
    verdict,
)
from retailor.domain.experiments import HOLDOUT_ID
from retailor.experiments.checks import SRM_THRESHOLD
from retailor.experiments.reading import Design, UnknownPhaseError
from retailor.experiments.results import METRICS


@page("/experiments")
async def experiments(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """The list of experiments and the holdout."""
    book = ctx.decisions.experiments
    return render(
        request,
        "experiments.html",
        title="Experiments",
        experiments=sorted(book.all(), key=lambda e: e.experiment_id),
        holdout=book.holdout,
        holdout_id=HOLDOUT_ID,
    )


def _design(ctx: DashboardContext, experiment_id: str) -> Design:
    book = ctx.decisions.experiments
    if experiment_id == HOLDOUT_ID:
        holdout = book.holdout
        if holdout is None:
            raise HTTPException(404, "There is no global holdout.")
        return Design.of_holdout(holdout)
    experiment = book.get(experiment_id)
    if experiment is None:
        raise HTTPException(404, "There is no experiment with this id.")
    return Design.of_experiment(experiment)


def _phase(request: Request) -> int | None:
    raw = request.query_params.get("phase")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 6:
        raise HTTPException(400, "phase must be a whole number (1 or more).")
    return int(raw)


def interval_chart(document: dict[str, Any]) -> dict[str, Any]:
    """The JSON of the interval chart (``intervals.js``): one row per variant and metric,
    the relative effect, its 95 % interval and its always-valid interval."""
    rows = []
    for c in document["comparisons"]:
        rows.append(
            {
                "label": f"{c['variant']} · {c['metric']}",
                "effect": c["relative"]["effect"],
                "low": c["relative"]["ci95"][0],
                "high": c["relative"]["ci95"][1],
                "seq_low": c["sequential"]["ci95"][0],
                "seq_high": c["sequential"]["ci95"][1],
            }
        )
    return {
        "title": f"Relative effect against {document['control']}, with intervals",
        "rows": rows,
    }


def comparison_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The comparisons with their verdict and status in words."""
    control = document["control"]
    return [
        {**c, "verdict": verdict(c, control), "status": status(c)} for c in document["comparisons"]
    ]


def variant_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each variant: weight, units, the observed share of units and the metric means."""
    total = sum(v["units"] for v in document["variants"])
    weights = sum(v["weight"] for v in document["variants"]) or 1.0
    return [
        {
            **v,
            "expected_share": v["weight"] / weights,
            "share": v["units"] / total if total else None,
            "means": {m: v["metrics"][m]["mean"] for m in METRICS if m in v["metrics"]},
            "is_control": v["id"] == document["control"],
        }
        for v in document["variants"]
    ]


@page("/experiments/{experiment_id}")
async def experiment(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """One experiment's results (or the holdout's)."""
    experiment_id = request.path_params["experiment_id"]
    design = _design(ctx, experiment_id)
    if ctx.experiment_results is None:
        raise HTTPException(503, "This server keeps no report facts, so no experiment results.")
    phase = _phase(request)
    try:
        await ctx.catch_up()  # who is who as of every acknowledged event, as the API does
        document = await asyncio.to_thread(ctx.experiment_results.results, design, phase=phase)
    except UnknownPhaseError as exc:
        raise HTTPException(404, str(exc)) from None
    definition = (
        None if experiment_id == HOLDOUT_ID else ctx.decisions.experiments.get(experiment_id)
    )
    comparisons = comparison_rows(document)
    return render(
        request,
        "experiment.html",
        title="Holdout" if definition is None else f"Experiment {experiment_id}",
        experiment_id=experiment_id,
        definition=definition,
        holdout=ctx.decisions.experiments.holdout if definition is None else None,
        results=document,
        variants=variant_rows(document),
        comparisons=comparisons,
        metrics=METRICS,
        metric_labels=METRIC_LABELS,
        sequential_status=overall_status(comparisons),
        srm_broken=srm_broken(document["srm_p_value"]),
        srm_threshold=SRM_THRESHOLD,
        chart=interval_chart(document),
    )
