"""What the SQL fact stores (DuckDB, PostgreSQL) share: the Arrow schema of each fact
table, the conversion of fact structs to Arrow rows, and the statements, written once with
``?`` placeholders for a :class:`Dialect` to adapt (the PostgreSQL adapter turns ``?``
into ``%s``; no statement holds a literal question mark)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import pyarrow as pa

from retailor.storage.facts import (
    AGGREGATE_COLUMNS,
    DIMENSIONS,
    Aggregate,
    DecisionFact,
    ExposureMark,
    LineFact,
    OrderFact,
)
from retailor.storage.schema import TIMESTAMP

_TEXTS = pa.list_(pa.string())

#: The Arrow schema of each fact table, in column order (as stored and exported).
SCHEMAS: dict[str, pa.Schema] = {
    "decisions": pa.schema(
        [
            ("decision_id", pa.string()),
            ("at", TIMESTAMP),
            ("day", pa.date32()),
            ("placement", pa.string()),
            ("channel", pa.string()),
            ("customer", pa.string()),
            ("anonymous_id", pa.string()),
            ("person", pa.string()),
            ("model_versions", _TEXTS),
            ("items", _TEXTS),
            ("offer_ids", _TEXTS),
            ("offer_costs", pa.list_(pa.float64())),
            ("campaigns", _TEXTS),
            ("segments", _TEXTS),
            ("experiment_id", pa.string()),
            ("variant", pa.string()),
            ("holdout", pa.bool_()),
            ("impressions", pa.int32()),
            ("clicks", pa.int32()),
            ("add_to_carts", pa.int32()),
            ("redemptions", pa.int32()),
            ("budget_spent", pa.float64()),
        ]
    ),
    "exposures": pa.schema(
        [
            ("decision_id", pa.string()),
            ("at", TIMESTAMP),
            ("day", pa.date32()),
            ("position", pa.int32()),
            ("item_id", pa.string()),
            ("offer_id", pa.string()),
            ("cost", pa.float64()),
            ("viewed_at", TIMESTAMP),
            ("clicked_at", TIMESTAMP),
            ("added_at", TIMESTAMP),
            ("redeemed_at", TIMESTAMP),
            ("redeemed_order", pa.string()),
        ]
    ),
    "lines": pa.schema(
        [
            ("order_id", pa.string()),
            ("line", pa.int32()),
            ("item_id", pa.string()),
            ("at", TIMESTAMP),
            ("day", pa.date32()),
            ("quantity", pa.float64()),
            ("price", pa.float64()),
            ("unit_cost", pa.float64()),
            ("revenue", pa.float64()),
            ("margin", pa.float64()),
            ("decision_id", pa.string()),
            ("decision_at", TIMESTAMP),
            ("placement", pa.string()),
            ("reason", pa.string()),
            ("refunded", pa.bool_()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("at", TIMESTAMP),
            ("day", pa.date32()),
            ("customer_id", pa.string()),
            ("anonymous_id", pa.string()),
            ("person", pa.string()),
            ("revenue", pa.float64()),
            ("engaged", pa.bool_()),
            ("attributed_revenue", pa.float64()),
            ("settled", pa.bool_()),
        ]
    ),
}
#: The column exports partition every table by (Hive style: ``day=YYYY-MM-DD``).
FACT_PARTITION = "day"
#: The SQL table behind each fact table.
TABLES = {name: f"fact_{name}" for name in SCHEMAS}
COLUMNS = {name: tuple(schema.names) for name, schema in SCHEMAS.items()}


def utc(at: datetime) -> datetime:
    """``at`` as an aware UTC datetime (a naive one is taken to be UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def decision_rows(facts: Sequence[DecisionFact]) -> pa.Table:
    """Decision facts as rows of ``SCHEMAS["decisions"]`` with counters at 0."""
    rows = []
    for f in facts:
        row = msgspec.structs.asdict(f)
        at = utc(f.at)
        row.update(at=at, day=at.date(), impressions=0, clicks=0, add_to_carts=0,
                   redemptions=0, budget_spent=0.0)  # fmt: skip
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=SCHEMAS["decisions"])


def blank_exposure_rows(facts: Sequence[DecisionFact]) -> pa.Table:
    """The blank exposures of decisions: their items, then their offers (with their
    costs)."""
    rows: list[dict[str, Any]] = []
    for f in facts:
        offer_costs = list(f.offer_costs) + [0.0] * (len(f.offer_ids) - len(f.offer_costs))
        at = utc(f.at)
        base = {"decision_id": f.decision_id, "at": at, "day": at.date(), "cost": 0.0}
        for position, item in enumerate(f.items):
            rows.append({**base, "position": position, "item_id": item})
        for index, (offer, cost) in enumerate(zip(f.offer_ids, offer_costs, strict=True)):
            rows.append({**base, "position": len(f.items) + index, "offer_id": offer,
                         "cost": cost})  # fmt: skip
    return pa.Table.from_pylist(rows, schema=SCHEMAS["exposures"])


