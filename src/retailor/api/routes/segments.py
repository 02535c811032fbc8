"""Segments: definitions, their size and members, and customers by segment (the export
of a segment: only those who may be contacted for the export's ``purpose``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import Future
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
from retailor.domain.ids import DefinitionId, InvalidIdError, check_definition_id
from retailor.privacy.consent import PURPOSES, UnknownPurposeError, check_purpose
from retailor.profiles.segment_export import DEFAULT_PURPOSE, contactable
from retailor.profiles.segmentation import Membership, SegmentBuildingError
from retailor.profiles.segments import MAX_DEFINITION_BYTES, SegmentError

#: how long a PUT waits for a new definition's event counts before answering "building"
PUT_WAIT_SECONDS = 10.0
#: how long a read of a segment's members waits for them before answering 503
MEMBERS_WAIT_SECONDS = 10.0
RETRY_AFTER_SECONDS = 5

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


def purpose_param(default: str | None) -> QueryParam:
    """The ``purpose`` an export of customers is for (``default`` when not given; None:
    everyone)."""
    said = f"default {default!r}" if default else "default: everyone in the segment"
    return QueryParam(
        "purpose",
        "only the customers who may be contacted for this purpose (privacy.consent: "
        "withdrawn never; no record only when the installation does not require consent); "
        f"'marketing' is any marketing channel; {said}",
        {"type": "string", "enum": list(PURPOSES)},
    )


def _purpose(request: Request, default: str | None) -> str | None:
    purpose = request.query_params.get("purpose", default)
    try:
        return None if purpose is None else check_purpose(purpose)
    except UnknownPurposeError as exc:
        raise ProblemError(422, str(exc)) from None


async def _for_purpose(ctx: AppContext, members: list[str], purpose: str | None) -> list[str]:
    """``members`` who may be contacted for ``purpose`` (all of them when it is None)."""
    if purpose is None:
        return members
    return await asyncio.to_thread(
        contactable, ctx.profiles, members, purpose, required=ctx.settings.consent_required
    )


class SegmentOut(msgspec.Struct):
    segment_id: str
    definition: dict[str, Any]
    #: ``ready``, or ``building`` while its event counts are filled from the log (it has
    #: no members meanwhile and ``size`` is null)
    status: str
    size: int | None
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


def _known(ctx: AppContext, segment_id: str) -> None:
    try:
        check_definition_id("segment", segment_id)
    except InvalidIdError as exc:
        raise ProblemError(422, str(exc)) from None
    if ctx.segments.get(segment_id) is None:
        raise ProblemError(
            404, f"no segment {segment_id!r}; create it with PUT /v1/segments/{segment_id}"
        )


async def _built(ctx: AppContext, segment_id: str, seconds: float) -> bool:
    """Wait (without blocking the event loop) up to ``seconds`` for a segment's event
    counts; whether they are ready."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while pending := ctx.segments.building(segment_id):
        left = deadline - loop.time()
        if left <= 0:
            break
        woken = asyncio.Event()
        for future in pending:
            future.add_done_callback(_waker(loop, woken))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), left)
    return ctx.segments.ready(segment_id)


