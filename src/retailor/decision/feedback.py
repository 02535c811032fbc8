"""Feedback on decisions, from ``POST /v1/feedback`` and from events that carry a
``decision_id``: kept in the decision log, counted against offer budgets (a redemption
that would exceed a budget or limit is refused), and turned into rewards for the policy.
An event counts only for a decision made for the same person (its customer or visitor
resolves to the decision's): events come with the public ingest key. An event whose
identity does not match yet waits (up to :data:`IDENTITY_GRACE_SECONDS`, re-checked every
few seconds) for the login that may link it, such as a click from an email on a new
device followed by a sign-in.

Rewards: in ``redemption`` mode a redeemed offer is worth 1; in ``margin`` mode a redeemed
or purchased offer is worth ``(value - cost) / reward_scale``, where ``value`` is the
margin-weighted revenue the caller reports.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from retailor.decision.choosing import RewardTracker
from retailor.decision.offers import OfferBook, OfferLedger
from retailor.decision.recorder import DecisionRecorder
from retailor.domain.decisions import DecisionRecord, Feedback, FeedbackRecord
from retailor.domain.events import Event, EventType, order_revenue

log = logging.getLogger("retailor.decisions")

_EVENT_FEEDBACK = {
    EventType.OFFER_VIEWED: "viewed",
    EventType.OFFER_CLICKED: "clicked",
    EventType.OFFER_REDEEMED: "redeemed",
    EventType.PRODUCT_VIEWED: "clicked",
    EventType.ORDER_COMPLETED: "purchased",
}


#: How long an event naming someone else's decision waits for a login that links them.
IDENTITY_GRACE_SECONDS = 1800.0
#: How often waiting events are checked again, and how many wait at most (the oldest go).
IDENTITY_RECHECK_SECONDS, MAX_WAITING = 2.0, 5_000
#: How old feedback sent with a timestamp may be.
FEEDBACK_PAST_DAYS = 365
_DECISION_ID = re.compile(r"^[0-9a-f]{26}$")


def looks_like_decision_id(value: str) -> bool:
    """Whether ``value`` has the shape of the ids this engine makes."""
    return bool(_DECISION_ID.fullmatch(value))


class UnknownDecisionError(LookupError):
    """No decision has this id."""


class FeedbackError(ValueError):
    """Feedback that contradicts its decision (an offer or item it did not show)."""


class InvalidFeedbackError(ValueError):
    """Feedback that is wrong whatever its decision (a time out of range)."""


class BudgetExhaustedError(RuntimeError):
    """The redemption would exceed the offer's budget or redemption limit."""


