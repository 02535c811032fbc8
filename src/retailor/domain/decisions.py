"""Decisions as data: what a channel asks (placement, who, context), what Retailor answers
(items with reasons, offers with the probability they were chosen with), the feedback
that follows, and the record the decision log keeps of each decision."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from retailor.domain.events import Channel
from retailor.domain.ids import IdChecked, Identifier
from retailor.domain.timestamps import Timestamp

FeedbackType = Literal["viewed", "clicked", "redeemed", "purchased"]


class DecisionContext(Struct, kw_only=True, forbid_unknown_fields=True):
    """Where the customer is: the item on screen, the cart, a search query, the store and
    channel, the category being browsed."""

    item_id: str | None = None
    cart: list[str] = msgspec.field(default_factory=list)
    cart_value: Annotated[float, Meta(ge=0)] | None = None
    query: str | None = None
    store_id: str | None = None
    channel: Channel | None = None
    category: str | None = None


class DecisionRequest(IdChecked, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/decisions``: a placement, who (either id, or neither for a stranger), the
    context, and how many items and offers (placement defaults when absent)."""

    placement: Identifier
    customer_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    session_id: Identifier | None = None
    context: DecisionContext = msgspec.field(default_factory=DecisionContext)
    k: Annotated[int, Meta(ge=1, le=100)] | None = None
    offers: Annotated[int, Meta(ge=0, le=10)] | None = None
    exclude: list[str] = msgspec.field(default_factory=list)
    #: the time the decision is made as of (replays, simulations); default: now
    timestamp: Timestamp | None = None


class RerankRequest(IdChecked, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/rerank``: the retailer's own search results, best first, to re-order."""

    items: Annotated[list[str], Meta(min_length=1, max_length=1000)]
    customer_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    session_id: Identifier | None = None
    context: DecisionContext = msgspec.field(default_factory=DecisionContext)
    placement: Identifier = "search"
    timestamp: Timestamp | None = None


class DecidedItem(Struct, kw_only=True):
    item_id: str
    score: float
    reasons: list[str]
    source: str


class DecidedOffer(Struct, kw_only=True):
    offer_id: str
    name: str
    kind: str
    value: float
    probability: float


class Decision(Struct, kw_only=True):
    """The answer to a decision request."""

    decision_id: str
    placement: str
    customer: str | None
    items: list[DecidedItem]
    offers: list[DecidedOffer]
    model_versions: dict[str, int | None]
    personalized: bool
    fallback: str | None = None
    #: the experiment this answer was decided in (left out outside any experiment)
    experiment: DecidedExperiment | msgspec.UnsetType = msgspec.UNSET


class DecisionPreview(Struct, kw_only=True):
    """What a decision would answer now, made without deciding: the same items (scores,
    reasons, sources), without a decision id, logging nothing and exposing the person to
    no experiment (``experiment``: the variant they are in, or would be given). Offers are
    not drawn (a draw counts an impression against caps and budgets): ``offers`` is how
    many the placement draws and ``eligible_offers`` those a draw would choose among."""

    placement: str
    customer: str | None
    items: list[DecidedItem]
    offers: int
    eligible_offers: list[str]
    model_versions: dict[str, int | None]
    personalized: bool
    fallback: str | None = None
    holdout: bool | None = None
    experiment: DecidedExperiment | msgspec.UnsetType = msgspec.UNSET


class LoggedOffer(Struct, kw_only=True):
    """One offer slot of a logged decision: what was eligible, what was chosen and with
    which probability, and the features the policy saw."""

    offer_id: str
    probability: float
    eligible: list[str]
    features: dict[str, str]


class ExperimentAssignment(Struct, kw_only=True, omit_defaults=True):
    """The experiment a decision took part in, the variant it was given, the phase, and
    the unit assigned (recorded at its first exposure: a visitor who logged in since keeps
    the visitor unit). Records logged before phases existed have neither."""

    experiment_id: str
    variant: str
    phase: int | None = None
    unit: str | None = None


class DecidedExperiment(Struct, kw_only=True, omit_defaults=True):
    """The experiment an answer was decided in: its id, the variant, and the variant's
    ``parameters`` for the client to render (left out when it has none)."""

    id: str
    variant: str
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)


class DecisionRecord(Struct, kw_only=True, omit_defaults=True):
    """What the decision log keeps of one decision. ``experiment`` is set only for a
    decision made inside an experiment, and left out of the record's JSON otherwise;
    ``holdout`` is None when no global holdout is configured (or the request named
    nobody), True when the unit is held out of personalization, False otherwise."""

    decision_id: str
    at: Timestamp
    placement: str
    customer: str | None
    anonymous_id: str | None
    context: dict[str, Any]
    items: list[str]
    sources: list[str]
    offers: list[LoggedOffer]
    model_versions: dict[str, int | None]
    personalized: bool
    fallback: str | None
    latency_ms: float
    experiment: ExperimentAssignment | None = None
    holdout: bool | None = None


class Feedback(IdChecked, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/feedback``: what happened to a decision's item or offer."""

    decision_id: Identifier
    type: FeedbackType
    item_id: str | None = None
    offer_id: str | None = None
    value: float | None = None
    timestamp: Timestamp | None = None


class FeedbackRecord(Struct, kw_only=True):
    """Feedback as the decision log keeps it (from the API or from events)."""

    decision_id: str
    at: Timestamp
    type: str
    item_id: str | None
    offer_id: str | None
    value: float | None
    source: str  # "api" or "event"
