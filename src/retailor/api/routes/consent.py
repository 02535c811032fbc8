"""A customer's consent: ``PUT /v1/customers/{customer_id}/consent`` records purposes
given or withdrawn as one ``consent_updated`` event written through the same group-commit
writer as ``POST /v1/events`` (so profiles, segments, decisions and exports see it like any
event), and ``GET`` reads the consent now per purpose and its history from the event log.

Writing needs a serve key (a preference centre's or a shop's back end) or an admin key;
reading is for people (view) and admins. Every call is in the audit log."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.context import AppContext
from retailor.api.endpoints import QueryParam, endpoint
from retailor.api.http import json_response, query_int, read_body
from retailor.api.problems import ProblemError
from retailor.api.routes.customers import known_customer
from retailor.decision import customers as customer_360
from retailor.domain.access import Scope
from retailor.domain.events import Channel, ConsentPurpose
from retailor.domain.ids import IdChecked, Identifier
from retailor.domain.timestamps import EventTime
from retailor.ingest.ids import derived_event_id
from retailor.ingest.validation import Invalid

#: Where consent was recorded (a preference centre, a checkout box, a store form…).
Source = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
SOURCE = "http:/v1/customers/consent"


class ConsentChoice(msgspec.Struct, forbid_unknown_fields=True):
    """One purpose given (``granted: true``) or withdrawn."""

    purpose: ConsentPurpose
    granted: bool


class ConsentIn(IdChecked, forbid_unknown_fields=True, kw_only=True):
    """One purpose (``purpose`` and ``granted``) or several (``consents``; a purpose named
    twice: the last one counts), where it was recorded (``source``) and when
    (``timestamp``; default: now; at most a day ahead of the server's clock).
    ``event_id`` makes a retry safe (the event is stored once); without one, a request
    that gives a ``timestamp`` gets an id derived from what it records, else a new id."""

    purpose: ConsentPurpose | UnsetType = UNSET
    granted: bool | UnsetType = UNSET
    consents: (
        Annotated[list[ConsentChoice], msgspec.Meta(min_length=1, max_length=16)] | UnsetType
    ) = UNSET
    source: Source | None = None
    timestamp: EventTime = None
    channel: Channel | None = None
    event_id: Identifier | None = None

    def purposes(self) -> dict[str, bool]:
        """The choices, by purpose (a 422 problem when the body gives none or both forms)."""
        single = self.purpose is not UNSET or self.granted is not UNSET
        if single and self.consents is not UNSET:
            raise ProblemError(422, "give either purpose and granted, or consents, not both")
        if not isinstance(self.consents, UnsetType):
            return {c.purpose.value: c.granted for c in self.consents}
        if isinstance(self.purpose, UnsetType) or isinstance(self.granted, UnsetType):
            raise ProblemError(
                422,
                'give {"purpose": ..., "granted": true|false} or {"consents": [...]}; purposes: '
                + ", ".join(p.value for p in ConsentPurpose),
            )
        return {self.purpose.value: self.granted}


#: The body as the OpenAPI document shows it: one purpose, or several, never both.
ConsentBody = Annotated[
    ConsentIn,
    msgspec.Meta(
        extra_json_schema={
            "oneOf": [
                {"required": ["purpose", "granted"], "not": {"required": ["consents"]}},
                {
                    "required": ["consents"],
                    "not": {"anyOf": [{"required": ["purpose"]}, {"required": ["granted"]}]},
                },
            ]
        }
    ),
]


class PurposeState(msgspec.Struct):
    """A purpose's latest choice and when it was made."""

    granted: bool
    at: datetime


class ConsentChangeOut(msgspec.Struct):
    """One purpose given or withdrawn, by one ``consent_updated`` event."""

    purpose: str
    granted: bool
    source: str | None
    at: datetime
    event_id: str
    channel: str | None


class ConsentOut(msgspec.Struct):
    """A customer's consent now per purpose, and its history newest first."""

    customer_id: str
    consent: dict[str, PurposeState]
    history: list[ConsentChangeOut]


class ConsentRecorded(msgspec.Struct):
    """What a consent update stored (``duplicate``: the event id was stored before, and
    nothing new was) and the customer's consent now."""

    customer_id: str
    event_id: str
    duplicate: bool
    consent: dict[str, PurposeState]


_decoder = msgspec.json.Decoder(ConsentIn)


def _state(ctx: AppContext, key: str | None) -> dict[str, PurposeState]:
    held = ctx.profiles.consent(key) if key is not None else None
    return {p: PurposeState(granted, at) for p, (granted, at) in sorted((held or {}).items())}


@endpoint(
    "PUT",
    "/v1/customers/{customer_id}/consent",
    summary="Record consent given or withdrawn (a consent_updated event)",
    tag="customers",
    scope=Scope.SERVE,
    body=ConsentBody,
    response=ConsentRecorded,
    errors=(400, 404, 413, 422, 503),
)
async def put_consent(request: Request, ctx: AppContext) -> Response:
    """Stores exactly the ``consent_updated`` event a client could send to
    ``POST /v1/events`` (``properties``: ``purposes`` and ``source``), through the same
    writer: it is answered once durable, and the profile, segments, decisions and exports
    see it like any event. For a serve key (a preference centre's back end) or an admin
    key. The customer is named by any identifier: a plain id no one knows yet is a new
    customer id; ``email:…`` and the other written kinds must be known (404 otherwise)."""
    received_at = datetime.now(UTC)
    identifier = request.path_params["customer_id"]
    body = await read_body(request, 64 * 1024)
    try:
        wanted = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ProblemError(422, f"not a consent update: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ProblemError(400, f"malformed JSON: {exc}") from None
    purposes = wanted.purposes()
    await ctx.catch_up()  # who the identifier is, as every worker knows it
    subject = customer_360.consent_subject(ctx.profiles, identifier)
    if subject is None:
        raise ProblemError(404, f"no customer known by {identifier!r}")
    event = _event(wanted, purposes, subject)
    try:
        stored = ctx.validator.from_json(msgspec.json.encode(event), received_at)
    except Invalid as exc:
        raise ProblemError(422, str(exc)) from None
    result = await ctx.write([stored], [])
    ctx.metrics.count_events(SOURCE, result.accepted, len(result.duplicates), 0)
    key = ctx.profiles.resolve(subject[1])
    return json_response(
        ConsentRecorded(
            customer_id=key or subject[1],
            event_id=stored.event_id,
            duplicate=stored.event_id in result.duplicates,
            consent=_state(ctx, key),
        )
    )


def _event(wanted: ConsentIn, purposes: dict[str, bool], subject: tuple[str, str]) -> Any:
    """The ``consent_updated`` event of a consent update, as ``POST /v1/events`` takes it."""
    timestamp = wanted.timestamp
    when = timestamp.isoformat() if isinstance(timestamp, datetime) else timestamp
    event_id = wanted.event_id
    if event_id is None:
        event_id = (
            derived_event_id("consent", *subject, msgspec.json.encode(purposes).decode(),
                             wanted.source or "", str(when))
            if when is not None
            else f"consent-{uuid.uuid4().hex}"
        )  # fmt: skip
    properties: dict[str, Any] = {"purposes": purposes}
    if wanted.source is not None:
        properties["source"] = wanted.source
    event: dict[str, Any] = {
        "event_id": event_id,
        "type": "consent_updated",
        subject[0]: subject[1],
        "properties": properties,
    }
    if when is not None:
        event["timestamp"] = when
    if wanted.channel is not None:
        event["channel"] = wanted.channel.value
    return event


@endpoint(
    "GET",
    "/v1/customers/{customer_id}/consent",
    summary="A customer's consent now and its history",
    tag="customers",
    scope=Scope.VIEW,
    response=ConsentOut,
    query=(
        QueryParam("limit", "how many consent_updated events the history reads, newest "
                   "first (1 to 1,000; default 100)",
                   {"type": "integer", "minimum": 1, "maximum": 1000}),
    ),
    errors=(404, 422),
)  # fmt: skip
async def get_consent(request: Request, ctx: AppContext) -> Response:
    """The latest choice per purpose (as decisions and exports read it) and the history
    of choices, newest first, read from the ``consent_updated`` events of every
    identifier linked to the customer: purpose, granted, source, time, event id."""
    limit = query_int(request, "limit", 100, 1, min(1000, ctx.settings.timeline_max))
    key = await known_customer(ctx, request.path_params["customer_id"])
    changes = await asyncio.to_thread(
        customer_360.consent_history, ctx.profiles, ctx.storage.events, key, limit
    )
    return json_response(
        ConsentOut(
            customer_id=key,
            consent=_state(ctx, key),
            history=[
                ConsentChangeOut(c.purpose, c.granted, c.source, c.at, c.event_id, c.channel)
                for c in changes
            ],
        )
    )