class FeedbackService:
    """Records feedback and rewards the policy (see the module docstring)."""

    def __init__(
        self,
        recorder: DecisionRecorder,
        book: OfferBook,
        ledger: OfferLedger,
        tracker: RewardTracker,
        *,
        reward_mode: str = "redemption",
        reward_scale: float = 100.0,
        belongs: Callable[[Event, DecisionRecord], bool] | None = None,
        identity_grace: float = IDENTITY_GRACE_SECONDS,
    ) -> None:
        self.recorder, self.book, self.ledger, self.tracker = recorder, book, ledger, tracker
        self._belongs = belongs
        self._grace = identity_grace
        self._waiting: deque[tuple[float, Event]] = deque()
        self._rechecked = 0.0
        self.reward_mode, self.reward_scale = reward_mode, reward_scale
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def record(self, feedback: Feedback, source: str = "api") -> str:
        """Check, count and keep one piece of feedback; returns ``"counted"`` or
        ``"duplicate"`` (an offer redeemed twice for one decision)."""
        if feedback.timestamp is not None:
            now = datetime.now(UTC)
            at = (
                feedback.timestamp
                if feedback.timestamp.tzinfo
                else feedback.timestamp.replace(tzinfo=UTC)
            )
            if not now - timedelta(days=FEEDBACK_PAST_DAYS) <= at <= now + timedelta(days=1):
                raise InvalidFeedbackError(
                    f"timestamp {feedback.timestamp.isoformat()} is not within the last "
                    f"{FEEDBACK_PAST_DAYS} days (leave it out to mean now)"
                )
        if feedback.value is not None and not math.isfinite(feedback.value):
            raise InvalidFeedbackError("value must be a finite number")
        decision = self.recorder.get(feedback.decision_id, wait=True)
        if decision is None:
            raise UnknownDecisionError(feedback.decision_id)
        outcome = self._count(decision, feedback, strict=True)
        if outcome != "duplicate":  # a redemption is kept once, however often it is reported
            self.recorder.store.add_feedback([self._record(feedback, source)])
        return outcome

    def _record(self, feedback: Feedback, source: str) -> FeedbackRecord:
        return FeedbackRecord(
            decision_id=feedback.decision_id,
            at=feedback.timestamp or datetime.now(UTC),
            type=feedback.type,
            item_id=feedback.item_id,
            offer_id=feedback.offer_id,
            value=feedback.value,
            source=source,
        )

    def _count(self, decision: DecisionRecord, feedback: Feedback, *, strict: bool) -> str:
        shown = {o.offer_id for o in decision.offers}
        if feedback.offer_id is not None and feedback.offer_id not in shown:
            if strict:
                raise FeedbackError(
                    f"offer {feedback.offer_id!r} was not part of decision {decision.decision_id}"
                    + (f"; it offered {', '.join(sorted(shown))}" if shown else "; it offered none")
                )
            return "ignored"
        if (
            feedback.item_id is not None
            and feedback.type in ("viewed", "clicked")
            and feedback.item_id not in decision.items
        ):
            if not strict:
                return "ignored"
            raise FeedbackError(
                f"item {feedback.item_id!r} was not part of decision {decision.decision_id}"
            )
        if feedback.offer_id is None:
            return "counted"
        offer = self.book.get(feedback.offer_id)
        if feedback.type == "redeemed" and offer is not None:
            outcome = self.ledger.redeem(offer, decision.decision_id)
            if outcome == "exhausted":
                raise BudgetExhaustedError(
                    f"offer {offer.offer_id!r} has no budget or redemptions left"
                )
            if outcome == "duplicate":
                return outcome
        reward = self._reward(feedback, offer.redemption_cost() if offer else 0.0)
        if reward is not None:
            self.tracker.reward(decision.decision_id, feedback.offer_id, reward)
        return "counted"

    def _reward(self, feedback: Feedback, cost: float) -> float | None:
        if self.reward_mode == "margin":
            if feedback.type in ("redeemed", "purchased") and feedback.value is not None:
                return (feedback.value - cost) / self.reward_scale
            return None
        return 1.0 if feedback.type == "redeemed" else None

    # --- events that carry a decision id ---------------------------------------------

    def _wait(self, first_seen: float, event: Event) -> None:
        """Keep an event whose identity does not match its decision yet (bounded: when
        full, the oldest is dropped)."""
        with self._lock:
            dropped = self._waiting.popleft()[1] if len(self._waiting) >= MAX_WAITING else None
            self._waiting.append((first_seen, event))
        if dropped is not None:
            log.warning(
                "too many events wait for a login to link them to their decisions: event %s "
                "dropped",
                dropped.event_id,
            )

    def observe(self, events: Sequence[Event]) -> None:
        """Called from the ingest path with stored events; queues the relevant ones."""
        for event in events:
            if event.decision_id and event.type in _EVENT_FEEDBACK:
                self._events.put(event)

    def pump(self) -> int:
        """Process queued event feedback and expire old choices (from the log's thread).
        A bad event is skipped with a log line; it never costs the others."""
        handled = 0
        records: list[FeedbackRecord] = []
        now = time.monotonic()
        batch: list[tuple[float, Event]] = []
        with self._lock:
            if self._waiting and now - self._rechecked >= IDENTITY_RECHECK_SECONDS:
                self._rechecked = now
                batch.extend(self._waiting)
                self._waiting.clear()
        while True:
            try:
                batch.append((now, self._events.get_nowait()))
            except queue.Empty:
                break
        expired: list[Event] = []
        for first_seen, event in batch:
            if not looks_like_decision_id(str(event.decision_id)):
                continue  # not one of ours: no log look-up for it
            try:
                feedback = _feedback_of(event)
                decision = self.recorder.get(feedback.decision_id)
                if decision is None:
                    continue
                if self._belongs is not None and not self._belongs(event, decision):
                    if now - first_seen < self._grace:
                        self._wait(first_seen, event)
                    else:
                        expired.append(event)
                    continue
                try:
                    outcome = self._count(decision, feedback, strict=False)
                except BudgetExhaustedError:
                    log.warning(
                        "offer %s redeemed over its budget (event %s): logged, not counted; "
                        "validate redemptions with POST /v1/feedback to refuse them",
                        feedback.offer_id,
                        event.event_id,
                    )
                    feedback = msgspec.structs.replace(feedback, type="redeemed_over_budget")
                    outcome = "over budget"
                if outcome not in ("ignored", "duplicate"):
                    records.append(self._record(feedback, "event"))
                handled += 1
            except Exception:
                log.exception("could not take feedback from event %s", event.event_id)
        if expired:
            log.warning(
                "%d events named decisions made for someone else and no login linked them "
                "within %.0f s: ignored (the first: event %s, decision %s)",
                len(expired),
                self._grace,
                expired[0].event_id,
                expired[0].decision_id,
            )
        if records:
            try:
                self.recorder.store.add_feedback(records)
            except Exception:
                log.exception("could not keep %d pieces of feedback from events", len(records))
        self.tracker.sweep()
        return handled


def _feedback_of(event: Event) -> Feedback:
    props = event.properties
    kind = _EVENT_FEEDBACK[event.type]
    value = None
    if event.type is EventType.ORDER_COMPLETED:
        value = order_revenue(props)
    if value is None:
        raw = props.get("value")
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            value = float(raw)
    return Feedback(
        decision_id=str(event.decision_id),
        type=kind,  # type: ignore[arg-type]
        item_id=str(props["item_id"]) if "item_id" in props else None,
        offer_id=str(props["offer_id"]) if "offer_id" in props else None,
        value=value,
        timestamp=event.timestamp,
    )
