"""Segments: definitions, their size and members, and customers by segment."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import MAX_OFFSET, json_response, query_int, read_definition
from retailor.api.problems import ProblemError
from retailor.api.segment_grammar import SegmentDefinition
from retailor.domain.access import Scope
from retailor.domain.ids import DefinitionId
from retailor.profiles.segments import SegmentError
from retailor.storage.files.segments import InvalidSegmentIdError

PAGE = (
    QueryParam(
        "limit",
        "page size (1 to 10,000; default 1,000)",
        {"type": "integer", "minimum": 1, "maximum": 10000},
    ),
    QueryParam(
        "offset", "members to skip", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
    ),
)


class SegmentOut(msgspec.Struct):
    segment_id: str
    definition: dict[str, Any]
    size: int
    evaluated_at: str | None


class MembersOut(msgspec.Struct):
    segment_id: str
    total: int
    members: list[str]
    next_offset: int | None


class CustomerSummary(msgspec.Struct):
    customer_id: str
    traits: dict[str, Any]


class CustomersOut(msgspec.Struct):
    total: int
    customers: list[CustomerSummary]
    next_offset: int | None


async def _membership(ctx: AppContext, segment_id: str) -> tuple[Any, Any]:
    try:
        stored = ctx.segments.store.get(segment_id)
    except InvalidSegmentIdError as exc:
        raise ProblemError(422, str(exc)) from None
    if stored is None:
        raise ProblemError(
            404, f"no segment {segment_id!r}; create it with PUT /v1/segments/{segment_id}"
        )
    membership = await asyncio.to_thread(ctx.segments.members, segment_id)
    return stored, membership


@endpoint(
    "PUT",
    "/v1/segments/{segment_id}",
    summary="Create or replace a segment definition (JSON or YAML)",
    tag="segments",
    scope=Scope.ADMIN,
    body=SegmentDefinition,
    response=SegmentOut,
    yaml_body=True,
)
async def put_segment(request: Request, ctx: AppContext) -> Response:
    """A definition over traits and events in time windows, e.g. bought in category Shoes at
    least twice in the last 90 days and not in the last 30. Send JSON, or YAML with
    ``Content-Type: application/yaml``. A definition that does not parse or names an
    unknown trait is a 422 whose ``where`` says where."""
    segment_id = request.path_params["segment_id"]
    definition = await read_definition(request, ctx.settings.max_body_bytes)
    try:
        ctx.segments.put(segment_id, definition)
    except SegmentError as exc:
        raise ProblemError(
            422, str(exc), title="Invalid segment definition", where=exc.where
        ) from None
    except InvalidSegmentIdError as exc:
        raise ProblemError(422, str(exc)) from None
    return await get_segment(request, ctx)


@endpoint(
    "GET",
    "/v1/segments/{segment_id}",
    summary="A segment's definition and size",
    tag="segments",
    scope=Scope.ADMIN,
    response=SegmentOut,
    errors=(404, 422),
)
async def get_segment(request: Request, ctx: AppContext) -> Response:
    """The definition and how many customers are in the segment now."""
    stored, membership = await _membership(ctx, request.path_params["segment_id"])
    return json_response(
        SegmentOut(
            segment_id=stored.segment_id,
            definition=stored.definition,
            size=len(membership.members),
            evaluated_at=membership.evaluated_at.isoformat() if membership.evaluated_at else None,
        )
    )


@endpoint(
    "GET",
    "/v1/segments/{segment_id}/members",
    summary="The customers in a segment, a page at a time",
    tag="segments",
    scope=Scope.ADMIN,
    response=MembersOut,
    query=PAGE,
    errors=(404, 422),
)
async def segment_members(request: Request, ctx: AppContext) -> Response:
    """Canonical customer ids in a stable order; follow ``next_offset`` for the next page."""
    limit = query_int(request, "limit", 1000, 1, 10_000)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    stored, membership = await _membership(ctx, request.path_params["segment_id"])
    page = membership.members[offset : offset + limit]
    following = offset + limit if offset + limit < len(membership.members) else None
    return json_response(MembersOut(stored.segment_id, len(membership.members), page, following))


@endpoint(
    "GET",
    "/v1/customers",
    summary="Customers in a segment, with their traits",
    tag="customers",
    scope=Scope.ADMIN,
    response=CustomersOut,
    query=(
        QueryParam("segment", "segment id", msgspec.json.schema(DefinitionId), required=True),
        *PAGE,
    ),
    errors=(404, 422),
)
async def list_customers(request: Request, ctx: AppContext) -> Response:
    """A page of the customers in ``segment`` with their computed traits."""
    segment_id = request.query_params.get("segment")
    if not segment_id:
        raise ProblemError(422, "give ?segment=ID (listing the whole base is not offered)")
    limit = query_int(request, "limit", 100, 1, 10_000)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    _, membership = await _membership(ctx, segment_id)
    page = []
    for key in membership.members[offset : offset + limit]:
        view = ctx.profiles.view(key)
        if view is not None:
            page.append(CustomerSummary(customer_id=key, traits=view.traits))
    following = offset + limit if offset + limit < len(membership.members) else None
    return json_response(CustomersOut(len(membership.members), page, following))
