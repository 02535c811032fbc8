"""Keeping the fact tables up to date from the logs, incrementally, and rebuilding any
time range of them with the same code.

A run (:meth:`FactUpdater.run_once`) folds only what is new:

1. **decisions** logged after the decision-log cursor, up to ``settle_seconds`` ago (a
   decision's write reaches the log a moment after it is stamped), become decision facts
   with their exposures, marked with the feedback they have so far. The log is read in
   the order it was written (``DecisionLog.logged_between``), not by the decisions'
   times: a decision made "in the past" (a replay with a ``timestamp``) is folded all
   the same, and the orders it may claim that have settled already (placed before the
   previous run's horizon) are attributed again;
2. **feedback** (from the API, and from events naming a decision, as the decision log
   keeps it) on the decisions logged in the last ``feedback_hours`` marks their exposures:
   the updater re-reads the feedback of those decisions and writes the marks of those
   whose feedback changed;
3. **events** after the event-log cursor: orders, refunds, add-to-carts and redemptions
   naming a decision (``analytics.folding``); orders are attributed
   (``analytics.ordering``), again when a refund or a redemption for them arrives; the
   marks of events are applied again in the runs of the next two settle times (marks are
   idempotent), so a decision folded after its add-to-cart still gets it;
4. orders placed in the last ``settle_seconds`` are attributed again until they settle,
   so that decisions and feedback on their way to the logs count.

Cursors are saved in the fact store after each run: the decision cursor is the run's
horizon (every decision logged up to it is folded), which is also how far orders may
have settled. :meth:`FactUpdater.recompute` deletes
the facts of a time range and folds the logs of that range through the same steps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from retailor.analytics.folding import (
    EventFacts,
    FactSources,
    OrderPlaced,
    decision_fact,
    feedback_marks,
    fold_events,
)
from retailor.analytics.ordering import OrderToAttribute, attribute_orders, longest_window
from retailor.domain.decisions import DecisionRecord
from retailor.domain.privacy import Subject
from retailor.storage.base import DecisionLog, EventLog
from retailor.storage.facts import ExposureMark, FactCursors, FactStore, LineFact
from retailor.storage.schema import table_to_events

log = logging.getLogger("retailor.analytics")

#: How far behind now decisions are folded: a decision reaches the log a moment late.
SETTLE_SECONDS = 10.0
#: How long after a decision its feedback is looked for in each run.
FEEDBACK_HOURS = 25.0
_EVENT_TYPES = ("order_completed", "order_refunded", "product_added", "offer_redeemed")
_TYPES_OF_INTEREST = pa.array(_EVENT_TYPES)
_BATCH = 5_000
#: Events folded per batch of a run (a run rests between batches as long as one took).
_EVENT_CHUNK = 5_000
_LAST_ID = "\U0010ffff"
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class RunSummary:
    """What a run folded."""

    decisions: int = 0
    marked: int = 0
    events: int = 0
    orders: int = 0
    seconds: float = 0.0


def _of_interest(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The events the facts take (orders, refunds, add-to-carts, redemptions), picked in
    Arrow: the others are never turned into Python objects."""
    return batch.filter(pc.is_in(batch.column("type"), value_set=_TYPES_OF_INTEREST))