def _waker(loop: asyncio.AbstractEventLoop, woken: asyncio.Event) -> Callable[[Future[None]], None]:
    """A done-callback (run on the building thread) that sets ``woken`` on ``loop``."""

    def wake(_: Future[None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
            loop.call_soon_threadsafe(woken.set)

    return wake


async def _membership(ctx: AppContext, segment_id: str) -> Membership:
    """Everyone in a segment (404 unknown, 503 while its counts are still being built)."""
    _known(ctx, segment_id)
    await ctx.catch_up()
    building = ProblemError(
        503,
        f"segment {segment_id!r} is being built from the event log; retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    if not await _built(ctx, segment_id, MEMBERS_WAIT_SECONDS):
        raise building
    try:
        membership = await asyncio.to_thread(ctx.segments.members, segment_id, 0)
    except SegmentBuildingError:
        raise building from None
    if membership is None:  # defined segments are never removed; kept for the type checker
        raise ProblemError(404, f"no segment {segment_id!r}")
    return membership


async def segment_out(ctx: AppContext, segment_id: str) -> SegmentOut:
    """A segment as ``GET /v1/segments/{id}`` answers it (404 unknown, 503 building too long)."""
    _known(ctx, segment_id)
    defined = ctx.segments.get(segment_id)
    assert defined is not None
    if ctx.segments.building(segment_id) or not ctx.segments.ready(segment_id):
        return SegmentOut(segment_id, defined.stored.document, "building", None, None)
    membership = await _membership(ctx, segment_id)
    return SegmentOut(
        segment_id=segment_id,
        definition=defined.stored.document,
        status="ready",
        size=len(membership.members),
        evaluated_at=membership.evaluated_at.isoformat() if membership.evaluated_at else None,
    )


@endpoint(
    "PUT",
    "/v1/segments/{segment_id}",
    summary="Create or replace a segment definition (JSON or YAML)",
    tag="segments",
    scope=Scope.ADMIN,
    body=SegmentDefinition,
    response=SegmentOut,
    errors=(413, 422, 503),
    yaml_body=True,
)
async def put_segment(request: Request, ctx: AppContext) -> Response:
    """A definition over traits and events in time windows, e.g. bought in category Shoes at
    least twice in the last 90 days and not in the last 30. Send JSON, or YAML with
    ``Content-Type: application/yaml``. A definition that does not parse or names an
    unknown trait is a 422 whose ``where`` says where. Limits: a body of at most 256 KiB
    (262,144 bytes; else 413), at most 200 conditions of which 20 count events, at most
    10,000 values in an ``in``/``not_in`` list, counts and windows at most 10,000 events
    and 36,500 days (else 422 saying where). New event counts are built from the event
    log in the background: the answer waits for them up to 10 s, else says
    ``status: building`` (the segment has no members until they are built)."""
    segment_id = request.path_params["segment_id"]
    definition = await read_definition(
        request,
        min(ctx.settings.max_body_bytes, MAX_DEFINITION_BYTES),
        "Keep definitions small: give customers an attribute and test it, not a list of them.",
    )
    try:
        await asyncio.to_thread(ctx.segments.put, segment_id, definition, 0)
    except SegmentError as exc:
        raise ProblemError(
            422, str(exc), title="Invalid segment definition", where=exc.where
        ) from None
    except InvalidIdError as exc:
        raise ProblemError(422, str(exc)) from None
    await _built(ctx, segment_id, PUT_WAIT_SECONDS)
    return json_response(await segment_out(ctx, segment_id))


@endpoint(
    "GET",
    "/v1/segments/{segment_id}",
    summary="A segment's definition and size",
    tag="segments",
    scope=Scope.ADMIN,
    response=SegmentOut,
    errors=(404, 422, 503),
)
async def get_segment(request: Request, ctx: AppContext) -> Response:
    """The definition, whether it is ready or still ``building`` its event counts from the
    log, and how many customers are in the segment now (null while building)."""
    return json_response(await segment_out(ctx, request.path_params["segment_id"]))


@endpoint(
    "GET",
    "/v1/segments/{segment_id}/members",
    summary="The customers in a segment, a page at a time",
    tag="segments",
    scope=Scope.ADMIN,
    response=MembersOut,
    query=(*PAGE, purpose_param(None)),
    errors=(404, 422, 503),
    audit=True,  # an export of customers
)
async def segment_members(request: Request, ctx: AppContext) -> Response:
    """Canonical customer ids in a stable order; follow ``next_offset`` for the next page.
    With ``purpose``, only the members who may be contacted for it (``total`` counts
    them). A segment still building its event counts answers 503 with ``Retry-After``."""
    limit = query_int(request, "limit", 1000, 1, 10_000)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    purpose = _purpose(request, None)
    segment_id = request.path_params["segment_id"]
    membership = await _membership(ctx, segment_id)
    members = await _for_purpose(ctx, membership.members, purpose)
    page = members[offset : offset + limit]
    following = offset + limit if offset + limit < len(members) else None
    return json_response(MembersOut(segment_id, len(members), page, following))


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
        purpose_param(DEFAULT_PURPOSE),
    ),
    errors=(404, 422, 503),
    audit=True,  # an export of customers' data
)
async def list_customers(request: Request, ctx: AppContext) -> Response:
    """A page of the customers in ``segment`` with their computed traits: the export of a
    segment (``retailor segments export`` reads it), so only those who may be contacted
    for ``purpose`` (``marketing`` unless told otherwise: a customer who withdrew any
    marketing purpose is left out; ``total`` counts those kept). 503 with
    ``Retry-After`` while the segment builds its event counts."""
    segment_id = request.query_params.get("segment")
    if not segment_id:
        raise ProblemError(422, "give ?segment=ID (listing the whole base is not offered)")
    limit = query_int(request, "limit", 100, 1, 10_000)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    purpose = _purpose(request, DEFAULT_PURPOSE)
    membership = await _membership(ctx, segment_id)
    members = await _for_purpose(ctx, membership.members, purpose)
    page = await asyncio.to_thread(_summaries, ctx, members[offset : offset + limit])
    following = offset + limit if offset + limit < len(members) else None
    return json_response(CustomersOut(len(members), page, following))


def _summaries(ctx: AppContext, keys: list[str]) -> list[CustomerSummary]:
    page = []
    for key in keys:
        view = ctx.profiles.view(key)
        if view is not None:
            page.append(CustomerSummary(customer_id=key, traits=view.traits))
    return page
