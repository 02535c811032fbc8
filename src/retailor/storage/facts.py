"""The ``FactStore`` port: the fact tables reports read, derived from the decision log and
the event log (``analytics.updater`` keeps them up to date; they can always be rebuilt).

Four tables, each a struct here and an Arrow schema for bulk loads and exports:

- **decisions**: one row per decision, with what it was (placement, channel, who, the
  person's canonical id, model versions, items, offers, campaigns, segments, experiment)
  and its per-decision counters (impressions, clicks, add-to-carts, redemptions, budget
  spent), which the store derives from the decision's exposures;
- **exposures**: one row per slot a decision showed (an item or an offer), with when it
  was first viewed, clicked, added to a cart and (offers) redeemed;
- **lines**: one row per order line, attributed to a decision or not (``decision_id``
  None), with its revenue and margin, zero once refunded;
- **orders**: one row per order, with the buyer's identifiers, its revenue net of refunds,
  whether it is engaged and its attributed revenue.

Times are aware UTC datetimes; ``day`` is the UTC date of ``at``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from retailor.domain.privacy import Subject

if TYPE_CHECKING:
    import pyarrow as pa

#: The tables a fact store keeps, as exports name them.
FACT_TABLES = ("decisions", "exposures", "lines", "orders")
#: What an exposure mark records: the slot's first time of each.
MarkKind = Literal["viewed", "clicked", "added", "redeemed"]


class DecisionFact(msgspec.Struct, kw_only=True):
    """One decision as reports see it. The counters are the store's (derived from the
    exposures); what is given for them on ``add_decisions`` is ignored."""

    decision_id: str
    at: datetime
    placement: str
    channel: str | None = None
    customer: str | None = None
    anonymous_id: str | None = None
    #: the canonical id of the person when the fact was made (None: a stranger)
    person: str | None = None
    #: ``"name:version"`` of every model that took part (``"name:-"`` without a version)
    model_versions: list[str] = msgspec.field(default_factory=list)
    items: list[str] = msgspec.field(default_factory=list)
    offer_ids: list[str] = msgspec.field(default_factory=list)
    #: what one redemption of each offer costs (parallel to ``offer_ids``)
    offer_costs: list[float] = msgspec.field(default_factory=list)
    campaigns: list[str] = msgspec.field(default_factory=list)
    segments: list[str] = msgspec.field(default_factory=list)
    experiment_id: str | None = None
    variant: str | None = None
    holdout: bool | None = None
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    redemptions: int = 0
    budget_spent: float = 0.0


class ExposureFact(msgspec.Struct, kw_only=True):
    """One slot of a decision: an item (``offer_id`` None) or an offer (``item_id`` None),
    at ``position`` (items first, then offers, from 0), ``cost`` what a redemption of the
    offer costs (0 for items), and the first time of each mark."""

    decision_id: str
    position: int
    item_id: str | None = None
    offer_id: str | None = None
    cost: float = 0.0
    viewed_at: datetime | None = None
    clicked_at: datetime | None = None
    added_at: datetime | None = None
    redeemed_at: datetime | None = None
    #: the order an offer was redeemed for, when known
    redeemed_order: str | None = None


class ExposureMark(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened to a decision's slot: the item ``item_id`` or the offer
    ``offer_id`` (neither: every slot; ``viewed`` only) was viewed, clicked, added to a
    cart or redeemed (``order_id``: for which order) at ``at``."""

    decision_id: str
    kind: MarkKind
    at: datetime
    item_id: str | None = None
    offer_id: str | None = None
    order_id: str | None = None


class LineFact(msgspec.Struct, kw_only=True):
    """One order line: ``revenue`` quantity times price, ``margin`` revenue less quantity times
    ``unit_cost`` (the catalog cost when the line was folded; none known: 0) and less the
    cost of an offer redeemed for the order on the line that carries it; both 0 once
    refunded. ``decision_id``, ``placement`` and ``reason`` are None for a line no decision
    earned."""

    order_id: str
    line: int
    item_id: str
    at: datetime
    quantity: float
    price: float
    unit_cost: float | None
    revenue: float
    margin: float
    decision_id: str | None = None
    placement: str | None = None
    reason: str | None = None
    refunded: bool = False


class OrderFact(msgspec.Struct, kw_only=True):
    """One order: who placed it (the raw identifiers and the canonical person when it was
    folded), its revenue net of refunds, whether engaged and its attributed revenue.
    ``settled`` is False while decisions made just before it may still be on their way to
    the decision log (the updater attributes it again until it is True)."""

    order_id: str
    at: datetime
    customer_id: str | None = None
    anonymous_id: str | None = None
    person: str | None = None
    revenue: float = 0.0
    engaged: bool = False
    attributed_revenue: float = 0.0
    settled: bool = True