#: Marks implied by a mark: a click is a view; a redemption is a view and a click.
_IMPLIED = {"viewed": ("viewed",), "clicked": ("viewed", "clicked"), "added": ("added",),
            "redeemed": ("viewed", "clicked", "redeemed")}  # fmt: skip
MARK_SCHEMA = pa.schema(
    [
        ("decision_id", pa.string()),
        ("kind", pa.string()),
        ("at", TIMESTAMP),
        ("item_id", pa.string()),
        ("offer_id", pa.string()),
        ("order_id", pa.string()),
    ]
)


def mark_rows(marks: Sequence[ExposureMark]) -> pa.Table:
    """Marks with the ones they imply, as rows of :data:`MARK_SCHEMA`."""
    rows = [
        {"decision_id": m.decision_id, "kind": kind, "at": utc(m.at), "item_id": m.item_id,
         "offer_id": m.offer_id, "order_id": m.order_id if kind == "redeemed" else None}
        for m in marks
        if m.kind == "viewed" or m.item_id is not None or m.offer_id is not None
        for kind in _IMPLIED[m.kind]
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=MARK_SCHEMA)


def line_rows(lines: Sequence[LineFact], decided_at: dict[str, datetime]) -> pa.Table:
    """Line facts as rows (``decided_at``: the time of each decision they name)."""
    rows = []
    for line in lines:
        row = msgspec.structs.asdict(line)
        at = utc(line.at)
        decision_at = decided_at.get(line.decision_id) if line.decision_id else None
        row.update(at=at, day=at.date(), decision_at=decision_at)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=SCHEMAS["lines"])


def order_rows(orders: Sequence[OrderFact]) -> pa.Table:
    rows = []
    for order in orders:
        row = msgspec.structs.asdict(order)
        at = utc(order.at)
        row.update(at=at, day=at.date())
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=SCHEMAS["orders"])


def to_struct(kind: type[Any], row: dict[str, Any]) -> Any:
    """A fact struct from a row (extra columns such as ``day`` dropped)."""
    fields = kind.__struct_fields__
    return kind(**{k: v for k, v in row.items() if k in fields})


# -- statements ------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """How one SQL database spells what the statements need."""

    name: str
    #: a list column, or a one-NULL list when it is empty (so unnest keeps the row)
    list_or_null: str
    #: the type of a list of text
    text_list: str


DUCKDB = Dialect("duckdb", "CASE WHEN len({c}) = 0 THEN [NULL]::VARCHAR[] ELSE {c} END",
                 "VARCHAR[]")  # fmt: skip
POSTGRES = Dialect(
    "postgres", "CASE WHEN cardinality({c}) = 0 THEN ARRAY[NULL]::text[] ELSE {c} END", "text[]"
)


def mark_statements(marks: str) -> list[str]:
    """Apply the marks of table ``marks`` (``MARK_SCHEMA``) to the exposures, then count
    the marked decisions' slots again."""
    match = (
        "e2.decision_id = m.decision_id AND ((m.item_id IS NULL AND m.offer_id IS NULL) "
        "OR e2.item_id = m.item_id OR e2.offer_id = m.offer_id)"
    )
    statements = []
    for kind in ("viewed", "clicked", "added", "redeemed"):
        column = f"{kind}_at"
        extra_select = ", min(m.order_id) AS order_id" if kind == "redeemed" else ""
        extra_set = (
            ", redeemed_order = CASE WHEN e.redeemed_order IS NULL THEN t.order_id "
            "WHEN t.order_id IS NULL THEN e.redeemed_order "
            "ELSE least(e.redeemed_order, t.order_id) END"
            if kind == "redeemed"
            else ""
        )
        statements.append(
            f"UPDATE fact_exposures AS e SET {column} = "
            f"least(coalesce(e.{column}, t.at), t.at){extra_set} "
            f"FROM (SELECT e2.decision_id, e2.position, min(m.at) AS at{extra_select} "
            f"FROM fact_exposures AS e2 JOIN {marks} AS m ON {match} "
            f"WHERE m.kind = '{kind}' GROUP BY e2.decision_id, e2.position) AS t "
            "WHERE e.decision_id = t.decision_id AND e.position = t.position"
        )
    statements.append(
        "UPDATE fact_decisions AS d SET impressions = s.viewed, clicks = s.clicked, "
        "add_to_carts = s.added, redemptions = s.redeemed, budget_spent = s.spent "
        "FROM (SELECT decision_id, count(viewed_at) AS viewed, count(clicked_at) AS clicked, "
        "count(added_at) AS added, count(redeemed_at) AS redeemed, "
        "coalesce(sum(CASE WHEN redeemed_at IS NOT NULL THEN cost ELSE 0 END), 0) AS spent "
        f"FROM fact_exposures WHERE decision_id IN (SELECT decision_id FROM {marks}) "
        "GROUP BY decision_id) AS s WHERE d.decision_id = s.decision_id"
    )
    return statements


