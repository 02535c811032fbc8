"""Decisions, search re-ranking and feedback: what channels call on every page."""

from __future__ import annotations

import asyncio
from typing import TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import endpoint
from retailor.api.http import json_response, read_body
from retailor.api.problems import ProblemError
from retailor.api.routes.placements import unknown_placement
from retailor.decision.engine import UnknownPlacementError
from retailor.decision.feedback import (
    BudgetExhaustedError,
    FeedbackError,
    InvalidFeedbackError,
    UnknownDecisionError,
)
from retailor.decision.logged import logged_choices
from retailor.domain import numbers
from retailor.domain.access import Scope
from retailor.domain.decisions import (
    Decision,
    DecisionRecord,
    DecisionRequest,
    Feedback,
    FeedbackRecord,
    RerankRequest,
)

_decision_request = msgspec.json.Decoder(DecisionRequest)
_rerank_request = msgspec.json.Decoder(RerankRequest)
_feedback = msgspec.json.Decoder(Feedback)
MAX_REQUEST_BYTES = 256 * 1024
T = TypeVar("T")


class FeedbackOut(msgspec.Struct):
    decision_id: str
    outcome: str


class DecisionDetail(msgspec.Struct):
    decision: DecisionRecord
    feedback: list[FeedbackRecord]


Asked = TypeVar("Asked", DecisionRequest, RerankRequest)


def unnamed(ctx: AppContext, wanted: Asked) -> Asked:
    """A request for an erased (suppressed) person is answered as for a stranger, and
    logged without their ids."""
    if ctx.suppression is not None and ctx.suppression.names(
        wanted.customer_id, wanted.anonymous_id
    ):
        return msgspec.structs.replace(wanted, customer_id=None, anonymous_id=None)
    return wanted


def _decode(decoder: msgspec.json.Decoder[T], body: bytes, kind: type[T]) -> T:
    try:
        return numbers.decode(decoder, body, kind)
    except msgspec.ValidationError as exc:
        raise ProblemError(422, str(exc), title="Invalid request") from None
    except msgspec.DecodeError as exc:
        raise ProblemError(400, f"the body is not valid JSON: {exc}") from None


@endpoint(
    "POST",
    "/v1/decisions",
    summary="What this customer should see here, now: items and offers",
    tag="decisions",
    scope=Scope.SERVE,
    body=DecisionRequest,
    response=Decision,
    errors=(400, 404, 422),
)
async def decide(request: Request, ctx: AppContext) -> Response:
    """Items with scores and reasons, and offers chosen by the placement's policy with the
    probability they were chosen with. Answers for unknown visitors (session and
    trending) and before any model is trained (fallbacks); never returns an item a rule
    excludes. Send feedback and later events with the ``decision_id``."""
    body = await read_body(request, MAX_REQUEST_BYTES)
    wanted = unnamed(ctx, _decode(_decision_request, body, DecisionRequest))
    await ctx.catch_up()  # every event another worker acknowledged shapes this decision
    try:
        decision = ctx.decisions.engine.decide(wanted)
    except UnknownPlacementError:
        raise unknown_placement(ctx, wanted.placement) from None
    return json_response(decision)


@endpoint(
    "POST",
    "/v1/rerank",
    summary="Re-order your search engine's results for this customer",
    tag="decisions",
    scope=Scope.SERVE,
    body=RerankRequest,
    response=Decision,
    errors=(400, 404, 422),
)
async def rerank(request: Request, ctx: AppContext) -> Response:
    """The items you send (best first, as your search engine ranked them) come back
    re-ordered by this customer's affinity, with the search placement's rules applied."""
    body = await read_body(request, MAX_REQUEST_BYTES)
    wanted = unnamed(ctx, _decode(_rerank_request, body, RerankRequest))
    await ctx.catch_up()
    try:
        decision = ctx.decisions.engine.rerank(wanted)
    except UnknownPlacementError:
        raise unknown_placement(ctx, wanted.placement) from None
    return json_response(decision)


@endpoint(
    "POST",
    "/v1/feedback",
    summary="What happened to a decision's item or offer",
    tag="decisions",
    scope=Scope.SERVE,
    body=Feedback,
    response=FeedbackOut,
    errors=(400, 404, 409, 422),
)
async def feedback(request: Request, ctx: AppContext) -> Response:
    """``viewed``, ``clicked``, ``redeemed`` or ``purchased``, of an ``item_id`` or an
    ``offer_id`` of the decision. A redemption is checked against the offer's budget and
    redemption limit: 409 when nothing is left (refuse the coupon), ``duplicate`` when this
    decision's offer was already redeemed. An offer the decision did not show, or an item it
    did not show that was ``viewed`` or ``clicked``, is a 409 too (titled "Not part of the
    decision"). Rewards teach the offer policy."""
    body = await read_body(request, MAX_REQUEST_BYTES)
    given = _decode(_feedback, body, Feedback)
    try:  # in a thread: an old decision is looked up in the log
        outcome = await asyncio.to_thread(ctx.decisions.feedback.record, given)
    except UnknownDecisionError:
        raise ProblemError(404, f"no decision {given.decision_id!r}") from None
    except InvalidFeedbackError as exc:
        raise ProblemError(422, str(exc)) from None
    except FeedbackError as exc:
        raise ProblemError(409, str(exc), title="Not part of the decision") from None
    except BudgetExhaustedError as exc:
        raise ProblemError(409, str(exc), title="Offer budget exhausted") from None
    return json_response(FeedbackOut(given.decision_id, outcome))


@endpoint(
    "GET",
    "/v1/decisions/{decision_id}",
    summary="One logged decision and its feedback",
    tag="decisions",
    scope=Scope.ADMIN,
    response=DecisionDetail,
    errors=(404,),
)
async def get_decision(request: Request, ctx: AppContext) -> Response:
    """Context, items and their sources, offers with eligible sets and propensities,
    model versions, latency, and every piece of feedback since."""
    decision_id = request.path_params["decision_id"]

    def read() -> DecisionDetail | None:
        record = ctx.decisions.recorder.get(decision_id, wait=True)
        if record is None:
            return None
        return DecisionDetail(
            record, ctx.decisions.recorder.store.feedback(decision_id=decision_id)
        )

    detail = await asyncio.to_thread(read)
    if detail is None:
        raise ProblemError(404, f"no decision {decision_id!r}")
    return json_response(detail)


@endpoint(
    "GET",
    "/v1/decision-log/choices",
    summary="Every logged offer choice with its propensity and reward (NDJSON)",
    tag="decisions",
    scope=Scope.ADMIN,
    media_type="application/x-ndjson",
)
async def logged_offer_choices(request: Request, ctx: AppContext) -> Response:
    """One JSON object per line: decision id, time, placement, the features the policy saw,
    the eligible offers, the chosen one, its probability and its reward. What
    ``retailor policies evaluate`` reads to estimate other policies offline."""
    settings = ctx.settings
    costs = {o.offer_id: o.redemption_cost() for o in ctx.decisions.offers.all()}

    def rows() -> bytes:
        ctx.decisions.recorder.flush()
        encoder = msgspec.json.Encoder()
        return b"".join(
            encoder.encode(row) + b"\n"
            for row in logged_choices(
                ctx.decisions.recorder.store,
                reward_mode=settings.offer_reward,
                reward_scale=settings.reward_scale,
                costs=costs,
            )
        )

    return Response(await asyncio.to_thread(rows), media_type="application/x-ndjson")
