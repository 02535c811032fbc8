"""Privacy requests: erasure (``POST /v1/privacy/erasures``, then its status and receipt),
the suppression list (lifting one identifier) and access (one archive of everything
about a person)."""

from __future__ import annotations

import asyncio

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import endpoint
from retailor.api.http import json_response, read_body
from retailor.api.problems import ProblemError
from retailor.domain.access import Scope
from retailor.domain.ids import IdChecked, Identifier, id_problem
from retailor.privacy.erasure import Eraser, receipt_json
from retailor.privacy.export import export_subject
from retailor.privacy.suppression import Suppression

_BODY_LIMIT = 4096


class ErasureIn(IdChecked, forbid_unknown_fields=True):
    """Whom to erase: a customer or visitor id, or ``email:…``, ``phone:…``,
    ``loyalty_card:…``, ``payment_token:…``."""

    identifier: Identifier


class ErasureOut(msgspec.Struct):
    """An erasure request: ``pending`` until the background role runs it, then ``done``
    with a receipt of rows removed per store (``failed`` with ``error``: retried)."""

    erasure_id: str
    status: str
    requested_at: str
    finished_at: str | None
    receipt: dict[str, int]
    error: str | None
    target_hash: str


class SuppressionOut(msgspec.Struct):
    """Whether the identifier was on the suppression list (it is not any more)."""

    identifier_hash: str
    lifted: bool


def _eraser(ctx: AppContext) -> Eraser:
    if ctx.eraser is None:
        raise ProblemError(503, "erasure is not available in this process")
    return ctx.eraser


def _suppression(ctx: AppContext) -> Suppression:
    if ctx.suppression is None:
        raise ProblemError(503, "the suppression list is not available in this process")
    return ctx.suppression


def _identifier(raw: str) -> str:
    problem = id_problem(raw)
    if problem is not None:
        raise ProblemError(
            422, f"invalid identifier {raw!r}: {problem} (a customer id, email:…, phone:…, …)"
        )
    return raw


@endpoint(
    "POST",
    "/v1/privacy/erasures",
    summary="Erase a person from every store",
    tag="privacy",
    scope=Scope.ADMIN,
    body=ErasureIn,
    response=ErasureOut,
    status=202,
    errors=(400, 413, 422),
)
async def request_erasure(request: Request, ctx: AppContext) -> Response:
    """Removes the person the identifier names, with every identifier of their identity
    cluster, from the event log, the quarantine, the identity graph and profiles, the
    decision log and feedback, experiment exposures, report facts, caches and model
    versions; then rewrites the stores so no byte of them remains, and refuses their
    identifiers at ingest. Answers at once with ``erasure_id`` and ``status: pending``;
    ``GET /v1/privacy/erasures/{erasure_id}`` says when it is ``done``."""
    body = await read_body(request, _BODY_LIMIT)
    try:
        asked = msgspec.json.decode(body, type=ErasureIn)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProblemError(422, f"invalid erasure request: {exc}") from None
    record = await asyncio.to_thread(_eraser(ctx).request, _identifier(asked.identifier))
    return json_response(receipt_json(record), status=202)


@endpoint(
    "GET",
    "/v1/privacy/erasures/{erasure_id}",
    summary="An erasure's status and receipt",
    tag="privacy",
    scope=Scope.ADMIN,
    response=ErasureOut,
    errors=(404,),
)
async def get_erasure(request: Request, ctx: AppContext) -> Response:
    """``pending``, ``running``, ``done`` (with a receipt: rows removed per store; a second
    erasure of the same person answers zeros) or ``failed`` (retried)."""
    erasure_id = request.path_params["erasure_id"]
    record = await asyncio.to_thread(ctx.storage.privacy.get_erasure, erasure_id)
    if record is None:
        raise ProblemError(404, f"no erasure {erasure_id!r}")
    return json_response(receipt_json(record))


@endpoint(
    "DELETE",
    "/v1/privacy/suppressions/{identifier}",
    summary="Accept a person's events again",
    tag="privacy",
    scope=Scope.ADMIN,
    response=SuppressionOut,
    errors=(404, 422),
)
async def lift_suppression(request: Request, ctx: AppContext) -> Response:
    """Lifts the suppression of one identifier (as sent to the erasure, or any identifier
    of the erased cluster): its events are stored again. 404 when it was not suppressed."""
    identifier = _identifier(request.path_params["identifier"])
    hash_ = _suppression(ctx).hash_of(identifier)
    lifted = await asyncio.to_thread(ctx.storage.privacy.lift, hash_)
    if lifted:
        await asyncio.to_thread(_suppression(ctx).refresh)
    if not lifted:
        raise ProblemError(404, "this identifier is not suppressed")
    return json_response(SuppressionOut(identifier_hash=hash_, lifted=True))


class RetentionOut(msgspec.Struct):
    """Events removed per type (every type ``retention_days`` names)."""

    removed: dict[str, int]


@endpoint(
    "POST",
    "/v1/privacy/retention",
    summary="Apply the retention now",
    tag="privacy",
    scope=Scope.ADMIN,
    response=RetentionOut,
)
async def apply_retention(request: Request, ctx: AppContext) -> Response:
    """Removes the events older than their type's ``retention_days`` (retailor.toml) now,
    as the background role does once a day: what derives from them is derived again and
    the space of the deleted rows reclaimed. Answers the events removed per type."""
    if ctx.retention is None:
        raise ProblemError(503, "retention is not available in this process")
    removed = await asyncio.to_thread(ctx.retention.apply)
    return json_response(RetentionOut(removed=removed))


@endpoint(
    "GET",
    "/v1/privacy/subjects/{identifier}/export",
    summary="Everything about a person, as one zip of JSON lines",
    tag="privacy",
    scope=Scope.ADMIN,
    media_type="application/zip",
    errors=(422,),
)
async def export_person(request: Request, ctx: AppContext) -> Response:
    """A zip with one JSON-lines file per kind: events, profile (traits, consent),
    identities, merges, consent_history, decisions, feedback, segments,
    experiment_assignments, quarantine — across every identifier of the person's
    cluster. An unknown identifier gets an archive of empty files."""
    identifier = _identifier(request.path_params["identifier"])
    await ctx.catch_up()
    s = ctx.storage
    archive, _ = await asyncio.to_thread(
        export_subject,
        identifier,
        ctx.profiles,
        ctx.segments,
        s.events,
        s.quarantine,
        s.decisions,
        s.exposures,
    )
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="subject-export.zip"'},
    )
