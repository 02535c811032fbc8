"""Customers: the single customer view, a customer's events and how their identifiers
were linked (``decision.customers``, which the dashboard's customer pages read too).
Reads for people: a view key may call them."""

from __future__ import annotations

import asyncio

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response, query_int
from retailor.api.problems import ProblemError
from retailor.api.schemas import CustomerOut, IdentifierOut, Timeline
from retailor.decision import customers as customer_360
from retailor.domain.access import Scope

LIMIT = QueryParam(
    "limit",
    "how many events (1 to 1,000; default 100)",
    {"type": "integer", "minimum": 1, "maximum": 1000},
)


async def known_customer(ctx: AppContext, identifier: str) -> str:
    """The canonical customer of ``identifier`` after catching up (a 404 problem when no
    one is known by it)."""
    await ctx.catch_up()  # a profile shows every event acknowledged by any worker
    key = ctx.profiles.resolve(identifier)
    if key is None:
        raise ProblemError(
            404,
            f"no customer known by {identifier!r}; give a customer id, an anonymous id, or "
            "email:…, phone:…, loyalty_card:…, payment_token:…",
        )
    return key


@endpoint(
    "GET",
    "/v1/customers/{customer_id}",
    summary="The single customer view",
    tag="customers",
    scope=Scope.VIEW,
    response=CustomerOut,
    errors=(404,),
)
async def get_customer(request: Request, ctx: AppContext) -> Response:
    """One customer by any linked identifier: the canonical customer id, every identifier
    (emails, phones and payment tokens only as salted hashes), computed traits, segments,
    consent per purpose and the most recent events of every linked identifier."""
    key = await known_customer(ctx, request.path_params["customer_id"])
    view = customer_360.customer_view(ctx.profiles, ctx.segments, key)  # memory only
    if view is None:
        raise ProblemError(404, f"no profile for {key!r}")
    return json_response(
        CustomerOut(
            customer_id=view.key,
            identifiers=[IdentifierOut(kind=r.kind.value, value=r.value) for r in view.identifiers],
            traits=view.traits,
            segments=view.segments,
            consent=view.consent,
            recent_events=[msgspec.Raw(encoded) for encoded in view.recent],  # type: ignore[misc]
            consent_at=view.consent_at,
        )
    )


@endpoint(
    "GET",
    "/v1/customers/{customer_id}/events",
    summary="A customer's events, newest first",
    tag="customers",
    scope=Scope.VIEW,
    response=Timeline,
    query=(LIMIT,),
    errors=(404, 422),
)
async def customer_events(request: Request, ctx: AppContext) -> Response:
    """The newest events of a customer and of every identifier linked to it (anonymous
    browsing before a login included)."""
    identifier = request.path_params["customer_id"]
    limit = query_int(request, "limit", 100, 1, ctx.settings.timeline_max)
    await ctx.catch_up()
    events = await asyncio.to_thread(
        customer_360.customer_events, ctx.profiles, ctx.storage.events, identifier, limit
    )
    if not events:
        raise ProblemError(404, f"no events for customer {identifier!r}")
    return json_response(Timeline(events=events))


class MergeOut(msgspec.Struct):
    at: str
    event_id: str
    kept: str
    absorbed: str
    via: str
    refused: str | None


class IdentityOut(msgspec.Struct):
    customer_id: str
    identifiers: list[IdentifierOut]
    merges: list[MergeOut]


@endpoint(
    "GET",
    "/v1/customers/{customer_id}/identity",
    summary="How a customer's identifiers were linked",
    tag="customers",
    scope=Scope.VIEW,
    response=IdentityOut,
    errors=(404,),
)
async def customer_identity(request: Request, ctx: AppContext) -> Response:
    """Every merge that made this customer (which identifier linked what, in which event)
    and every link the guard rails refused, with the reason."""
    key = await known_customer(ctx, request.path_params["customer_id"])
    records = customer_360.customer_merges(ctx.profiles, key)
    return json_response(
        IdentityOut(
            customer_id=key,
            identifiers=[
                IdentifierOut(kind=r.kind.value, value=r.value)
                for r in ctx.profiles.graph.members(key)
            ],
            merges=[
                MergeOut(
                    at=r.at.isoformat(),
                    event_id=r.event_id,
                    kept=r.kept,
                    absorbed=r.absorbed,
                    via=r.via,
                    refused=r.refused,
                )
                for r in records
            ],
        )
    )
