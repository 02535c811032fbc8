"""The ``FactStore`` logic both SQL adapters share: each adapter says how to run
statements with Arrow tables at hand (``_run``) and how to read rows (``_rows``); the
statements themselves are in ``fact_sql``."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from retailor.domain.privacy import Subject
from retailor.storage.fact_sql import (
    COLUMNS,
    SCHEMAS,
    TABLES,
    Dialect,
    aggregate_sql,
    blank_exposure_rows,
    decision_rows,
    line_rows,
    mark_rows,
    mark_statements,
    order_rows,
    to_struct,
    utc,
)
from retailor.storage.facts import (
    Aggregate,
    DecisionFact,
    ExperimentActivity,
    ExposureFact,
    ExposureMark,
    FactCursors,
    FactStore,
    LineFact,
    OrderFact,
    check_table,
)

_CURSOR = "updater"
Statement = tuple[str, list[Any]]


def _quoted(table: str) -> str:
    return ", ".join(f'"{c}"' for c in COLUMNS[table])


class SqlFactStore(FactStore):
    """A fact store over SQL tables named ``fact_*`` (see ``FactStore``)."""

    dialect: Dialect

    @abstractmethod
    def _run(self, statements: Sequence[Statement], tables: dict[str, pa.Table]) -> None:
        """Run ``statements`` in one transaction, with each Arrow table of ``tables``
        readable under its name."""

    @abstractmethod
    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """The rows of a query, as dicts by column name."""

    @abstractmethod
    def _tuples(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        """The rows of a query, as tuples."""

    def _insert(self, table: str, source: str) -> str:
        return (
            f"INSERT INTO {TABLES[table]} ({_quoted(table)}) SELECT {_quoted(table)} FROM {source}"
        )

    def _in(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        marks = ", ".join("?" for _ in values)
        return f"{column} IN ({marks})", list(values)

    def add_decisions(self, facts: Sequence[DecisionFact]) -> None:
        if not facts:
            return
        ids = [f.decision_id for f in facts]
        where, params = self._in("decision_id", ids)
        self._run(
            [
                (f"DELETE FROM fact_exposures WHERE {where}", params),
                (f"DELETE FROM fact_decisions WHERE {where}", params),
                (self._insert("decisions", "_new_decisions"), []),
                (self._insert("exposures", "_new_exposures"), []),
            ],
            {"_new_decisions": decision_rows(facts), "_new_exposures": blank_exposure_rows(facts)},
        )

    def mark(self, marks: Sequence[ExposureMark]) -> None:
        rows = mark_rows(marks)
        if rows.num_rows == 0:
            return
        self._run([(sql, []) for sql in mark_statements("_marks")], {"_marks": rows})

    def put_orders(self, orders: Sequence[OrderFact], lines: Sequence[LineFact]) -> None:
        if not orders:
            return
        ids = [o.order_id for o in orders]
        decided = sorted({line.decision_id for line in lines if line.decision_id})
        decided_at: dict[str, datetime] = {}
        if decided:
            where, params = self._in("decision_id", decided)
            decided_at = dict(
                self._tuples(f'SELECT decision_id, "at" FROM fact_decisions WHERE {where}', params)
            )
        where, params = self._in("order_id", ids)
        self._run(
            [
                (f"DELETE FROM fact_lines WHERE {where}", params),
                (f"DELETE FROM fact_orders WHERE {where}", params),
                (self._insert("orders", "_new_orders"), []),
                (self._insert("lines", "_new_lines"), []),
            ],
            {"_new_orders": order_rows(orders), "_new_lines": line_rows(lines, decided_at)},
        )

    def decision(self, decision_id: str) -> DecisionFact | None:
        rows = self._rows("SELECT * FROM fact_decisions WHERE decision_id = ?", [decision_id])
        return to_struct(DecisionFact, rows[0]) if rows else None

    def decisions_of(
        self, identifiers: Sequence[str], start: datetime, end: datetime
    ) -> list[DecisionFact]:
        if not identifiers:
            return []
        marks = ", ".join("?" for _ in identifiers)
        rows = self._rows(
            f'SELECT * FROM fact_decisions WHERE "at" >= ? AND "at" < ? AND '
            f"(customer IN ({marks}) OR anonymous_id IN ({marks})) "
            'ORDER BY "at", decision_id',
            [start, end, *identifiers, *identifiers],
        )
        return [to_struct(DecisionFact, r) for r in rows]

    def exposures_of(self, decision_ids: Sequence[str]) -> list[ExposureFact]:
        if not decision_ids:
            return []
        where, params = self._in("decision_id", decision_ids)
        rows = self._rows(
            f"SELECT * FROM fact_exposures WHERE {where} ORDER BY decision_id, position", params
        )
        return [to_struct(ExposureFact, r) for r in rows]

    def experiment_activity(
        self, experiment_id: str, start: datetime, end: datetime
    ) -> list[ExperimentActivity]:
        rows = self._tuples(
            'SELECT "at", customer, anonymous_id, clicks, redemptions FROM fact_decisions '
            'WHERE experiment_id = ? AND "at" >= ? AND "at" < ? '
            "AND (clicks > 0 OR redemptions > 0) "
            'ORDER BY "at", decision_id',
            [experiment_id, start, end],
        )
        return [
            ExperimentActivity(at=utc(at), customer=customer, anonymous_id=anonymous,
                               clicks=int(clicks), redemptions=int(redemptions))
            for at, customer, anonymous, clicks, redemptions in rows
        ]  # fmt: skip

    def orders_between(self, start: datetime, end: datetime) -> list[OrderFact]:
        rows = self._rows(
            'SELECT * FROM fact_orders WHERE "at" >= ? AND "at" < ? ORDER BY "at", order_id',
            [start, end],
        )
        return [to_struct(OrderFact, r) for r in rows]

    def order_sums(
        self, start: datetime, end: datetime, interval: str | None = None
    ) -> list[tuple[datetime | None, int, float, float, float]]:
        if interval not in (None, "hour", "day"):
            raise ValueError(f"unknown interval {interval!r}: hour, day or none")
        period = f"""date_trunc('{interval}', "at")""" if interval else "NULL"
        rows = self._tuples(
            f"SELECT {period} AS period, count(*), sum(revenue), sum(attributed_revenue), "
            "sum(CASE WHEN engaged THEN revenue ELSE 0 END) FROM fact_orders "
            'WHERE "at" >= ? AND "at" < ? GROUP BY period ORDER BY period',
            [start, end],
        )
        return [
            (None if p is None else utc(p), int(n), float(revenue or 0.0),
             float(attributed or 0.0), float(engaged or 0.0))
            for p, n, revenue, attributed, engaged in rows
        ]  # fmt: skip

    def order(self, order_id: str) -> OrderFact | None:
        rows = self._rows("SELECT * FROM fact_orders WHERE order_id = ?", [order_id])
        return to_struct(OrderFact, rows[0]) if rows else None

    def lines_of(self, order_ids: Sequence[str]) -> list[LineFact]:
        if not order_ids:
            return []
        where, params = self._in("order_id", order_ids)
        rows = self._rows(f"SELECT * FROM fact_lines WHERE {where} ORDER BY order_id, line", params)
        return [to_struct(LineFact, r) for r in rows]

    def unsettled_orders(self, upto: datetime) -> list[str]:
        rows = self._tuples(
            'SELECT order_id FROM fact_orders WHERE NOT settled AND "at" <= ? '
            'ORDER BY "at", order_id',
            [upto],
        )
        return [str(r[0]) for r in rows]

    def delete_between(self, start: datetime, end: datetime) -> None:
        span = '"at" >= ? AND "at" < ?'
        params = [start, end]
        self._run(
            [
                (f"DELETE FROM fact_exposures WHERE {span}", params),
                (f"DELETE FROM fact_decisions WHERE {span}", params),
                (
                    "DELETE FROM fact_lines WHERE order_id IN "
                    f"(SELECT order_id FROM fact_orders WHERE {span})",
                    params,
                ),
                (f"DELETE FROM fact_orders WHERE {span}", params),
            ],
            {},
        )

    def erase(self, subject: Subject) -> int:
        ids = list(subject.ids)
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        decisions = (
            f"SELECT decision_id FROM fact_decisions WHERE customer IN ({marks}) "
            f"OR anonymous_id IN ({marks}) OR person IN ({marks})"
        )
        orders = (
            f"SELECT order_id FROM fact_orders WHERE customer_id IN ({marks}) "
            f"OR anonymous_id IN ({marks}) OR person IN ({marks})"
        )
        three = [*ids, *ids, *ids]
        counts = self._tuples(
            f"SELECT (SELECT count(*) FROM fact_exposures WHERE decision_id IN ({decisions})), "
            f"(SELECT count(*) FROM ({decisions}) AS d), "
            f"(SELECT count(*) FROM fact_lines WHERE order_id IN ({orders})), "
            f"(SELECT count(*) FROM ({orders}) AS o)",
            [*three, *three, *three, *three],
        )
        self._run(
            [
                (f"DELETE FROM fact_exposures WHERE decision_id IN ({decisions})", three),
                (f"DELETE FROM fact_lines WHERE order_id IN ({orders})", three),
                (f"DELETE FROM fact_decisions WHERE decision_id IN ({decisions})", three),
                (f"DELETE FROM fact_orders WHERE order_id IN ({orders})", three),
            ],
            {},
        )
        return sum(int(n) for n in counts[0])

    def cursors(self) -> FactCursors:
        rows = self._tuples(
            "SELECT decision_at, decision_id, event_position FROM fact_cursors WHERE name = ?",
            [_CURSOR],
        )
        if not rows:
            return FactCursors()
        at, decision_id, position = rows[0]
        decision = (utc(at), str(decision_id)) if at is not None else None
        return FactCursors(decision, None if position is None else int(position))

    def save_cursors(self, cursors: FactCursors) -> None:
        at, decision_id = cursors.decision or (None, None)
        self._run(
            [
                ("DELETE FROM fact_cursors WHERE name = ?", [_CURSOR]),
                (
                    "INSERT INTO fact_cursors (name, decision_at, decision_id, event_position) "
                    "VALUES (?, ?, ?, ?)",
                    [_CURSOR, at, decision_id, cursors.event_position],
                ),
            ],
            {},
        )

    def aggregate(self, query: Aggregate) -> list[tuple[object, ...]]:
        sql, params = aggregate_sql(query, self.dialect)
        return self._tuples(sql, params)

    def bulk_load(self, table: str, rows: pa.Table) -> None:
        check_table(table)
        self._run([(self._insert(table, "_bulk"), [])], {"_bulk": rows.cast(SCHEMAS[table])})

    def _read_sql(self, table: str) -> str:
        check_table(table)
        return (
            f'SELECT {_quoted(table)} FROM {TABLES[table]} WHERE "at" >= ? AND "at" < ? '
            'ORDER BY "at"'
        )

    def read(self, table: str, start: datetime, end: datetime) -> Iterator[pa.RecordBatch]:
        rows = self._rows(self._read_sql(table), [start, end])
        yield from pa.Table.from_pylist(rows, schema=SCHEMAS[table]).to_batches()

    def count(self, table: str) -> int:
        check_table(table)
        return int(self._tuples(f"SELECT count(*) FROM {TABLES[table]}", [])[0][0])
