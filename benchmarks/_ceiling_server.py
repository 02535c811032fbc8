"""``retailor serve`` with one more endpoint, for benchmarks/decisions.py: the ceiling of
the decision request path, measured in the same run as the decisions themselves.

``POST /bench/ceiling`` does everything ``POST /v1/decisions`` does around the engine: the
key's scope is checked, the body is read and decoded into a decision request, and a
decision is encoded as the JSON answer. It answers a fixed decision instead of asking the
engine. ``PUT /bench/ceiling`` sets that decision (the benchmark sends a real one, so the
answers are the same size). Its throughput is what decisions would reach if the engine
cost nothing.

    python benchmarks/_ceiling_server.py --data DIR --port PORT
"""

from __future__ import annotations

import sys

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import endpoint
from retailor.api.http import json_response, read_body
from retailor.api.routes.decisions import MAX_REQUEST_BYTES, _decision_request, _decode
from retailor.cli import main
from retailor.domain.access import Scope
from retailor.domain.decisions import Decision

_answer: list[Decision] = [
    Decision(
        decision_id="",
        placement="home",
        customer=None,
        items=[],
        offers=[],
        model_versions={},
        personalized=False,
    )
]
_decision = msgspec.json.Decoder(Decision)


@endpoint("POST", "/bench/ceiling", summary="benchmark", tag="bench", scope=Scope.SERVE)
async def ceiling(request: Request, ctx: AppContext) -> Response:
    """The decision request path without the engine."""
    body = await read_body(request, MAX_REQUEST_BYTES)
    _decode(_decision_request, body)
    return json_response(_answer[0])


@endpoint("PUT", "/bench/ceiling", summary="benchmark", tag="bench", scope=Scope.ADMIN)
async def set_answer(request: Request, ctx: AppContext) -> Response:
    """The decision the ceiling answers."""
    _answer[0] = _decision.decode(await read_body(request, MAX_REQUEST_BYTES))
    return json_response(_answer[0])


if __name__ == "__main__":
    sys.argv = ["retailor", "serve", *sys.argv[1:]]
    main()
