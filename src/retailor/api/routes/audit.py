"""The audit log: ``GET /v1/audit`` reads who did which admin or privacy action (the
endpoint table records them, ``api/endpoints.py``); ``POST /v1/audit`` takes the actions
of the command line on this data directory (``retailor keys create|revoke`` while a server
holds it), from the server's control token only."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.reports import ReportError, parse_when
from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response, query_int, read_body
from retailor.api.problems import ProblemError
from retailor.domain.access import Scope
from retailor.privacy.audit import AuditRecorder, audit_entry, target_hash
from retailor.storage.audit import MAX_LIMIT

#: What the command line's actions are called: dotted names, never a route.
CLI_ACTION = r"^[a-z][a-z_]*(\.[a-z_]+)+$"
#: The key id the command line's entries carry.
CLI_KEY_ID = "cli"
_PARAMS = ("limit", "since", "action", "key_id", "target")


class AuditEntryOut(msgspec.Struct):
    """One audited action."""

    at: datetime
    key_id: str | None
    action: str
    target_hash: str | None
    status: int


class AuditOut(msgspec.Struct):
    entries: list[AuditEntryOut]


class CommandAction(msgspec.Struct, forbid_unknown_fields=True):
    """An action done by the command line: its name, the id it was about and how it ended
    (200 done, 404 no such target)."""

    action: Annotated[str, msgspec.Meta(pattern=CLI_ACTION, max_length=64)]
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=512)] | None = None
    status: Annotated[int, msgspec.Meta(ge=100, le=599)] = 200


def _recorder(ctx: AppContext) -> AuditRecorder:
    if ctx.audit is None:
        raise ProblemError(503, "this server keeps no audit log")
    return ctx.audit


@endpoint(
    "GET",
    "/v1/audit",
    summary="Who did which admin or privacy action, newest first",
    tag="audit",
    scope=Scope.ADMIN,
    response=AuditOut,
    query=(
        QueryParam("limit", f"how many entries (1 to {MAX_LIMIT:,}; default 100)",
                   {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
        QueryParam("since", "only entries at or after this date or ISO 8601 time (1900 to 9000)",
                   {"anyOf": [{"type": "string", "format": "date"},
                              {"type": "string", "format": "date-time"}]}),
        QueryParam("action", "only actions that start with this text, e.g. "
                   "'PUT /v1/segments' or 'keys.'", {"type": "string", "maxLength": 256}),
        QueryParam("key_id", "only the actions of this key ('control': the server's control "
                   "token; 'cli': the command line)", {"type": "string", "maxLength": 256}),
        QueryParam("target", "only the actions about this id (a customer, segment or key id; "
                   "hashed by the server as the entries are)",
                   {"type": "string", "minLength": 1, "maxLength": 512}),
    ),
    errors=(400, 422),
)  # fmt: skip
async def list_audit(request: Request, ctx: AppContext) -> Response:
    """Every change made with an admin key or the control token, every call of the
    privacy and audit endpoints and every read of one customer's data, with the key that
    made it, the route template (``PUT /v1/segments/{segment_id}``, never the path asked
    for), the salted hash of the id it was about and the status it was answered with;
    and the command line's ``keys.create`` and ``keys.revoke``. This read is itself
    recorded."""
    unknown = sorted(set(request.query_params) - set(_PARAMS))
    if unknown:
        raise ProblemError(400, f"unknown parameter {unknown[0]!r}: use {', '.join(_PARAMS)}")
    limit = query_int(request, "limit", 100, 1, MAX_LIMIT)
    since: datetime | None = None
    if (text := request.query_params.get("since")) is not None:
        try:
            since = parse_when(text, "since", end=False)
        except ReportError as exc:
            raise ProblemError(400, str(exc)) from None
    for name, shortest, longest in (("action", 0, 256), ("key_id", 0, 256), ("target", 1, 512)):
        given = request.query_params.get(name)
        if given is not None and not shortest <= len(given) <= longest:
            raise ProblemError(
                422, f"query parameter {name} must have {shortest} to {longest} characters"
            )
    recorder = _recorder(ctx)
    target = request.query_params.get("target")
    await asyncio.to_thread(recorder.flush)  # the calls answered before this one
    entries = await asyncio.to_thread(
        recorder.log.list,
        limit,
        since=since,
        action=request.query_params.get("action"),
        key_id=request.query_params.get("key_id"),
        target_hash=None if target is None else target_hash(target, recorder.salt),
    )
    return json_response(
        AuditOut(
            [AuditEntryOut(e.at, e.key_id, e.action, e.target_hash, e.status) for e in entries]
        )
    )


_command_decoder = msgspec.json.Decoder(CommandAction)


@endpoint(
    "POST",
    "/v1/audit",
    summary="Record an action of the command line (control token only)",
    tag="audit",
    scope=Scope.ADMIN,
    body=CommandAction,
    response=AuditEntryOut,
    errors=(400, 403, 422),
    audit=False,  # the entry it carries is what is recorded
)
async def record_command(request: Request, ctx: AppContext) -> Response:
    """The command line records its actions on a data directory a server holds
    (``retailor keys create|revoke``) through this call, with the control token of the
    server's run file; any other key is refused (403). The entry is recorded with key id
    ``cli`` and the target hashed, and answered as stored."""
    if getattr(request.state, "key_id", None) != "control":
        raise ProblemError(
            403, "only the command line on the server's own machine (its control token) may "
            "add audit entries"
        )  # fmt: skip
    body = await read_body(request, 64 * 1024)
    try:
        action = _command_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ProblemError(422, f"not an action of the command line: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ProblemError(400, f"malformed JSON: {exc}") from None
    recorder = _recorder(ctx)
    entry = audit_entry(
        recorder.salt,
        key_id=CLI_KEY_ID,
        action=action.action,
        target=action.target,
        status=action.status,
    )
    recorder.add(entry)
    await asyncio.to_thread(recorder.flush)
    return json_response(
        AuditEntryOut(entry.at, entry.key_id, entry.action, entry.target_hash, entry.status)
    )
