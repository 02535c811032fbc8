"""The catalog: batch upsert and single item reads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
from msgspec import UNSET
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import PartialAnswer, endpoint
from retailor.api.http import json_response, read_body
from retailor.api.problems import ITEMS_REJECTED, ProblemError, problem_response
from retailor.api.schemas import (
    MAX_BATCH_ITEMS,
    CatalogBatchIn,
    CatalogItem,
    CatalogUpsertOut,
    RejectedItem,
)
from retailor.domain import numbers
from retailor.domain.access import Scope
from retailor.domain.catalog import CatalogPatch
from retailor.domain.nesting import MAX_NESTING, surely_shallow, too_deep
from retailor.ingest.splitting import (
    UnsplittableError,
    batch_items,
    id_member,
    malformed_reason,
)
from retailor.storage.base import UpsertResult


class _Items(msgspec.Struct, forbid_unknown_fields=True):
    items: list[msgspec.Raw]


_items_decoder = msgspec.json.Decoder(_Items)
_patch_decoder = msgspec.json.Decoder(CatalogPatch)


class _ItemRejectedError(ValueError):
    """One item of a batch that cannot be stored; the message says why."""


def _split(body: bytes) -> list[bytes]:
    """The raw items of ``{"items": [...]}``, split around broken items when the body does
    not decode whole (those are then rejected one by one)."""
    try:
        return [bytes(raw) for raw in _items_decoder.decode(body).items]
    except msgspec.ValidationError as exc:
        raise ProblemError(422, f'send {{"items": [...]}}: {exc}') from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        try:
            return batch_items(body, "items")
        except UnsplittableError:
            raise ProblemError(400, malformed_reason(exc), title="Malformed JSON") from None


def _read_patch(raw: bytes) -> CatalogPatch:
    try:
        patch = numbers.decode(_patch_decoder, raw, CatalogPatch)
    except msgspec.ValidationError as exc:
        raise _ItemRejectedError(str(exc).replace("at `$.", "at `")) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise _ItemRejectedError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise _ItemRejectedError("the item nests lists and objects too deeply") from None
    if not surely_shallow(raw, MAX_NESTING) and patch.attributes is not UNSET:
        where = too_deep(patch.attributes, MAX_NESTING, "attributes")
        if where is not None:
            raise _ItemRejectedError(
                f"attributes nest lists and objects more than {MAX_NESTING} levels deep"
                f" - at `{where}`"
            )
    return patch


@endpoint(
    "PUT",
    "/v1/catalog/items",
    summary="Create or change up to 10,000 catalog items",
    tag="catalog",
    scope=Scope.ADMIN,
    body=CatalogBatchIn,
    response=CatalogUpsertOut,
    partial=PartialAnswer(ITEMS_REJECTED, CatalogUpsertOut),
)
async def put_items(request: Request, ctx: AppContext) -> Response:
    """Batch upsert: an item that exists keeps every field the request does not give.
    ``category`` is a path, as a list or as ``"Home > Kitchen"``; ``attributes`` merge key
    by key (a key set to null is removed). Invalid items are rejected with a reason; the
    valid ones are stored all the same."""
    body = await read_body(request, ctx.settings.max_body_bytes)
    raws = _split(body)
    if len(raws) > MAX_BATCH_ITEMS:
        raise ProblemError(413, f"{len(raws)} items in one request; send at most {MAX_BATCH_ITEMS}")
    patches: list[CatalogPatch] = []
    rejected: list[RejectedItem] = []
    for index, raw in enumerate(raws):
        try:
            patches.append(_read_patch(raw))
        except _ItemRejectedError as exc:
            rejected.append(
                RejectedItem(index=index, item_id=id_member(raw, "item_id"), reason=str(exc))
            )

    def upsert() -> UpsertResult:
        result = ctx.storage.catalog.upsert(patches, datetime.now(UTC))
        changed = list(ctx.storage.catalog.get_many([p.item_id for p in patches]).values())
        ctx.profiles.remember_items(changed)
        ctx.decisions.catalog_changed(changed)
        return result

    result = await asyncio.to_thread(upsert)
    out = CatalogUpsertOut(created=result.created, updated=result.updated, rejected=rejected)
    if not rejected:
        return json_response(out)
    return problem_response(
        422,
        f"{len(rejected)} of {len(raws)} items were rejected; the others were stored. "
        f"First: item {rejected[0].index}: {rejected[0].reason}",
        title=ITEMS_REJECTED,
        **msgspec.to_builtins(out),
    )


@endpoint(
    "GET",
    "/v1/catalog/items/{item_id}",
    summary="One catalog item",
    tag="catalog",
    scope=Scope.ADMIN,
    response=CatalogItem,
    errors=(404,),
)
async def get_item(request: Request, ctx: AppContext) -> Response:
    """The item as Retailor holds it."""
    item_id = request.path_params["item_id"]
    item = await asyncio.to_thread(ctx.storage.catalog.get, item_id)
    if item is None:
        raise ProblemError(404, f"no catalog item {item_id!r}")
    return json_response(item)
