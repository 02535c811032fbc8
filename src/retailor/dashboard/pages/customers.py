"""The customer pages: ``/dashboard/customers``, a lookup by any identifier with the
customers of the newest events, and ``/dashboard/customers/{id}``, one customer's 360.

Everything comes from the functions the API answers with (``decision.customers``):
``customer_view`` (``GET /v1/customers/{id}``), ``customer_merges``
(``/v1/customers/{id}/identity``), ``customer_events`` (``/v1/customers/{id}/events``),
``customer_decisions`` (``/v1/customers/{id}/decisions``) and ``preview_placements``
(``/v1/customers/{id}/preview``: what a decision would answer now, decided by nothing).
Every value here — ids, traits, attributes, queries, payloads — was sent by shoppers or
their channels: the templates show it as text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from retailor.dashboard.context import DashboardContext
from retailor.dashboard.registry import page
from retailor.dashboard.rendering import render
from retailor.dashboard.sessions import PREFIX, Session
from retailor.decision import customers as customer_360
from retailor.domain.decisions import DecisionPreview
from retailor.domain.events import Event
from retailor.domain.ids import MAX_ID_LENGTH
from retailor.identity.graph import MergeRecord
from retailor.storage.facts import DecisionFact

#: How many customers of the newest events the lookup page lists.
RECENT_CUSTOMERS = 15
#: How many events and decisions the timeline shows (each).
TIMELINE_EVENTS = 50
TIMELINE_DECISIONS = 50
#: The decisions read are those of the last days (the API's default range).
DECISION_DAYS = 30
#: The longest identifier the lookup takes (``email:`` and the like before an id).
MAX_LOOKUP = MAX_ID_LENGTH + 32
#: How much of an event's properties a timeline line shows.
PROPERTIES_SHOWN = 300


def customer_url(key: str) -> str:
    """The page of customer ``key`` (any character of an id quoted)."""
    return f"{PREFIX}/customers/{quote(key, safe='')}"


@dataclass(frozen=True)
class TimelineEntry:
    """A line of the timeline: an event or a decision, when, what and where."""

    at: datetime
    kind: str  # "event" or "decision"
    what: str
    channel: str
    detail: str
    event_id: str = ""


@dataclass(frozen=True)
class Customer360:
    """What the customer page shows."""

    view: customer_360.CustomerView
    merges: list[MergeRecord]
    events: list[Event]
    decisions: list[DecisionFact] | None  # None: no report facts on this server
    previews: list[DecisionPreview]
    decisions_from: datetime


def _properties(event: Event) -> str:
    """An event's properties as compact JSON text (cut short), shown escaped."""
    if not event.properties:
        return ""
    text = msgspec.json.encode(event.properties).decode()
    return text if len(text) <= PROPERTIES_SHOWN else text[: PROPERTIES_SHOWN - 1] + "…"


def timeline(found: Customer360, name: Any) -> list[TimelineEntry]:
    """Events and decisions, newest first; ``name(item_id)`` names catalog items."""
    entries = [
        TimelineEntry(
            at=e.timestamp,
            kind="event",
            what=e.type.value,
            channel=e.channel.value if e.channel else "-",
            detail=_properties(e),
            event_id=e.event_id,
        )
        for e in found.events
    ]
    for d in found.decisions or []:
        shown = ", ".join(name(i) for i in d.items[:5]) + (" …" if len(d.items) > 5 else "")
        parts = [f"showed {shown}" if d.items else "showed no item"]
        if d.offer_ids:
            parts.append("offers " + ", ".join(d.offer_ids))
        if d.experiment_id:
            parts.append(f"experiment {d.experiment_id}: {d.variant}")
        if d.holdout:
            parts.append("held out")
        parts.append(f"{d.impressions} seen, {d.clicks} clicked, {d.redemptions} redeemed")
        entries.append(
            TimelineEntry(
                at=d.at,
                kind="decision",
                what=f"decision on {d.placement}",
                channel=d.channel or "-",
                detail="; ".join(parts),
                event_id=d.decision_id,
            )
        )
    entries.sort(key=lambda t: t.at, reverse=True)
    return entries


