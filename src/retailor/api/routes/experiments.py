"""Experiments and the global holdout: what marketers define to measure what Retailor
earns, effective for the very next decision on the server that stores them and within a
second on every other worker sharing the storage (``runtime/following.py``)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.reports import ReportError, parse_when
from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response, read_definition
from retailor.api.problems import ProblemError
from retailor.api.routes.placements import definition_problem
from retailor.decision.candidates import source_names
from retailor.decision.experiments import ExperimentConflictError
from retailor.domain.access import Scope
from retailor.domain.experiments import HOLDOUT_ID, Experiment, Holdout
from retailor.domain.ids import InvalidIdError
from retailor.domain.placements import DefinitionError
from retailor.experiments.reading import MAX_PRE_DAYS, Design, ResultsError, UnknownPhaseError
from retailor.experiments.results import DEFAULT_PRE_DAYS


class ExperimentOut(msgspec.Struct):
    experiment: Experiment


class ExperimentsOut(msgspec.Struct):
    experiments: list[Experiment]


class HoldoutOut(msgspec.Struct):
    holdout: Holdout


_SOURCE = {"enum": source_names()}
#: An experiment as sent: its variants' sources, fallbacks and model substitutions name
#: the server's candidate sources.
ExperimentIn = Annotated[
    Experiment,
    Meta(
        extra_json_schema={
            "properties": {
                "variants": {
                    "items": {
                        "properties": {
                            "placement": {
                                "properties": {
                                    "sources": {"items": {"properties": {"source": _SOURCE}}},
                                    "fallback": {"items": _SOURCE},
                                }
                            },
                            "models": {"propertyNames": _SOURCE, "additionalProperties": _SOURCE},
                        }
                    }
                }
            }
        }
    ),
]


def _experiment_out(ctx: AppContext, experiment_id: str) -> ExperimentOut:
    experiment = ctx.decisions.experiments.get(experiment_id)
    if experiment is None:
        raise ProblemError(
            404,
            f"no experiment {experiment_id!r}; define it with PUT /v1/experiments/{experiment_id}",
        )
    return ExperimentOut(experiment)


@endpoint(
    "PUT",
    "/v1/experiments/{experiment_id}",
    summary="Create or replace an experiment (JSON or YAML)",
    tag="experiments",
    scope=Scope.ADMIN,
    body=ExperimentIn,
    response=ExperimentOut,
    errors=(400, 409, 422),
    yaml_body=True,
)
async def put_experiment(request: Request, ctx: AppContext) -> Response:
    """Placements (one or more, each a default or defined placement), variants (``id``,
    ``weight`` — the weights sum to 1 —, and what each changes: a ``placement`` override,
    ``models`` (a source replaced by another), an ``offer_policy``, ``personalized:
    false``, client ``parameters``), the ``control`` variant and a ``status`` (``draft``,
    ``running`` — the default —, ``stopped``). Changing the weights or the set of
    variants starts a new ``phase``. A running experiment on a placement another running
    experiment has is a 409."""
    experiment_id = request.path_params["experiment_id"]
    if experiment_id == HOLDOUT_ID:
        raise ProblemError(
            409,
            f"{HOLDOUT_ID!r} is the global holdout's name (PUT /v1/holdout); pick another id",
            title="Reserved experiment id",
        )
    raw = await read_definition(request, ctx.settings.max_body_bytes)
    try:
        ctx.decisions.experiments.put(experiment_id, raw)
    except ExperimentConflictError as exc:
        raise ProblemError(409, str(exc), title="Overlapping experiments") from None
    except (DefinitionError, InvalidIdError) as exc:
        raise definition_problem(exc, "Invalid experiment definition") from None
    return json_response(_experiment_out(ctx, experiment_id))


@endpoint(
    "GET",
    "/v1/experiments/{experiment_id}",
    summary="An experiment's definition, phase and status",
    tag="experiments",
    scope=Scope.VIEW,
    response=ExperimentOut,
    errors=(404,),
)
async def get_experiment(request: Request, ctx: AppContext) -> Response:
    """The definition in force, with its ``phase`` and when it started."""
    return json_response(_experiment_out(ctx, request.path_params["experiment_id"]))


@endpoint(
    "DELETE",
    "/v1/experiments/{experiment_id}",
    summary="Remove an experiment",
    tag="experiments",
    scope=Scope.ADMIN,
    errors=(404, 422),
)
async def delete_experiment(request: Request, ctx: AppContext) -> Response:
    """204 when removed: its placements decide as they are defined from the next decision
    on. The decision log and the recorded exposures stay (its results can still be
    read); defined again, the experiment starts after the last phase recorded."""
    experiment_id = request.path_params["experiment_id"]
    try:
        removed = ctx.decisions.experiments.delete(experiment_id)
    except InvalidIdError as exc:
        raise ProblemError(422, str(exc)) from None
    if not removed:
        raise ProblemError(404, f"no experiment {experiment_id!r}")
    return Response(status_code=204)


@endpoint(
    "GET",
    "/v1/experiments",
    summary="Every experiment",
    tag="experiments",
    scope=Scope.VIEW,
    response=ExperimentsOut,
)
async def list_experiments(request: Request, ctx: AppContext) -> Response:
    """Drafts, running and stopped experiments, by id."""
    return json_response(ExperimentsOut(ctx.decisions.experiments.all()))


@endpoint(
    "PUT",
    "/v1/holdout",
    summary="Set the global holdout: a share of customers never personalized",
    tag="experiments",
    scope=Scope.ADMIN,
    body=Holdout,
    response=HoldoutOut,
    errors=(400, 422),
    yaml_body=True,
)
async def put_holdout(request: Request, ctx: AppContext) -> Response:
    """``{"share": 0.05}`` (0 to 0.5): that share of units (customers, else visitors) get
    the non-personalized answer on every placement and are in no experiment; decisions
    record ``holdout`` true or false. A new share starts a new phase."""
    raw = await read_definition(request, ctx.settings.max_body_bytes)
    try:
        holdout = ctx.decisions.experiments.put_holdout(raw)
    except DefinitionError as exc:
        raise definition_problem(exc, "Invalid holdout") from None
    return json_response(HoldoutOut(holdout))


@endpoint(
    "GET",
    "/v1/holdout",
    summary="The global holdout",
    tag="experiments",
    scope=Scope.VIEW,
    response=HoldoutOut,
    errors=(404,),
)
async def get_holdout(request: Request, ctx: AppContext) -> Response:
    """The share held out, its phase and when it started; 404 when there is none."""
    holdout = ctx.decisions.experiments.holdout
    if holdout is None:
        raise ProblemError(404, "no global holdout; set one with PUT /v1/holdout")
    return json_response(HoldoutOut(holdout))


@endpoint(
    "DELETE",
    "/v1/holdout",
    summary="Remove the global holdout",
    tag="experiments",
    scope=Scope.ADMIN,
    errors=(404,),
)
async def delete_holdout(request: Request, ctx: AppContext) -> Response:
    """204 when removed: everyone is personalized again (as their consent allows)."""
    if not ctx.decisions.experiments.delete_holdout():
        raise ProblemError(404, "no global holdout")
    return Response(status_code=204)


class EffectOut(msgspec.Struct, kw_only=True):
    """An effect with its 95 % interval, its p-value and (Holm) the p-value adjusted
    across the variant's metrics."""

    effect: float
    ci95: list[float]
    p_value: float
    p_value_holm: float | None = None