class ExperimentActivity(msgspec.Struct, frozen=True, kw_only=True):
    """A decision of an experiment that was clicked or had an offer redeemed: when, for
    whom (the raw identifiers) and how many of its slots were clicked and redeemed."""

    at: datetime
    customer: str | None
    anonymous_id: str | None
    clicks: int
    redemptions: int


@dataclass(frozen=True)
class FactCursors:
    """How far the updater has folded the logs: the decision log's ``(logged_at,
    decision_id)`` cursor (``DecisionLog.logged_between``; a cursor saved by an older
    version holds a decision's ``(at, decision_id)``, which reads the same: decisions
    logged before the stamps existed count as logged at their ``at``) and the event log's
    position (None: nothing yet)."""

    decision: tuple[datetime, str] | None = None
    event_position: int | None = None


@dataclass(frozen=True)
class Aggregate:
    """A report query as the store runs it (``analytics.reports`` builds it): decisions
    with ``at`` in ``[start, end)``, grouped by ``interval`` (``"hour"``, ``"day"`` or
    None) and the dimensions ``by`` (names of :data:`DIMENSIONS`). Rows come back as
    :data:`AGGREGATE_COLUMNS` after the group keys (``period`` first when there is an
    interval, then the dimensions in order), sorted by the keys."""

    start: datetime
    end: datetime
    interval: str | None = None
    by: tuple[str, ...] = field(default_factory=tuple)


#: Dimensions a report groups by: the fact column each reads, and whether it is a list
#: (a decision counts once under each of its values; none: under None).
DIMENSIONS: dict[str, tuple[str, bool]] = {
    "placement": ("placement", False),
    "channel": ("channel", False),
    "offer": ("offer_ids", True),
    "campaign": ("campaigns", True),
    "segment": ("segments", True),
    "model_version": ("model_versions", True),
    "experiment": ("experiment_id", False),
    "variant": ("variant", False),
    "holdout": ("holdout", False),
}
#: The sums an aggregate gives per group, in order.
AGGREGATE_COLUMNS = (
    "decisions",
    "impressions",
    "clicks",
    "add_to_carts",
    "redemptions",
    "budget_spent",
    "orders",
    "attributed_revenue",
    "engaged_revenue",
    "margin",
)


