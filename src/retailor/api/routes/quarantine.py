"""The quarantine: rejected input with its reason and raw payload."""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import MAX_OFFSET, json_response, query_int, read_body
from retailor.api.problems import ProblemError
from retailor.api.schemas import MAX_BATCH_ITEMS, QuarantinePage
from retailor.domain import numbers
from retailor.domain.access import Scope
from retailor.domain.quarantine import Rejection


@endpoint(
    "GET",
    "/v1/quarantine",
    summary="Rejected events, newest first",
    tag="events",
    scope=Scope.ADMIN,
    response=QuarantinePage,
    query=(
        QueryParam(
            "limit",
            "page size (1 to 1,000; default 100)",
            {"type": "integer", "minimum": 1, "maximum": 1000},
        ),
        QueryParam(
            "offset", "rows to skip", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
        ),
        QueryParam("source", "only from this source, e.g. http:/v1/events", {"type": "string"}),
    ),
    errors=(422,),
)
async def list_quarantine(request: Request, ctx: AppContext) -> Response:
    """Every rejected event (or unreadable request) with why it was rejected."""
    limit = query_int(request, "limit", 100, 1, 1000)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    source = request.query_params.get("source")
    store = ctx.storage.quarantine

    def page() -> QuarantinePage:
        return QuarantinePage(
            total=store.count(source=source),
            items=store.list(limit=limit, offset=offset, source=source),
        )

    return json_response(await asyncio.to_thread(page))


class _Kept(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[list[Rejection], msgspec.Meta(max_length=MAX_BATCH_ITEMS)]


_kept = msgspec.json.Decoder(_Kept)


class _KeptOut(msgspec.Struct):
    kept: int


@endpoint(
    "POST",
    "/v1/quarantine",
    summary="Keep records rejected elsewhere",
    tag="events",
    scope=Scope.ADMIN,
    body=_Kept,
    response=_KeptOut,
    errors=(503,),
)
async def add_quarantine(request: Request, ctx: AppContext) -> Response:
    """Add rejected records (for instance the invalid rows a bulk import found) to the
    quarantine, so they are kept with the rest."""
    body = await read_body(request, ctx.settings.max_body_bytes)
    try:
        kept = numbers.decode(_kept, body, _Kept)
    except msgspec.ValidationError as exc:
        raise ProblemError(422, f"{exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(
            400, f"the body is not valid JSON: {exc}", title="Malformed JSON"
        ) from None
    await ctx.write([], kept.items)
    return json_response(_KeptOut(kept=len(kept.items)))