class SequentialOut(msgspec.Struct, kw_only=True):
    """The always-valid interval and p-value of the relative effect (safe to peek at)."""

    ci95: list[float]
    p_value: float


class CupedOut(msgspec.Struct, kw_only=True):
    """The same comparison with the pre-exposure covariate (CUPED), coefficient ``theta``."""

    theta: float
    absolute: EffectOut
    relative: EffectOut
    sequential: SequentialOut
    chance_to_win: float


class ComparisonOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One variant against the control on one metric."""

    variant: str
    metric: str
    control_mean: float
    variant_mean: float
    absolute: EffectOut
    relative: EffectOut
    sequential: SequentialOut
    chance_to_win: float
    warnings: list[str]
    cuped: CupedOut | None = None


class MetricOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A metric's summary statistics over a variant's units (a ratio metric also its
    denominator's sums and the cross product)."""

    n: int
    sum: float
    sum_squares: float
    mean: float
    denominator_sum: float | None = None
    denominator_sum_squares: float | None = None
    denominator_cross_sum: float | None = None


class VariantResultsOut(msgspec.Struct, kw_only=True):
    id: str
    weight: float
    units: int
    metrics: dict[str, MetricOut]


class WindowOut(msgspec.Struct, kw_only=True):
    from_: datetime | None = msgspec.field(name="from")
    to: datetime