def read_customer(ctx: DashboardContext, key: str) -> Customer360 | None:
    """The 360 of customer ``key`` (None: no profile)."""
    view = customer_360.customer_view(ctx.profiles, ctx.segments, key)
    if view is None:
        return None
    now = datetime.now(UTC)
    start = now - timedelta(days=DECISION_DAYS)
    decisions = None
    if ctx.reports is not None:
        ctx.reports.refresh()  # as the API: fold what is new in the logs first
        decisions = customer_360.customer_decisions(
            ctx.reports.facts, ctx.profiles, key, start, now, TIMELINE_DECISIONS
        )
    return Customer360(
        view=view,
        merges=customer_360.customer_merges(ctx.profiles, key),
        events=customer_360.customer_events(ctx.profiles, ctx.storage.events, key, TIMELINE_EVENTS),
        decisions=decisions,
        previews=customer_360.preview_placements(ctx.decisions.engine, ctx.profiles, key),
        decisions_from=start,
    )


def _lookup_page(
    request: Request, ctx: DashboardContext, asked: str, message: str, status: int = 200
) -> Response:
    recent = customer_360.recently_active(ctx.profiles, ctx.storage.events, RECENT_CUSTOMERS)
    return render(
        request,
        "customers.html",
        status=status,
        title="Customers",
        asked=asked,
        message=message,
        recent=recent,
        customer_url=customer_url,
    )


@page("/customers")
async def customers(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """The lookup form; a known identifier leads to its customer's page (303)."""
    asked = request.query_params.get("id", "")
    identifier = asked.strip()
    message = ""
    if "id" in request.query_params:
        if not identifier:
            message = "Give an identifier to look up."
        elif len(identifier) > MAX_LOOKUP:
            message = f"That identifier is too long (at most {MAX_LOOKUP:,} characters)."
        else:
            await ctx.catch_up()
            key = ctx.profiles.resolve(identifier)
            if key is not None:
                return RedirectResponse(customer_url(key), 303)
            message = (
                f"No customer is known by “{identifier}”. Give a customer id, a visitor id, "
                "or email:…, phone:…, loyalty_card:…, payment_token:…"
            )
    return await asyncio.to_thread(_lookup_page, request, ctx, identifier, message)


@page("/customers/{customer_id:path}")
async def customer(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """One customer's 360 (any identifier of theirs in the path leads to the canonical one)."""
    identifier = request.path_params["customer_id"]
    if not identifier:
        return RedirectResponse(PREFIX + "/customers", 303)
    await ctx.catch_up()
    key = ctx.profiles.resolve(identifier)
    if key is None:
        raise HTTPException(404, "No customer is known by that identifier.")
    if key != identifier:
        return RedirectResponse(customer_url(key), 303)
    found = await asyncio.to_thread(read_customer, ctx, key)
    if found is None:
        raise HTTPException(404, "No profile for this customer.")
    catalog, offers = ctx.decisions.catalog, ctx.decisions.offers

    def item_name(item_id: str) -> str:
        facts = catalog.get(item_id)
        return facts.label() if facts is not None else item_id

    def offer_names(offer_ids: list[str]) -> str:
        named = [offers.get(offer_id) for offer_id in offer_ids]
        return ", ".join(
            (o.name or o.offer_id) if o is not None else i
            for i, o in zip(offer_ids, named, strict=True)
        )

    return render(
        request,
        "customer.html",
        title=f"Customer {key}",
        c=found,
        traits=found.view.traits,
        timeline=timeline(found, item_name),
        item_name=item_name,
        offer_names=offer_names,
        as_text=lambda value: msgspec.json.encode(value).decode(),
    )
