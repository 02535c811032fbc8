"""One table of endpoints: it builds the routes and the OpenAPI document, so both agree.

A handler is ``async def handler(request, ctx) -> Response``; the wrapper checks the
caller's scope and the path parameters (:data:`PATH_PARAMS`: a 422 for an id no resource
can have) before calling it, and records the audited calls (:func:`audited`) in the
audit log once they are answered, whatever the answer (a refused key and a 4xx included).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailor.api.context import AppContext
from retailor.api.problems import ProblemError
from retailor.api.slashes import restore_slashes
from retailor.domain.access import Scope
from retailor.domain.ids import (
    MAX_ID_LENGTH,
    DefinitionId,
    Identifier,
    definition_id_problem,
    id_problem,
)
from retailor.storage.errors import StorageUnavailableError

Handler = Callable[[Request, AppContext], Awaitable[Response]]


@dataclass(frozen=True)
class QueryParam:
    """A documented query parameter."""

    name: str
    description: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True)
class PathParam:
    """A path parameter: what it names, the type its values have (documented as its
    schema) and why a value cannot be one (None when it can)."""

    description: str
    type: Any
    problem: Callable[[str], str | None]


def _client_id(name: str, description: str) -> PathParam:
    def problem(value: str) -> str | None:
        why = id_problem(value)
        return None if why is None else f"invalid {name} {value!r}: {why}"

    return PathParam(description, Identifier, problem)


def _definition_id(kind: str) -> PathParam:
    return PathParam(
        f"the {kind} id", DefinitionId, lambda value: definition_id_problem(kind, value)
    )


#: Every path parameter by name: one name is one kind of id wherever it appears. A name
#: not listed is any non-empty text of at most ``MAX_ID_LENGTH`` characters.
PATH_PARAMS: dict[str, PathParam] = {
    "item_id": _client_id("item_id", "the catalog item id"),
    "customer_id": _client_id(
        "customer_id", "a customer id, an anonymous id, or email:…, phone:…, loyalty_card:…"
    ),
    "decision_id": _client_id("decision_id", "the decision id"),
    "identifier": _client_id(
        "identifier", "a customer or visitor id, or email:…, phone:…, loyalty_card:…"
    ),
    "erasure_id": _client_id("erasure_id", "the erasure id, as its request answered it"),
    "placement_id": _definition_id("placement"),
    "offer_id": _definition_id("offer"),
    "segment_id": _definition_id("segment"),
    "experiment_id": _definition_id("experiment"),
}


def check_path_params(params: dict[str, Any]) -> None:
    """A 422 for the first path parameter whose value no resource can have."""
    for name, value in params.items():
        param = PATH_PARAMS.get(name)
        if param is not None:
            problem = param.problem(value)
        elif isinstance(value, str) and len(value) > MAX_ID_LENGTH:
            problem = f"{name} has at most {MAX_ID_LENGTH} characters"
        else:
            problem = None
        if problem is not None:
            raise ProblemError(422, problem, title="Invalid path parameter")


@dataclass(frozen=True)
class PartialAnswer:
    """A 422 problem titled ``title`` that also carries the members of ``report`` (what
    was stored and what was refused): some of the request was refused, the rest kept."""

    title: str
    report: Any


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    scope: Scope | None
    body: Any = None
    response: Any = None
    query: tuple[QueryParam, ...] = ()
    description: str = ""
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"
    yaml_body: bool = False
    #: the status of success: 200, or 202 for work that goes on after the answer
    status: int = 200
    #: the 422 that still reports what was kept when part of the request was refused
    partial: PartialAnswer | None = None
    #: other media types the success may come in (text), beside ``media_type``
    alternatives: tuple[str, ...] = ()
    #: whether calls are recorded in the audit log (None: as :func:`audited` decides)
    audit: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> str:
        """How the audit log names the operation: its method and path template (never
        the path of a request, which may hold a customer id or an email)."""
        return f"{self.method} {self.path}"


#: Paths whose every call is audited, reads included: privacy requests, the audit log
#: itself and one customer's data.
AUDITED_PATHS = ("/v1/privacy/", "/v1/audit", "/v1/customers/{customer_id}")


def audited(ep: Endpoint) -> bool:
    """Whether calls of ``ep`` go to the audit log: every change that needs an admin key,
    and every call under :data:`AUDITED_PATHS` (unless the endpoint says otherwise)."""
    if ep.audit is not None:
        return ep.audit
    if ep.path.startswith(AUDITED_PATHS):
        return True
    return ep.method != "GET" and ep.scope is Scope.ADMIN


ENDPOINTS: list[Endpoint] = []


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    scope: Scope | None,
    body: Any = None,
    response: Any = None,
    query: tuple[QueryParam, ...] = (),
    errors: tuple[int, ...] = (),
    media_type: str = "application/json",
    yaml_body: bool = False,
    partial: PartialAnswer | None = None,
    status: int = 200,
    alternatives: tuple[str, ...] = (),
    audit: bool | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the operation ``method path``; its docstring describes it."""

    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(
            Endpoint(
                method=method,
                path=path,
                handler=handler,
                summary=summary,
                tag=tag,
                scope=scope,
                body=body,
                response=response,
                query=query,
                description=(handler.__doc__ or "").strip(),
                errors=errors,
                media_type=media_type,
                yaml_body=yaml_body,
                partial=partial,
                status=status,
                alternatives=alternatives,
                audit=audit,
            )
        )
        return handler

    return register


def browser_paths(endpoints: list[Endpoint]) -> set[str]:
    """The paths web pages may send to from other origins: those of the ingest endpoints
    (see ``api/cors.py``)."""
    return {ep.path for ep in endpoints if ep.scope is Scope.INGEST}


def build_routes(endpoints: list[Endpoint]) -> list[Route]:
    """Starlette routes for ``endpoints``, grouped by path."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for ep in endpoints:
        by_path.setdefault(ep.path, {})[ep.method] = ep
    routes = []
    for path, methods in by_path.items():
        routes.append(Route(path, _dispatcher(methods), methods=list(methods)))
    return routes


def _dispatcher(methods: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    audits = {method: audited(ep) for method, ep in methods.items()}

    async def answer(request: Request, ep: Endpoint, ctx: AppContext) -> Response:
        if ep.scope is not None:
            await ctx.auth.require(request, ep.scope, browser=ep.scope is Scope.INGEST)
        check_path_params(request.path_params)
        return await ep.handler(request, ctx)

    async def dispatch(request: Request) -> Response:
        method = request.method if request.method in methods else "GET"
        ep = methods[method]
        ctx: AppContext = request.app.state.ctx
        restore_slashes(request.path_params)
        if ctx.audit is None or not audits[method]:
            return await answer(request, ep, ctx)
        status = 500
        try:
            response = await answer(request, ep, ctx)
            status = response.status_code
            return response
        except ProblemError as exc:
            status = exc.status
            raise
        except HTTPException as exc:
            status = exc.status_code
            raise
        except StorageUnavailableError:
            status = 503
            raise
        finally:  # queued: written by the recorder's thread, never on the event loop
            ctx.audit.record(
                key_id=getattr(request.state, "key_id", None),
                action=ep.action,
                target=_target(ep, request),
                status=status,
                at=datetime.now(UTC),
            )

    return dispatch


def _target(ep: Endpoint, request: Request) -> str | None:
    """The id an audited call is about: the value of the first parameter of its path."""
    names = [part[1:-1].partition(":")[0] for part in ep.path.split("/") if part.startswith("{")]
    return str(request.path_params[names[0]]) if names else None