class FactStore(ABC):
    """The fact tables of reports (see the module docstring).

    Contract:
    - ``add_decisions`` stores decision facts, replacing a stored one with the same id
      together with its exposures: one exposure per item (positions 0…) then one per
      offer, every mark unset. The counters start at 0.
    - ``mark(marks)`` records on each named slot the earliest time of each kind (marking
      again with a later time changes nothing; an earlier one wins): the same marks in any
      order, any number of times, leave the same facts. A click also marks the slot
      viewed; a redemption names its offer and marks it viewed and clicked. Marks of
      unknown decisions or slots a decision did not show are ignored. Then each marked
      decision's counters are the number of its slots viewed (``impressions``), clicked,
      added and redeemed, and ``budget_spent`` the sum of the redeemed slots' costs.
    - ``put_orders(orders, lines)`` replaces every stored order among ``orders`` and all
      its lines with those given.
    - ``decisions_of(identifiers, start, end)``: the decision facts whose ``customer`` or
      ``anonymous_id`` is one of ``identifiers``, with ``at`` in ``[start, end)``, in
      ``(at, decision_id)`` order; ``exposures_of(ids)``: the exposures of those
      decisions, by decision then position.
    - ``order_sums(start, end, interval)``: the orders of ``[start, end)`` counted and
      summed per hour or day (see the method).
    - ``orders_between(start, end)``: the orders with ``at`` in ``[start, end)`` in
      ``(at, order_id)`` order (what per-person order reads use: each carries the raw
      ``customer_id``, ``anonymous_id`` and the ``person``); ``lines_of(order_ids)`` their
      lines by order and line; ``unsettled_orders(upto)`` the ids of the orders not
      settled with ``at`` at or before ``upto``.
    - ``experiment_activity(experiment_id, start, end)``: the decisions made in that
      experiment with ``at`` in ``[start, end)`` that have a click or a redemption, as
      :class:`ExperimentActivity`, in ``(at, decision_id)`` order.
    - ``delete_between(start, end)`` removes the decisions (with their exposures) and the
      orders (with their lines) whose ``at`` is in ``[start, end)``.
    - ``cursors``/``save_cursors`` keep the updater's :class:`FactCursors`, durable.
    - ``aggregate(query)``: see :class:`Aggregate`; per group ``decisions`` counts the
      decisions, the counters are summed, ``orders`` counts the distinct orders with an
      unrefunded line attributed to the group's decisions, ``attributed_revenue`` and
      ``margin`` sum those lines, ``engaged_revenue`` sums the revenue of those orders
      (each once per group).
    - ``bulk_load(table, rows)`` appends Arrow rows of ``schema(table)`` as they are (the
      fast path of benchmarks and imports: counters as given, nothing derived);
      ``read(table, start, end)`` yields a table's rows with ``at`` in ``[start, end)``
      (exposures: their decision's) as Arrow batches; ``count(table)`` counts its rows.
    """

    @abstractmethod
    def add_decisions(self, facts: Sequence[DecisionFact]) -> None:
        """Store decisions and their blank exposures (see the class contract)."""

    @abstractmethod
    def mark(self, marks: Sequence[ExposureMark]) -> None:
        """Record what happened to decisions' slots; see the class contract."""

    @abstractmethod
    def put_orders(self, orders: Sequence[OrderFact], lines: Sequence[LineFact]) -> None:
        """Replace orders and their lines."""

    @abstractmethod
    def decision(self, decision_id: str) -> DecisionFact | None:
        """One decision fact (with its counters), or None."""

    @abstractmethod
    def decisions_of(
        self, identifiers: Sequence[str], start: datetime, end: datetime
    ) -> list[DecisionFact]:
        """The decisions made for any of ``identifiers`` in ``[start, end)``."""

    @abstractmethod
    def exposures_of(self, decision_ids: Sequence[str]) -> list[ExposureFact]:
        """The exposures of some decisions."""

    @abstractmethod
    def experiment_activity(
        self, experiment_id: str, start: datetime, end: datetime
    ) -> list[ExperimentActivity]:
        """The clicked or redeemed decisions of one experiment in ``[start, end)``."""

    @abstractmethod
    def orders_between(self, start: datetime, end: datetime) -> list[OrderFact]:
        """The orders placed in ``[start, end)``."""

    @abstractmethod
    def order_sums(
        self, start: datetime, end: datetime, interval: str | None = None
    ) -> list[tuple[datetime | None, int, float, float, float]]:
        """The orders with ``at`` in ``[start, end)`` summed per UTC hour or day
        (``interval`` ``"hour"`` or ``"day"``; None: the whole range, period None):
        ``(period, orders, revenue, attributed_revenue, engaged_revenue)``, the last the
        revenue of the engaged orders; only periods with orders, in order."""

    @abstractmethod
    def order(self, order_id: str) -> OrderFact | None:
        """One order fact, or None."""

    @abstractmethod
    def lines_of(self, order_ids: Sequence[str]) -> list[LineFact]:
        """The lines of some orders."""

    @abstractmethod
    def unsettled_orders(self, upto: datetime) -> list[str]:
        """The ids of orders not settled yet, placed at or before ``upto``."""

    @abstractmethod
    def erase(self, subject: Subject) -> int:
        """Remove the decisions (with their exposures) whose ``customer``,
        ``anonymous_id`` or ``person`` is one of ``subject.ids``, and the orders (with their lines)
        whose ``customer_id``, ``anonymous_id`` or ``person`` is; return how many rows
        went in all."""

    @abstractmethod
    def delete_between(self, start: datetime, end: datetime) -> None:
        """Remove the facts of ``[start, end)``; see the class contract."""

    @abstractmethod
    def cursors(self) -> FactCursors:
        """The updater's saved cursors (empty before any)."""

    @abstractmethod
    def save_cursors(self, cursors: FactCursors) -> None:
        """Keep the updater's cursors."""

    @abstractmethod
    def aggregate(self, query: Aggregate) -> list[tuple[object, ...]]:
        """A report's rows; see :class:`Aggregate`."""

    @abstractmethod
    def bulk_load(self, table: str, rows: pa.Table) -> None:
        """Append rows as they are (see the class contract)."""

    @abstractmethod
    def read(self, table: str, start: datetime, end: datetime) -> Iterator[pa.RecordBatch]:
        """A table's rows of ``[start, end)`` as Arrow batches of ``schema(table)``."""

    @abstractmethod
    def count(self, table: str) -> int:
        """How many rows a table holds."""

    def export(self, directory: Path, start: datetime, end: datetime) -> dict[str, int]:
        """Write every table's rows of ``[start, end)`` under ``directory`` as Hive-
        partitioned Parquet (``<table>/day=YYYY-MM-DD/part-0.parquet``); return the rows
        written per table. The default reads through :meth:`read`."""
        from retailor.storage.fact_export import export_tables

        return export_tables(self, directory, start, end)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


def check_table(table: str) -> str:
    """``table`` when it is one of :data:`FACT_TABLES`, else ``ValueError``."""
    if table not in FACT_TABLES:
        raise ValueError(f"unknown fact table {table!r}: one of {', '.join(FACT_TABLES)}")
    return table
