"""Placements and offers: what merchandisers and marketers define, effective at once."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import endpoint
from retailor.api.http import json_response, read_definition
from retailor.api.problems import ProblemError
from retailor.decision.candidates import source_names
from retailor.domain.access import Scope
from retailor.domain.ids import InvalidIdError
from retailor.domain.offers import DocumentedOffer, Offer
from retailor.domain.placements import DefinitionError, Placement


class PlacementOut(msgspec.Struct):
    placement: Placement
    default: bool


class PlacementsOut(msgspec.Struct):
    placements: list[PlacementOut]


class OfferOut(msgspec.Struct):
    offer: Offer
    redemptions: int
    spent: float


class OffersOut(msgspec.Struct):
    offers: list[OfferOut]


_SOURCE = {"enum": source_names()}
#: A placement as sent: its sources and fallbacks name the server's candidate sources.
PlacementIn = Annotated[
    Placement,
    Meta(
        extra_json_schema={
            "properties": {
                "sources": {"items": {"properties": {"source": _SOURCE}}},
                "fallback": {"items": _SOURCE},
            }
        }
    ),
]


def definition_problem(exc: Exception, title: str) -> ProblemError:
    """A 422 whose ``where`` names the JSON path of the mistake."""
    return ProblemError(422, str(exc), title=title)


def unknown_placement(ctx: AppContext, placement_id: str) -> ProblemError:
    """The 404 for a placement that is neither a default nor defined."""
    known = ", ".join(sorted(ctx.decisions.placements.all()))
    return ProblemError(
        404,
        f"no placement {placement_id!r}; known: {known}. "
        f"Define it with PUT /v1/placements/{placement_id}",
    )


def _placement_out(ctx: AppContext, placement_id: str) -> PlacementOut:
    placement = ctx.decisions.placements.get(placement_id)
    if placement is None:
        raise unknown_placement(ctx, placement_id)
    return PlacementOut(placement, ctx.decisions.placements.is_default(placement_id))


@endpoint(
    "PUT",
    "/v1/placements/{placement_id}",
    summary="Create or replace a placement's strategy (JSON or YAML)",
    tag="decisions",
    scope=Scope.ADMIN,
    body=PlacementIn,
    response=PlacementOut,
    errors=(400, 422),
    yaml_body=True,
)
async def put_placement(request: Request, ctx: AppContext) -> Response:
    """Sources (weights or slot quotas), rules, diversity, fallbacks, default ``k`` and
    number of offers. Effective for the very next decision. A definition that does not
    validate is a 422 whose ``where`` names the field (e.g. ``$.rules[2].kind``)."""
    placement_id = request.path_params["placement_id"]
    raw = await read_definition(request, ctx.settings.max_body_bytes)
    try:
        ctx.decisions.placements.put(placement_id, raw)
    except (DefinitionError, InvalidIdError) as exc:
        raise definition_problem(exc, "Invalid placement definition") from None
    return json_response(_placement_out(ctx, placement_id))


@endpoint(
    "GET",
    "/v1/placements/{placement_id}",
    summary="A placement's strategy",
    tag="decisions",
    scope=Scope.ADMIN,
    response=PlacementOut,
    errors=(404,),
)
async def get_placement(request: Request, ctx: AppContext) -> Response:
    """The definition in force (``default`` tells whether it is the packaged one)."""
    return json_response(_placement_out(ctx, request.path_params["placement_id"]))


@endpoint(
    "DELETE",
    "/v1/placements/{placement_id}",
    summary="Remove a placement you defined",
    tag="decisions",
    scope=Scope.ADMIN,
    errors=(404, 409),
)
async def delete_placement(request: Request, ctx: AppContext) -> Response:
    """204 when removed, 404 when there was none. A default placement is never removed
    (409): ``DELETE /v1/placements/{placement_id}/definition`` brings back its packaged
    definition."""
    placement_id = request.path_params["placement_id"]
    if placement_id in ctx.decisions.placements.defaults:
        raise ProblemError(
            409,
            f"{placement_id!r} is a default placement: it stays. Change it with PUT, or bring "
            f"back its packaged definition with DELETE /v1/placements/{placement_id}/definition",
            title="Default placement",
        )
    return await delete_definition(request, ctx)


@endpoint(
    "DELETE",
    "/v1/placements/{placement_id}/definition",
    summary="Remove a placement's stored definition (a default one goes back to its package)",
    tag="decisions",
    scope=Scope.ADMIN,
    errors=(404,),
)
async def delete_definition(request: Request, ctx: AppContext) -> Response:
    """204 when a stored definition was removed (a default placement is then the packaged
    one again, any other is gone), 404 when there was none."""
    placement_id = request.path_params["placement_id"]
    try:
        removed = ctx.decisions.placements.delete(placement_id)
    except InvalidIdError as exc:
        raise ProblemError(422, str(exc)) from None
    if not removed:
        raise ProblemError(404, f"no stored definition of placement {placement_id!r}")
    return Response(status_code=204)


@endpoint(
    "GET",
    "/v1/placements",
    summary="Every placement in force",
    tag="decisions",
    scope=Scope.ADMIN,
    response=PlacementsOut,
)
async def list_placements(request: Request, ctx: AppContext) -> Response:
    """Defaults (home, product_detail, cart, checkout, search, category, email, push,
    pos_receipt, kiosk) and your own."""
    book = ctx.decisions.placements
    return json_response(
        PlacementsOut(
            [PlacementOut(p, book.is_default(pid)) for pid, p in sorted(book.all().items())]
        )
    )


def _offer_out(ctx: AppContext, offer_id: str) -> OfferOut:
    offer = ctx.decisions.offers.get(offer_id)
    if offer is None:
        raise ProblemError(404, f"no offer {offer_id!r}; create it with PUT /v1/offers/{offer_id}")
    redemptions, spent = ctx.decisions.ledger.usage(offer_id)
    return OfferOut(offer, redemptions, round(spent, 2))


@endpoint(
    "PUT",
    "/v1/offers/{offer_id}",
    summary="Create or replace an offer (JSON or YAML)",
    tag="decisions",
    scope=Scope.ADMIN,
    body=DocumentedOffer,
    response=OfferOut,
    errors=(400, 422),
    yaml_body=True,
)
async def put_offer(request: Request, ctx: AppContext) -> Response:
    """Kind (percent_off, amount_off, free_shipping, points_multiplier, bundle), scope,
    targeting, schedule, budget and redemption limit, frequency cap, minimum basket,
    consent purpose and cost. Eligible from the next decision on."""
    offer_id = request.path_params["offer_id"]
    raw = await read_definition(request, ctx.settings.max_body_bytes)
    try:
        ctx.decisions.offers.put(offer_id, raw)
    except (DefinitionError, InvalidIdError) as exc:
        raise definition_problem(exc, "Invalid offer definition") from None
    return json_response(_offer_out(ctx, offer_id))


@endpoint(
    "GET",
    "/v1/offers/{offer_id}",
    summary="An offer with its redemptions and spend so far",
    tag="decisions",
    scope=Scope.ADMIN,
    response=OfferOut,
    errors=(404,),
)
async def get_offer(request: Request, ctx: AppContext) -> Response:
    """The definition, redemptions counted and budget spent."""
    return json_response(_offer_out(ctx, request.path_params["offer_id"]))


@endpoint(
    "DELETE",
    "/v1/offers/{offer_id}",
    summary="Remove an offer",
    tag="decisions",
    scope=Scope.ADMIN,
    errors=(404,),
)
async def delete_offer(request: Request, ctx: AppContext) -> Response:
    """204 when removed; it is never offered again."""
    offer_id = request.path_params["offer_id"]
    try:
        removed = ctx.decisions.offers.delete(offer_id)
    except InvalidIdError as exc:
        raise ProblemError(422, str(exc)) from None
    if not removed:
        raise ProblemError(404, f"no offer {offer_id!r}")
    return Response(status_code=204)


@endpoint(
    "GET",
    "/v1/offers",
    summary="Every offer with its redemptions and spend",
    tag="decisions",
    scope=Scope.VIEW,
    response=OffersOut,
)
async def list_offers(request: Request, ctx: AppContext) -> Response:
    """All offers, active or not."""
    return json_response(
        OffersOut([_offer_out(ctx, o.offer_id) for o in ctx.decisions.offers.all()])
    )
