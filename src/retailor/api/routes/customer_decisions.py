"""A customer's decisions: those made for them (from the report facts) and what a decision
would answer them now on each placement, without deciding (``decision.customers``, which
the dashboard's customer page reads too). Reads for people: a view key may call them."""

from __future__ import annotations

import asyncio

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.reports import ReportError, parse_request
from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response, query_int
from retailor.api.problems import ProblemError
from retailor.api.routes.customers import known_customer
from retailor.api.routes.placements import unknown_placement
from retailor.decision.customers import customer_decisions, preview_placements
from retailor.decision.engine import UnknownPlacementError
from retailor.domain.access import Scope
from retailor.domain.decisions import DecisionPreview
from retailor.storage.facts import DecisionFact

_WHEN = {"anyOf": [{"type": "string", "format": "date"},
                   {"type": "string", "format": "date-time"}]}  # fmt: skip
#: The most decisions one answer lists.
MAX_DECISIONS = 1000
#: The most placements one preview names.
MAX_PLACEMENTS = 100


class CustomerDecisions(msgspec.Struct):
    """The decisions made for a customer in a range, newest first, as reports count them
    (with what happened to them: impressions, clicks, redemptions)."""

    customer_id: str
    decisions: list[DecisionFact]


class CustomerPreview(msgspec.Struct):
    """What a decision would answer a customer now on each placement, without deciding."""

    customer_id: str
    previews: list[DecisionPreview]


@endpoint(
    "GET",
    "/v1/customers/{customer_id}/decisions",
    summary="The decisions made for a customer, newest first",
    tag="customers",
    scope=Scope.VIEW,
    response=CustomerDecisions,
    query=(
        QueryParam(
            "from",
            "start (inclusive): a date or an ISO 8601 time; default 30 days before to; "
            "before to, at most 3660 days before it",
            _WHEN,
        ),
        QueryParam("to", "end (exclusive; a date means the end of that day); default now", _WHEN),
        QueryParam(
            "limit",
            f"how many decisions (1 to {MAX_DECISIONS:,}; default 50)",
            {"type": "integer", "minimum": 1, "maximum": MAX_DECISIONS},
        ),
    ),
    errors=(400, 404, 422),
)
async def get_customer_decisions(request: Request, ctx: AppContext) -> Response:
    """The decisions made for the customer under any of its customer or visitor ids in the
    range, from the report facts (embedded, brought up to date first; scaled out, as far
    as the background worker folded): placement, channel, items, offers, experiment and
    holdout group, and their impressions, clicks, add-to-carts and redemptions so far."""
    if ctx.reports is None:
        raise ProblemError(503, "this server keeps no report facts")
    key = await known_customer(ctx, request.path_params["customer_id"])
    limit = query_int(request, "limit", 50, 1, MAX_DECISIONS)
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        if name in ("from", "to"):
            params.setdefault(name, []).append(value)
    try:
        span = parse_request(params)
    except ReportError as exc:
        raise ProblemError(400, str(exc)) from None
    reports = ctx.reports

    def read() -> list[DecisionFact]:
        reports.refresh()  # embedded: fold what is new in the logs first
        return customer_decisions(reports.facts, ctx.profiles, key, span.start, span.end, limit)

    found = await asyncio.to_thread(read)
    return json_response(CustomerDecisions(customer_id=key, decisions=found))


@endpoint(
    "GET",
    "/v1/customers/{customer_id}/preview",
    summary="What a decision would answer a customer now, on each placement (a dry run)",
    tag="customers",
    scope=Scope.VIEW,
    response=CustomerPreview,
    query=(
        QueryParam(
            "placement",
            "only these placements, comma-separated (default: every default and defined one)",
            {"type": "string"},
        ),
    ),
    errors=(404, 422),
)
async def get_customer_preview(request: Request, ctx: AppContext) -> Response:
    """For each placement, the items ``POST /v1/decisions`` would answer this customer now
    (no context: no item on screen, an empty cart), with their scores, reasons and
    sources, the experiment variant and holdout group the customer is in (or would be
    given), and the offers a draw would choose among. Nothing is decided: no decision is
    logged, no experiment exposure is recorded, no offer is drawn or counted against its
    caps and budget, so reading it changes nothing."""
    key = await known_customer(ctx, request.path_params["customer_id"])
    wanted = request.query_params.get("placement")
    names = None
    if wanted is not None:
        names = list(dict.fromkeys(n.strip() for n in wanted.split(",") if n.strip()))
        if not names or len(names) > MAX_PLACEMENTS:
            raise ProblemError(
                422, f"placement names 1 to {MAX_PLACEMENTS} placements, comma-separated"
            )
    try:
        previews = await asyncio.to_thread(
            preview_placements, ctx.decisions.engine, ctx.profiles, key, names
        )
    except UnknownPlacementError as exc:
        raise unknown_placement(ctx, str(exc.args[0])) from None
    return json_response(CustomerPreview(customer_id=key, previews=previews))
