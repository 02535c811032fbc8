"""Models: training on demand and the active version of each."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import endpoint
from retailor.api.http import json_response
from retailor.api.problems import ProblemError
from retailor.domain.access import Scope
from retailor.storage.base import ModelRecord

KNOWN = ("clv",)


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
    """Fit ``clv`` (BG/NBD and Gamma-Gamma lifetime value) on every profile and activate it."""
    name = _known(request.path_params["name"])

    def train() -> ModelRecord:
        model, metrics = ctx.profiles.train_lifetime()
        return ctx.storage.models.save(name, model.params(), metrics)

    try:
        record = await asyncio.to_thread(train)
    except ValueError as exc:
        raise ProblemError(409, str(exc), title="Not enough data") from None
    return json_response(record)


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
