"""Recommendations straight from a model: for a customer or visitor, and similar items."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response, query_int
from retailor.api.problems import ProblemError
from retailor.decision.offers import consented
from retailor.domain.access import Scope
from retailor.models.base import Context, Scored
from retailor.models.errors import NotTrainedError
from retailor.models.families import known_models


class Recommended(msgspec.Struct):
    item_id: str
    score: float
    source: str


class Recommendations(msgspec.Struct):
    model: str
    version: int | None
    customer: str | None
    items: list[Recommended]


def _list(request: Request, name: str) -> tuple[str, ...]:
    raw = request.query_params.get(name, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _model(request: Request, ctx: AppContext, default: str) -> str:
    name = request.query_params.get("model", default)
    if name not in known_models():
        raise ProblemError(404, f"no model {name!r}; known models: {', '.join(known_models())}")
    return name


MODEL = QueryParam("model", "which model answers (default: blend)", {"type": "string"})
K = QueryParam(
    "k", "how many items (1 to 200; default 10)", {"type": "integer", "minimum": 1, "maximum": 200}
)


@endpoint(
    "GET",
    "/v1/recommendations",
    summary="Recommended items for a customer or an anonymous visitor",
    tag="models",
    scope=Scope.SERVE,
    response=Recommendations,
    query=(
        QueryParam("customer_id", "the customer (any linked identifier: email:…, loyalty_card:…)", {"type": "string"}),
        QueryParam("anonymous_id", "the visitor's anonymous id, when not logged in", {"type": "string"}),
        MODEL, K,
        QueryParam("items", "items on screen or in the cart, comma-separated", {"type": "string"}),
        QueryParam("session_items", "the live session's items, oldest first, comma-separated", {"type": "string"}),
        QueryParam("exclude", "items never to return, comma-separated", {"type": "string"}),
        QueryParam("store_id", "the store, for store popularity", {"type": "string"}),
        QueryParam("category", "restrict popularity to a category", {"type": "string"}),
    ),
    errors=(404, 422),
)  # fmt: skip
async def recommendations(request: Request, ctx: AppContext) -> Response:
    """Answers for anyone: unknown customers get the cold-start answer (popular and
    trending items, or what goes with the context's items). The context's ``items`` and
    ``session_items`` are never returned themselves."""
    name = _model(request, ctx, "blend")
    k = query_int(request, "k", 10, 1, 200)
    customer_id = request.query_params.get("customer_id") or None
    anonymous_id = request.query_params.get("anonymous_id") or None
    if ctx.suppression is not None and ctx.suppression.names(customer_id, anonymous_id):
        customer_id = anonymous_id = None  # an erased person is served as a stranger
    await ctx.catch_up()
    # who asks, as decisions see it: an anonymous id is only ever a visitor id
    asking = ctx.decisions.engine.audience.who(customer_id, anonymous_id)
    personal = consented(asking.consent, "personalization", required=ctx.settings.consent_required)
    # without personalization consent: the answer for a stranger
    who = asking.key if personal else None
    raw = (customer_id or anonymous_id) if personal else None
    context = Context(
        session_items=_list(request, "session_items") if personal else (),
        items=_list(request, "items"),
        store_id=request.query_params.get("store_id") or None,
        category=request.query_params.get("category") or None,
    )

    # what is on screen, in the cart or was just viewed is never recommended back
    exclude = {*_list(request, "exclude"), *context.items, *_list(request, "session_items")}

    def answer() -> tuple[str, list[Scored]]:
        return ctx.models.recommend(name, who or raw, context, k, exclude)

    used, items = await _answered(name, answer)
    return _response(ctx, used, who, items)


@endpoint(
    "GET",
    "/v1/items/{item_id}/similar",
    summary="Items similar to an item (co-occurrence by default)",
    tag="models",
    scope=Scope.SERVE,
    response=Recommendations,
    query=(MODEL, K),
    errors=(404, 422),
)
async def similar(request: Request, ctx: AppContext) -> Response:
    """What goes with this item: ``item_item`` (bought or viewed by the same customers) by
    default; ``fbt``, ``viewed_together``, ``content``, ``als`` … on request."""
    name = _model(request, ctx, "item_item")
    k = query_int(request, "k", 10, 1, 200)
    item = request.path_params["item_id"]
    _, items = await _answered(name, lambda: (name, ctx.models.similar(name, [item], k)))
    return _response(ctx, name, None, items)


async def _answered(
    name: str, answer: Callable[[], tuple[str, list[Scored]]]
) -> tuple[str, list[Scored]]:
    """Run a model's answer off the event loop; an untrained model is a 404."""
    try:
        return await asyncio.to_thread(answer)
    except NotTrainedError:
        raise ProblemError(
            404, f"model {name!r} has not been trained yet: retailor train --models {name}"
        ) from None


def _response(ctx: AppContext, model: str, who: str | None, items: list[Scored]) -> Response:
    return json_response(
        Recommendations(
            model=model,
            version=ctx.models.versions.get(model),
            customer=who,
            items=[Recommended(s.item_id, round(s.score, 6), s.source) for s in items],
        )
    )