_COUNTERS = ("impressions", "clicks", "add_to_carts", "redemptions", "budget_spent")


def aggregate_sql(query: Aggregate, dialect: Dialect) -> tuple[str, list[Any]]:
    """The statement of a report query and its parameters (see ``Aggregate``).

    Two parts joined on the group keys: the decisions of the range (only the columns the
    keys and sums need), and the order lines attributed to them (read from the lines of
    the range, each joined to its decision by id), summed per group and order first so
    that an order counts once per group."""
    keys: list[str] = []
    if query.interval is not None:
        if query.interval not in ("hour", "day"):
            raise ValueError(f"unknown interval {query.interval!r}: hour, day or none")
        keys.append("k_period")
    for name in query.by:
        if name not in DIMENSIONS:
            raise ValueError(f"unknown dimension {name!r}: one of {', '.join(DIMENSIONS)}")
        keys.append(f"k_{name}")
    dimension_columns = sorted({DIMENSIONS[name][0] for name in query.by})

    def grouped(source: str) -> str:
        """``source`` with one ``k_*`` column per key (lists unnested, one level each)."""
        scalars = []
        if query.interval is not None:
            scalars.append(f"date_trunc('{query.interval}', s0.\"at\") AS k_period")
        lists = []
        for name in query.by:
            column, is_list = DIMENSIONS[name]
            if is_list:
                lists.append((name, column))
            else:
                scalars.append(f"s0.{column} AS k_{name}")
        extra = "".join(f", {s}" for s in scalars)
        sql = f"SELECT s0.*{extra} FROM ({source}) AS s0"
        for index, (name, column) in enumerate(lists):
            listed = dialect.list_or_null.format(c=column)
            sql = f"SELECT *, unnest({listed}) AS k_{name} FROM ({sql}) AS s{index + 1}"
        return sql

    picked = ", ".join(f"d.{c}" for c in ['"at"', *dimension_columns])
    decisions_in_range = (
        f"SELECT {picked}, {', '.join(f'd.{c}' for c in _COUNTERS)} "
        'FROM fact_decisions AS d WHERE d."at" >= ? AND d."at" < ?'
    )
    lines_in_range = (
        f"SELECT {picked}, l.order_id, l.revenue, l.margin, l.refunded "
        "FROM fact_lines AS l JOIN fact_decisions AS d ON d.decision_id = l.decision_id "
        'WHERE l.decision_at >= ? AND l.decision_at < ? AND d."at" >= ? AND d."at" < ?'
    )
    key_list = ", ".join(keys)
    select_keys = f"{key_list}, " if keys else ""
    group = f"GROUP BY {key_list}" if keys else ""
    sums = ", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in _COUNTERS)
    decided = (
        f"SELECT {select_keys}count(*) AS decisions, {sums} "
        f"FROM ({grouped(decisions_in_range)}) AS g {group}"
    )
    per_order = (
        f"SELECT {select_keys}order_id, sum(revenue) AS revenue, sum(margin) AS margin, "
        "bool_or(NOT refunded) AS unrefunded "
        f"FROM ({grouped(lines_in_range)}) AS g GROUP BY {select_keys}order_id"
    )
    ordered = (
        f"SELECT {select_keys}count(*) FILTER (WHERE p.unrefunded) AS orders, "
        "sum(p.revenue) AS attributed_revenue, sum(p.margin) AS margin, "
        "sum(CASE WHEN p.unrefunded THEN o.revenue ELSE 0 END) AS engaged_revenue "
        f"FROM ({per_order}) AS p JOIN fact_orders AS o ON o.order_id = p.order_id {group}"
    )
    on = " AND ".join(f"d.{k} IS NOT DISTINCT FROM r.{k}" for k in keys) or "TRUE"
    outer = {
        "orders": "coalesce(r.orders, 0)",
        "attributed_revenue": "coalesce(r.attributed_revenue, 0)",
        "engaged_revenue": "coalesce(r.engaged_revenue, 0)",
        "margin": "coalesce(r.margin, 0)",
    }
    columns = ", ".join(outer.get(c, f"d.{c}") for c in AGGREGATE_COLUMNS)
    out_keys = ", ".join(f"d.{k}" for k in keys)
    order = f"ORDER BY {', '.join(f'd.{k} NULLS LAST' for k in keys)}" if keys else ""
    sql = (
        f"SELECT {out_keys + ', ' if keys else ''}{columns} "
        f"FROM ({decided}) AS d LEFT JOIN ({ordered}) AS r ON {on} {order}"
    )
    start, end = query.start, query.end
    return sql, [start, end, start, end, start, end]
