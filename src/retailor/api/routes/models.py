"""Models: training on demand and the active version of each."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response
from retailor.api.problems import ProblemError
from retailor.domain.access import Scope
from retailor.models.families import DEFAULT_MODELS, known_models
from retailor.storage.base import ModelRecord

KNOWN = ("clv", *known_models())


class TrainedVersion(msgspec.Struct):
    """A version a training run produced, and whether the gate activated it."""

    name: str
    version: int
    activated: bool
    gate: str
    metrics: dict[str, Any]


class TrainingRun(msgspec.Struct):
    models: list[TrainedVersion]


def _known(name: str) -> str:
    if name not in KNOWN:
        raise ProblemError(404, f"no model {name!r}; known models: {', '.join(KNOWN)}")
    return name


@endpoint(
    "POST",
    "/v1/models/{name}/train",
    summary="Train a model now and make the new version active",
    tag="models",
    scope=Scope.ADMIN,
    response=ModelRecord,
    errors=(404, 409),
)
async def train_model(request: Request, ctx: AppContext) -> Response:
    """Fit ``clv`` (BG/NBD and Gamma-Gamma lifetime value) on every profile and activate
    it; or fit a recommender from the event log (activated if its holdout allows)."""
    name = _known(request.path_params["name"])
    if name != "clv":
        run = await _train(ctx, [name])
        return json_response(ctx.storage.models.versions(name)[-1] if run.models else None)

    def train() -> ModelRecord:
        model, metrics = ctx.profiles.train_lifetime()
        return ctx.storage.models.save(name, model.params(), metrics)

    try:
        record = await asyncio.to_thread(train)
    except ValueError as exc:
        raise ProblemError(409, str(exc), title="Not enough data") from None
    return json_response(record)


async def _train(ctx: AppContext, names: list[str]) -> TrainingRun:
    try:
        outcomes = await asyncio.to_thread(ctx.models.train, names)
    except ValueError as exc:
        raise ProblemError(409, str(exc), title="Cannot train") from None
    return TrainingRun(
        models=[
            TrainedVersion(o.name, o.record.version, o.activated, o.reason, o.record.metrics)
            for o in outcomes
        ]
    )


@endpoint(
    "POST",
    "/v1/models/train",
    summary="Train recommenders from the event log now",
    tag="models",
    scope=Scope.ADMIN,
    response=TrainingRun,
    query=(
        QueryParam(
            "models",
            "comma-separated model names (default: every default model)",
            {"type": "string"},
        ),
    ),
    errors=(404, 409),
)
async def train_many(request: Request, ctx: AppContext) -> Response:
    """Each model is fitted, scored on the newest holdout, saved as a new version and
    activated when not worse than the active one; the blend reuses the sources fitted in
    the same run. Runs in the background of the server; answers keep flowing."""
    raw = request.query_params.get("models", "")
    names = [n.strip() for n in raw.split(",") if n.strip()] or list(DEFAULT_MODELS)
    for name in names:
        if name not in known_models():
            raise ProblemError(404, f"no model {name!r}; known models: {', '.join(known_models())}")
    return json_response(await _train(ctx, names))


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