class ResultsOut(msgspec.Struct, kw_only=True):
    """An experiment's results: see docs/measurement.md."""

    experiment: str
    phase: int
    status: str
    window: WindowOut
    pre_days: int
    cuped: bool
    as_of: datetime | None
    control: str
    variants: list[VariantResultsOut]
    comparisons: list[ComparisonOut]
    srm_p_value: float
    warnings: list[str]


def _design(ctx: AppContext, experiment_id: str) -> Design:
    if experiment_id == HOLDOUT_ID:
        holdout = ctx.decisions.experiments.holdout
        if holdout is None:
            raise ProblemError(404, "no global holdout; set one with PUT /v1/holdout")
        return Design.of_holdout(holdout)
    return Design.of_experiment(_experiment_out(ctx, experiment_id).experiment)


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ProblemError(400, f"{name} must be a whole number, not {raw!r}") from None


@endpoint(
    "GET",
    "/v1/experiments/{experiment_id}/results",
    summary="An experiment's results: units, summary statistics, effects and checks",
    tag="experiments",
    scope=Scope.VIEW,
    response=ResultsOut,
    query=(
        QueryParam("phase", "the phase to analyse (default: the current one)",
                   {"type": "integer", "minimum": 1}),
        QueryParam("to", "the end of the analysis window (default: now; a date means the end "
                   "of that day; between 1900-01-01 and 9000-01-01)",
                   {"type": "string", "format": "date-time"}),
        QueryParam("pre_days", f"days before each unit's first exposure that feed CUPED "
                   f"(default {DEFAULT_PRE_DAYS}; 0: none)",
                   {"type": "integer", "minimum": 0, "maximum": MAX_PRE_DAYS}),
    ),
    errors=(400, 404, 503),
)  # fmt: skip
async def experiment_results(request: Request, ctx: AppContext) -> Response:
    """For each variant its exposed ``units`` and the summary statistics (``n``, ``sum``,
    ``sum_squares``, ``mean``) of ``conversion``, ``revenue``, ``clicks``,
    ``redemptions`` and ``aov`` (a ratio metric) per unit, from the unit's first exposure
    to the end of the window, zeros included; ``comparisons`` of every other variant
    with the control (Welch t-test, delta method for relative effects and ratios, an
    always-valid sequential interval, Bayesian chance to win, Holm-adjusted p-values,
    CUPED figures when there is a pre-exposure period); ``srm_p_value`` against the
    configured weights and ``warnings``. ``holdout`` reads the global holdout."""
    reader = ctx.experiment_results
    if reader is None:
        raise ProblemError(503, "this server keeps no report facts, so no experiment results")
    unknown = sorted(set(request.query_params) - {"phase", "to", "pre_days"})
    if unknown:
        raise ProblemError(400, f"unknown parameter {unknown[0]!r}: use phase, to, pre_days")
    design = _design(ctx, request.path_params["experiment_id"])
    phase = _int_param(request, "phase")
    pre_days = _int_param(request, "pre_days")
    end: datetime | None = None
    if (raw := request.query_params.get("to")) is not None:
        try:
            end = parse_when(raw, "to", end=True)
        except ReportError as exc:
            raise ProblemError(400, str(exc)) from None
    await ctx.catch_up()
    try:
        document = await asyncio.to_thread(
            reader.results,
            design,
            phase=phase,
            end=end,
            pre_days=DEFAULT_PRE_DAYS if pre_days is None else pre_days,
        )
    except UnknownPhaseError as exc:
        raise ProblemError(404, str(exc)) from None
    except ResultsError as exc:
        raise ProblemError(400, str(exc)) from None
    return json_response(msgspec.convert(document, ResultsOut))
