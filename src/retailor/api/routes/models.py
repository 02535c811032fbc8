"""Models: training jobs started on demand, and the active version of each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response
from retailor.api.problems import ProblemError
from retailor.domain.access import Scope
from retailor.models.families import DEFAULT_MODELS, known_models
from retailor.models.jobs import CLV, TrainingBusyError, TrainingJob
from retailor.models.summaries import ModelSummary, summarize
from retailor.storage.base import ModelRecord

KNOWN = (CLV, *known_models())


def _known(name: str) -> str:
    if name not in KNOWN:
        raise ProblemError(404, f"no model {name!r}; known models: {', '.join(KNOWN)}")
    return name


def _job_path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}"


def _start(ctx: AppContext, names: list[str]) -> Response:
    """202 with the new job and where to follow it; 409 while another job has not ended."""
    try:
        job = ctx.training.start(names)
    except TrainingBusyError as exc:
        running = exc.job
        raise ProblemError(
            409,
            f"training job {running.job_id} ({', '.join(running.models)}) is {running.status}; "
            f"follow it at {_job_path(running.job_id)} and start again once it has ended",
            title="Training under way",
            headers={"Location": _job_path(running.job_id)},
            job_id=running.job_id,
        ) from None
    return json_response(job, status=202, headers={"Location": _job_path(job.job_id)})


@endpoint(
    "POST",
    "/v1/models/train",
    summary="Start a training job",
    tag="models",
    scope=Scope.ADMIN,
    response=TrainingJob,
    status=202,
    query=(
        QueryParam(
            "models",
            "comma-separated model names, clv among them if wanted (default: every default "
            "recommender)",
            {"type": "string"},
        ),
    ),
    errors=(404, 409),
)
async def train_many(request: Request, ctx: AppContext) -> Response:
    """Starts training in the background and answers 202 at once with the job (its
    ``Location``: ``GET /v1/jobs/{job_id}``), which says how far it is and, once ended,
    the versions made. Each recommender is fitted, scored on the newest holdout, saved as
    a new version and activated when not worse than the active one; the blend reuses the
    sources fitted in the same run; ``clv`` is fitted on every profile and activated.
    One job at a time: while one has not ended, a start answers 409 with its ``job_id``."""
    raw = request.query_params.get("models", "")
    names = [n.strip() for n in raw.split(",") if n.strip()] or list(DEFAULT_MODELS)
    for name in names:
        _known(name)
    return _start(ctx, list(dict.fromkeys(names)))


@endpoint(
    "POST",
    "/v1/models/{name}/train",
    summary="Start a training job for one model",
    tag="models",
    scope=Scope.ADMIN,
    response=TrainingJob,
    status=202,
    errors=(404, 409),
)
async def train_model(request: Request, ctx: AppContext) -> Response:
    """``POST /v1/models/train?models={name}``: ``clv`` (BG/NBD and Gamma-Gamma lifetime
    value, fitted on every profile and activated) or a recommender (activated if its
    holdout allows)."""
    return _start(ctx, [_known(request.path_params["name"])])


@endpoint(
    "GET",
    "/v1/jobs/{job_id}",
    summary="A training job: status, progress, result",
    tag="models",
    scope=Scope.ADMIN,
    response=TrainingJob,
    errors=(404,),
)
async def get_job(request: Request, ctx: AppContext) -> Response:
    """``status`` is ``queued``, ``running``, ``succeeded`` or ``failed``; ``progress``
    counts the models done of ``total`` and says what runs now; ``result`` lists the
    versions made (also those made before a failure) and ``error`` why it failed. The
    newest 20 jobs are kept while the server runs."""
    job_id = request.path_params["job_id"]
    job = ctx.training.get(job_id)
    if job is None:
        raise ProblemError(
            404, f"no job {job_id!r}; the newest jobs are kept while the server runs"
        )
    return json_response(job)


@endpoint(
    "GET",
    "/v1/models/{name}",
    summary="The active version of a model",
    tag="models",
    scope=Scope.ADMIN,
    response=ModelRecord,
    errors=(404,),
)
async def get_model(request: Request, ctx: AppContext) -> Response:
    """Parameters and metrics of the active version."""
    name = _known(request.path_params["name"])
    record = ctx.storage.models.active(name)
    if record is None:
        raise ProblemError(
            404, f"model {name!r} has not been trained yet: retailor train --models {name}"
        )
    return json_response(record)


class ModelsOut(msgspec.Struct):
    as_of: datetime
    models: list[ModelSummary]


@endpoint(
    "GET",
    "/v1/models",
    summary="Every model: its versions, their holdout metrics, the active one's freshness",
    tag="models",
    scope=Scope.VIEW,
    response=ModelsOut,
)
async def list_models(request: Request, ctx: AppContext) -> Response:
    """Every model that has a version, by name: its versions oldest first (``active``
    marks the one in use) with the holdout metrics recorded when each was trained (@10,
    on the newest ``holdout_days`` of the history) and every other metric recorded; and
    the active version's freshness: ``trained_at``, ``age_seconds`` at ``as_of``, and
    ``events_since``, the events received since it was trained."""
    now = datetime.now(UTC)
    summaries = await asyncio.to_thread(summarize, ctx.storage.models, ctx.storage.events, now)
    return json_response(ModelsOut(as_of=now, models=summaries))