class FactUpdater:
    """Folds the decision and event logs into a fact store (see the module docstring).
    Thread-safe: one run or recompute at a time."""

    def __init__(
        self,
        decisions: DecisionLog,
        events: EventLog,
        facts: FactStore,
        sources: FactSources | None = None,
        *,
        settle_seconds: float = SETTLE_SECONDS,
        feedback_hours: float = FEEDBACK_HOURS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        horizon: Callable[[], int] | None = None,
    ) -> None:
        """``horizon`` brings who-is-who (the identity graph ``sources`` reads) up to the
        event log and answers the position it reached: a run folds the events up to there
        and no further, so no order is attributed before the login that came ahead of it
        in the log is known. None: the log's own newest position (a process whose
        projections fold every append before it is acknowledged)."""
        self.decisions, self.events, self.facts = decisions, events, facts
        self._horizon = horizon or events.position
        self.sources = sources or FactSources()
        self.settle = timedelta(seconds=settle_seconds)
        self.feedback_span = timedelta(hours=feedback_hours)
        self.clock = clock
        self._lock = threading.Lock()
        #: decisions whose feedback is still looked for: id -> (time, feedback seen)
        self._open: dict[str, tuple[datetime, int]] | None = None
        #: marks from events that may name decisions not folded yet, with when read
        self._waiting: list[tuple[datetime, ExposureMark]] = []
        self.last_run: datetime | None = None

    # -- the incremental run ---------------------------------------------------------------

    def run_once(self) -> RunSummary:
        """Fold what is new in the logs; see the module docstring."""
        with self._lock:
            started = time.perf_counter()
            now = self.clock()
            until = now - self.settle
            cursors = self.facts.cursors()
            opened = self._opened(until)
            # orders up to here may have settled in earlier runs: a decision made before
            # it but folded only now (a replay, or one that reached the log late) makes
            # them be attributed again
            settled_before = cursors.decision[0] if cursors.decision is not None else None
            cursor, folded = cursors.decision, 0
            late: list[DecisionRecord] = []
            while logged := self.decisions.logged_between(cursor, until, _BATCH):
                records = [d.record for d in logged]
                counts = self._fold_decisions(records)
                for d in logged:
                    opened[d.record.decision_id] = (
                        d.logged_at,
                        counts.get(d.record.decision_id, 0),
                    )
                late += [r for r in records if settled_before is None or r.at <= settled_before]
                cursor = (logged[-1].logged_at, logged[-1].record.decision_id)
                folded += len(records)
            # every decision logged up to ``until`` is folded: the next run reads after it
            cursor = (until, _LAST_ID) if folded or cursor is not None else None
            for decision_id, (logged_at, _) in list(opened.items()):
                if logged_at < until - self.feedback_span:
                    del opened[decision_id]
            marked = self._refresh_feedback(opened)
            upto = self._horizon()
            position, seen = cursors.event_position, 0
            # a long stretch of the log (the first run over a history) is folded a batch
            # at a time, resting between batches as long as the last one took: requests
            # sharing the interpreter and the database get at least half of it meanwhile
            if upto != (position or 0):
                rest = 0.0
                for batch in self.events.read_after(position, upto, batch_size=_EVENT_CHUNK):
                    time.sleep(rest)
                    began = time.perf_counter()
                    seen += batch.num_rows
                    pending = EventFacts()
                    fold_events(table_to_events(_of_interest(batch)), pending)
                    self._apply(pending, until)
                    self._waiting.extend((now, m) for m in pending.marks)
                    rest = time.perf_counter() - began
                position = upto
            # marks read from events may name decisions not folded yet: they are applied
            # again (marks are idempotent) until every decision logged up to a settle time
            # after they were read is folded
            self._waiting = [(read, m) for read, m in self._waiting if read + self.settle > until]
            self.facts.mark([m for _, m in self._waiting])
            settled = self.facts.unsettled_orders(until)
            touched = sorted(set(settled) | set(self._claimable(late, settled_before)))
            self._reattribute(touched, until)
            self.facts.save_cursors(FactCursors(cursor, position))
            self.last_run = until
            return RunSummary(folded, marked, seen, len(touched),
                              time.perf_counter() - started)  # fmt: skip

    def _claimable(
        self, decisions: Sequence[DecisionRecord], settled_before: datetime | None
    ) -> list[str]:
        """The stored orders that ``decisions`` (folded late) may claim: placed by the same
        person after one of them, within the longest attribution window, and no later than
        ``settled_before`` (later ones are attributed again anyway until they settle)."""
        if not decisions:
            return []
        span = longest_window(self.sources.windows())
        people: dict[str, list[datetime]] = defaultdict(list)
        for r in decisions:
            person = self.sources.person(r.customer, r.anonymous_id)
            ids = {i for i in (r.customer, r.anonymous_id, person) if i}
            if person is not None:
                ids |= set(self.sources.identifiers(person))
            for identifier in ids:
                people[identifier].append(r.at)
        start = min(r.at for r in decisions)
        end = max(r.at for r in decisions) + span
        if settled_before is not None:
            end = min(end, settled_before)
        if end <= start:
            return []
        found = []
        for order in self.facts.orders_between(start, end + timedelta(microseconds=1)):
            buyer = (order.customer_id, order.anonymous_id, order.person)
            made = [at for i in buyer if i for at in people.get(i, ())]
            if any(at < order.at <= at + span for at in made):
                found.append(order.order_id)
        return found

    def _opened(self, until: datetime) -> dict[str, tuple[datetime, int]]:
        """The decisions whose feedback is looked for, by when they were logged (read
        from the log after a start)."""
        if self._open is None:
            self._open = {}
            after = (until - self.feedback_span, _LAST_ID)
            cursor = self.facts.cursors().decision
            if cursor is not None:
                while logged := self.decisions.logged_between(after, cursor[0], _BATCH):
                    for d in logged:
                        self._open[d.record.decision_id] = (d.logged_at, -1)
                    after = (logged[-1].logged_at, logged[-1].record.decision_id)
        return self._open

    def _refresh_feedback(self, opened: dict[str, tuple[datetime, int]]) -> int:
        """Mark the exposures of open decisions whose feedback changed; how many."""
        ids = list(opened)
        changed = 0
        for chunk in range(0, len(ids), _BATCH):
            part = ids[chunk : chunk + _BATCH]
            by_decision = defaultdict(list)
            for f in self.decisions.feedback_for(part):
                by_decision[f.decision_id].append(f)
            marks = []
            for decision_id, records in by_decision.items():
                at, seen = opened[decision_id]
                if len(records) != seen:
                    opened[decision_id] = (at, len(records))
                    marks.extend(feedback_marks(records))
                    changed += 1
            self.facts.mark(marks)
        return changed

    # -- the steps, shared with recompute --------------------------------------------------

    def _fold_decisions(self, records: Sequence[DecisionRecord]) -> dict[str, int]:
        """Store decision facts with the marks of the feedback they have so far (folding
        a decision again thus keeps its feedback); the feedback records per decision."""
        self.facts.add_decisions([decision_fact(r, self.sources) for r in records])
        feedback = self.decisions.feedback_for([r.decision_id for r in records])
        self.facts.mark(feedback_marks(feedback))
        counts: dict[str, int] = defaultdict(int)
        for f in feedback:
            counts[f.decision_id] += 1
        return counts

    def _apply(
        self,
        pending: EventFacts,
        until: datetime,
        *,
        orders_in: Callable[[datetime], bool] = lambda at: True,
    ) -> int:
        """Write what events gave: marks, then new orders and the refunded or redeemed
        ones, attributed. ``orders_in`` says which new orders to take (by time)."""
        self.facts.mark(pending.marks)
        placed = {k: o for k, o in pending.orders.items() if orders_in(o.at)}
        touched = set(pending.orders) | {r.order_id for r in pending.refunds}
        touched |= {m.order_id for m in pending.marks if m.order_id}
        known = self._stored_orders(touched - set(placed))
        todo = {order_id: self._fresh(order) for order_id, order in placed.items()}
        for order_id, stored in known.items():
            todo.setdefault(order_id, stored)
        for refund in pending.refunds:
            refunded = todo.get(refund.order_id)
            if refunded is None:
                continue  # a refund of an order not (or not yet) known: nothing to reverse
            for line in refunded.lines:
                if refund.items is None or line.item_id in refund.items:
                    line.refunded = True
        self._write(list(todo.values()), until)
        return len(todo)

    def _fresh(self, order: OrderPlaced) -> OrderToAttribute:
        unit_cost = self.sources.unit_cost
        lines = [
            LineFact(order_id=order.order_id, line=index, item_id=item, at=order.at,
                     quantity=quantity, price=price, unit_cost=unit_cost(item),
                     revenue=quantity * price, margin=0.0)
            for index, (item, quantity, price) in enumerate(order.lines)
        ]  # fmt: skip
        return OrderToAttribute(order.order_id, order.at, order.customer_id,
                                order.anonymous_id, lines)  # fmt: skip

    def _stored_orders(self, order_ids: Iterable[str]) -> dict[str, OrderToAttribute]:
        """Orders held as facts, ready to attribute again."""
        wanted = sorted(order_ids)
        if not wanted:
            return {}
        lines: dict[str, list[LineFact]] = defaultdict(list)
        for line in self.facts.lines_of(wanted):
            lines[line.order_id].append(line)
        found: dict[str, OrderToAttribute] = {}
        for order_id in wanted:
            order = self.facts.order(order_id)
            if order is not None and lines.get(order_id):
                found[order_id] = OrderToAttribute(
                    order_id, order.at, order.customer_id, order.anonymous_id, lines[order_id]
                )
        return found

    def _reattribute(self, order_ids: Sequence[str], until: datetime) -> None:
        self._write(list(self._stored_orders(order_ids).values()), until)

    def _write(self, orders: list[OrderToAttribute], until: datetime) -> None:
        orders.sort(key=lambda o: (o.at, o.order_id))
        for chunk in range(0, len(orders), 500):
            facts, lines = attribute_orders(
                orders[chunk : chunk + 500], self.facts, self.sources, settled_until=until
            )
            self.facts.put_orders(facts, lines)

    # -- recompute ---------------------------------------------------------------------------

    def erase(self, subject: Subject) -> int:
        """Remove ``subject``'s facts (``FactStore.erase``), never in the middle of a fold
        or a recompute; rows removed."""
        with self._lock:
            return self.facts.erase(subject)

    def recompute(
        self, start: datetime, end: datetime, progress: Progress | None = None
    ) -> RunSummary:
        """Delete the facts of ``[start, end)`` and fold the logs of that range again
        (decisions, their feedback, then the events from ``start`` on: orders placed in
        the range, refunds and marks whenever they came). ``progress(fraction, step)`` is
        told how far it got."""
        report = progress or (lambda fraction, step: None)
        with self._lock:
            started = time.perf_counter()
            until = self.clock() - self.settle
            last = min(end - timedelta(microseconds=1), until)
            self.facts.delete_between(start, end)
            report(0.0, "decisions")
            after: tuple[datetime, str] | None = (start - timedelta(microseconds=1), _LAST_ID)
            folded = marked = 0
            span = max((end - start).total_seconds(), 1.0)
            while records := self.decisions.decisions_between(after, last, _BATCH):
                marked += sum(self._fold_decisions(records).values())
                folded += len(records)
                after = (records[-1].at, records[-1].decision_id)
                report(0.5 * min(1.0, (after[0] - start).total_seconds() / span), "decisions")
            self._open = None  # feedback seen is counted again on the next run
            report(0.5, "orders")
            seen = orders = 0
            for batch in self.events.scan(start=start, types=_EVENT_TYPES):
                pending = EventFacts()
                events = table_to_events(batch)
                fold_events(events, pending)
                orders += self._apply(pending, until, orders_in=lambda at: start <= at < end)
                seen += len(events)
                if events:
                    reached = max(e.timestamp for e in events)
                    report(0.5 + 0.5 * min(1.0, (reached - start).total_seconds() / span), "orders")
            report(1.0, "done")
            return RunSummary(folded, marked, seen, orders, time.perf_counter() - started)
